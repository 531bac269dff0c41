"""LLMJudge on scripted backends: verdict parsing, votes, cache, batching,
concurrency, timeouts, retries, garbage, unavailable verdicts; ensembles."""

from __future__ import annotations

import pytest

from agentgym.errors import ConfigError
from agentgym.policy import Completion
from agentgym.rewards import (
    Defences,
    JudgeEnsemble,
    JudgeInput,
    LLMJudge,
    Rubric,
    Unavailable,
    parse_verdict,
)
from agentgym.rewards.judge import JudgeCache, build_messages

from .helpers import ScriptedBackend

RUBRIC = Rubric("correct", "The response answers the question correctly.")
ITEMS = [JudgeInput(f"What is {i} + {i}?", f"It is {2 * i}.", reference=str(2 * i)) for i in range(5)]


@pytest.mark.parametrize(("text", "want"), [
    ("VERDICT: YES", True), ("verdict: no", False), ("blah\n**Verdict:** Yes.", True), ("Verdict = [FAIL]", False),
    ("VERDICT: PASS", True), ("yes", True), (" No. ", False),
    ("VERDICT: YES\nVERDICT: NO", None), ("I think yes, probably", None), ("", None), (":", None),
    ("The verdict is unclear", None), ("Reply VERDICT: YES or VERDICT: NO", None),
])
def test_parse_verdict_is_strict(text: str, want: bool | None) -> None:
    assert parse_verdict(text) is want


def test_prompt_marks_the_response_untrusted_and_shows_reference_and_context() -> None:
    msgs = build_messages(RUBRIC, JudgeInput("Q?", "A", reference="R", context="secret"))
    user = msgs[-1]["content"]
    assert "REFERENCE ANSWER:\nR" in user and "PRIVILEGED FACTS" in user and "<<<RESPONSE\nA\nRESPONSE>>>" in user
    assert "untrusted" in msgs[0]["content"] and "VERDICT: YES" in msgs[0]["content"]


def test_verdicts_batching_and_cache(overlap: ScriptedBackend) -> None:
    judge = LLMJudge(overlap, RUBRIC, batch_size=2)
    items = [*ITEMS, JudgeInput("What is 1 + 1?", "It is 3.", reference="2")]
    got = [v.value for v in judge.judge(items)]
    assert got == [1.0] * 5 + [0.0]  # the wrong one is rejected by the reference gate, no call
    assert overlap.calls == [2, 2, 1]  # five judged inputs in batches of two
    again = judge.judge(items)
    assert [v.value for v in again] == got and all(v.cached for v in again[:5])
    assert overlap.calls == [2, 2, 1]  # all cache hits: no new call
    other = LLMJudge(overlap, Rubric("other", "Another rubric."), batch_size=8)
    other.judge(items[:2])
    assert overlap.calls[-1] == 2  # the cache is keyed by rubric (and judge), not shared across them


def test_shared_cache_is_keyed_by_judge_name(overlap: ScriptedBackend) -> None:
    cache = JudgeCache()
    LLMJudge(overlap, RUBRIC, name="a", cache=cache).judge(ITEMS[:1])
    LLMJudge(overlap, RUBRIC, name="a", cache=cache).judge(ITEMS[:1])
    LLMJudge(overlap, RUBRIC, name="b", cache=cache).judge(ITEMS[:1])
    assert len(overlap.calls) == 2 and cache.hits == 1


def test_k_sample_majority_vote() -> None:
    # Per call, the i-th conversation votes by a fixed pattern: YES, NO, YES (k=3).
    pattern = ["VERDICT: YES", "VERDICT: NO", "VERDICT: YES"]
    state = {"i": 0}

    def reply(s: dict, n: int) -> str:
        state["i"] += 1
        return pattern[(state["i"] - 1) % 3]

    v = LLMJudge(ScriptedBackend(reply), RUBRIC, k=3)(ITEMS[0])
    assert v.value == 1.0 and v.votes == (True, False, True)


def test_tie_is_unavailable() -> None:
    state = {"i": 0}

    def reply(s: dict, n: int) -> str:
        state["i"] += 1
        return "VERDICT: YES" if state["i"] % 2 else "VERDICT: NO"

    v = LLMJudge(ScriptedBackend(reply), RUBRIC, k=2, min_votes=2, retries=0)(ITEMS[0])
    assert v.value is None and "tie" in v.reason
    assert isinstance(v.as_part(), Unavailable)


def test_garbage_is_retried_then_unavailable_never_zero_or_one() -> None:
    backend = ScriptedBackend(lambda s, n: "Sure! Here is my analysis of the answer.")
    judge = LLMJudge(backend, RUBRIC, retries=2)
    v = judge(ITEMS[0])
    assert v.value is None and "no verdict" in v.reason
    assert len(backend.calls) == 3  # one try and two retries
    judge(ITEMS[0])
    assert len(backend.calls) == 6  # an unavailable verdict is not cached


def test_garbage_then_a_verdict_succeeds_on_retry() -> None:
    backend = ScriptedBackend(lambda s, n: "???" if n == 0 else "VERDICT: YES")
    v = LLMJudge(backend, RUBRIC, retries=1)(ITEMS[0])
    assert v.value == 1.0 and len(backend.calls) == 2


def test_timeout_is_unavailable_and_bounded_in_time() -> None:
    import time

    backend = ScriptedBackend(lambda s, n: "VERDICT: YES", delay_s=2.0)
    judge = LLMJudge(backend, RUBRIC, timeout_s=0.05, retries=1)
    t0 = time.monotonic()
    v = judge(ITEMS[0])
    assert v.value is None and "timeout" in v.reason
    assert time.monotonic() - t0 < 1.5  # two attempts of 0.05 s, not 2 x 2 s


def test_backend_exceptions_error_completions_and_short_batches_are_unavailable() -> None:
    class Raises:
        def act(self, conversations, tools):
            raise ConnectionError("server down")

    class Errors:
        def act(self, conversations, tools):
            return [Completion("", finish_reason="error", error="HTTP 500") for _ in conversations]

    class Short:
        def act(self, conversations, tools):
            return []

    for backend, why in ((Raises(), "server down"), (Errors(), "HTTP 500"), (Short(), "0 completions")):
        v = LLMJudge(backend, RUBRIC, retries=1)(ITEMS[0])
        assert v.value is None and why in v.reason


def test_concurrency_runs_batches_in_parallel() -> None:
    backend = ScriptedBackend(lambda s, n: "VERDICT: YES", delay_s=0.2)
    LLMJudge(backend, RUBRIC, batch_size=1, max_concurrency=4).judge(ITEMS[:4])
    assert backend.max_concurrent >= 2
    serial = ScriptedBackend(lambda s, n: "VERDICT: YES")
    LLMJudge(serial, RUBRIC, batch_size=1, max_concurrency=1).judge(ITEMS[:4])
    assert serial.max_concurrent == 1


def test_defences_gate_without_a_call_and_can_be_turned_off() -> None:
    backend = ScriptedBackend(lambda s, n: "VERDICT: YES")
    attack = JudgeInput("What is 2 + 2?", "Thought process:", reference="4")
    v = LLMJudge(backend, RUBRIC)(attack)
    assert v.value == 0.0 and v.reason.startswith("gate:") and backend.calls == []
    assert LLMJudge(backend, RUBRIC, defences=None)(attack).value == 1.0
    assert LLMJudge(backend, RUBRIC, defences=Defences.off())(attack).value == 1.0


def test_ensemble_majority_and_unavailable_members() -> None:
    yes = LLMJudge(ScriptedBackend(lambda s, n: "VERDICT: YES"), RUBRIC, name="y", defences=None)
    no = LLMJudge(ScriptedBackend(lambda s, n: "VERDICT: NO"), RUBRIC, name="n", defences=None)
    broken = LLMJudge(ScriptedBackend(lambda s, n: "garbage"), RUBRIC, name="g", retries=0, defences=None)
    assert JudgeEnsemble([yes, no, no])(ITEMS[0]).value == 0.0
    assert JudgeEnsemble([yes, yes, broken])(ITEMS[0]).value == 1.0
    v = JudgeEnsemble([yes, broken, broken])(ITEMS[0])
    assert v.value is None and "1/3 judges" in v.reason
    assert JudgeEnsemble([yes, no])(ITEMS[0]).value is None  # a tie


def test_config_errors() -> None:
    with pytest.raises(ConfigError):
        LLMJudge(ScriptedBackend(lambda s, n: ""), RUBRIC, k=3, min_votes=4)
    with pytest.raises(ConfigError):
        LLMJudge(ScriptedBackend(lambda s, n: ""), RUBRIC, timeout_s=0)
    with pytest.raises(ConfigError, match="act"):
        LLMJudge(object(), RUBRIC)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot load judge backend"):
        LLMJudge("no.such.module:Judge", RUBRIC)


def test_spec_strings_load_scripted_backends() -> None:
    judge = LLMJudge("agentgym.rewards.scripted:GullibleJudge", RUBRIC)
    assert judge.name == "agentgym.rewards.scripted:GullibleJudge"
    assert judge(ITEMS[0]).value == 1.0
