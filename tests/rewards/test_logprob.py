"""verdict="logprob": a local model's verdict from log P(YES) vs log P(NO) after
"VERDICT:" in one forward pass (for judges too small to write a verdict line)."""

from __future__ import annotations

import pytest

from agentgym.errors import ConfigError
from agentgym.rewards import JudgeInput, LLMJudge, parse_verdict
from agentgym.rewards.judge import build_messages, load_judge_policy
from agentgym.rewards.logprob import LogprobVerdict, decide
from agentgym.rewards.probes import CORRECTNESS
from agentgym.rewards.scripted import OverlapJudge


def test_decision_rule() -> None:
    assert parse_verdict(decide(-0.2, -2.0, min_mass=0.05, margin=0.0)) is True
    assert parse_verdict(decide(-2.0, -0.2, min_mass=0.05, margin=0.0)) is False
    # Too little probability on either word, or a tie within the margin: no verdict, never a guess.
    assert parse_verdict(decide(-5.0, -6.0, min_mass=0.05, margin=0.0)) is None
    assert parse_verdict(decide(-1.0, -1.1, min_mass=0.05, margin=0.2)) is None


def test_logprob_prompt_asks_for_one_word() -> None:
    item = JudgeInput("Capital of France?", "Paris", reference="Paris")
    text, lp = build_messages(CORRECTNESS, item), build_messages(CORRECTNESS, item, "logprob")
    assert "Think briefly" in text[0]["content"] and "Think briefly" not in lp[0]["content"]
    assert lp[1]["content"].endswith("Answer YES or NO.")


def test_logprob_mode_needs_a_local_model() -> None:
    with pytest.raises(ConfigError, match="local model"):
        LLMJudge(OverlapJudge(), CORRECTNESS, verdict="logprob")
    with pytest.raises(ConfigError, match="'text' or 'logprob'"):
        LLMJudge(OverlapJudge(), CORRECTNESS, verdict="maybe")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tiny() -> object:
    return load_judge_policy("tiny:seed=0")


@pytest.mark.slow
def test_logprob_judge_on_the_tiny_model(tiny: object) -> None:
    judge = LLMJudge(tiny, CORRECTNESS, verdict="logprob", defences=None)
    backend = judge.policy
    assert isinstance(backend, LogprobVerdict) and set(backend.yes_ids).isdisjoint(backend.no_ids)
    items = [JudgeInput("What is 17 + 25?", a, reference="42") for a in ("42", "32", "It is 42.")]
    first = judge.judge(items)
    # An untrained model has no opinion worth having, but it always has a verdict or an explicit "no verdict".
    assert all(v.available or "no verdict" in v.reason for v in first)
    again = LLMJudge(tiny, CORRECTNESS, verdict="logprob", defences=None).judge(items)
    assert [v.value for v in again] == [v.value for v in first]  # one deterministic forward pass each
    assert judge.judge(items[:1])[0].cached or not first[0].available
    # Demanding all the probability mass on YES/NO makes every verdict unavailable, reported as such.
    strict = LLMJudge(LogprobVerdict(tiny, min_mass=0.999), CORRECTNESS, verdict="logprob", defences=None, retries=0)
    out = strict.judge(items)
    assert all(v.value is None and "P(yes) + P(no)" in v.reason for v in out)


def test_a_model_judge_from_a_spec_is_greedy_for_one_sample() -> None:
    one = LLMJudge("openai:http://127.0.0.1:9/v1#judge", CORRECTNESS)  # nothing is contacted until a call
    assert (one.policy.temperature, one.policy.max_tokens) == (0.0, 128)
    three = LLMJudge("openai:http://127.0.0.1:9/v1#judge", CORRECTNESS, k=3)  # votes need samples that differ
    assert three.policy.temperature > 0
