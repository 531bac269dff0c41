"""ToolCalls-v0's judged replies (``answer_judge=``): each reply that must carry
facts is judged against the gold reply, gated on the ``message`` check; an
unavailable verdict masks the episode; the monitor compares ``judge_pass`` with
``judge_verifier`` (``message_match``). Last: every env's judge kwarg takes a
dict of ``LLMJudge`` arguments (``make_judge``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import agentgym
from agentgym.envs.tools.reward import ReplyJudge
from agentgym.errors import ConfigError
from agentgym.rewards import ANSWER_RUBRIC, UNAVAILABLE_KEY, Defences, LLMJudge, mask_unavailable
from agentgym.rewards.monitor import judge_agreement
from agentgym.rollout import collect
from agentgym.tools import ToolCall

from .helpers import ScriptedBackend

HEDGE = " Though I am not sure of that."


def _strict(s: dict[str, str], n: int) -> str:
    """YES unless the reply hedges: what the ``message`` check cannot see."""
    return f"VERDICT: {'NO' if 'not sure' in s['RESPONSE'] else 'YES'}"


def _env(backend: Any, weight: float = 1.0, **kw: Any) -> Any:
    judge = LLMJudge(backend, ANSWER_RUBRIC, defences=Defences(require_reference_agreement=False), retries=0)
    return agentgym.make("ToolCalls-v0", split="val", answer_judge=judge, answer_judge_weight=weight, **kw)


def _play(env: Any, seed: int, edit=None) -> tuple[float, dict[str, Any]]:
    """The oracle's episode; ``edit(message) -> message`` rewrites its replies."""
    env.reset(seed=seed)
    done, reward, info = False, 0.0, {}
    while not done:
        action = env.scripted_action("oracle")
        if edit is not None and '"respond"' in action:
            call = json.loads(action.split("<tool_call>")[-1].split("</tool_call>")[0])
            action = ToolCall("respond", {"message": edit(call["arguments"]["message"])}).render()
        _, reward, term, trunc, info = env.step(action)
        done = term or trunc
    return reward, info


def _seed_with_facts(env: Any, want: bool) -> int:
    for seed in range(40):
        env.reset(seed=seed)
        if any(t["required"] for t in env.unwrapped.turns) == want:
            return seed
    raise AssertionError("no such task in the first 40 seeds")


def test_oracle_replies_are_judged_against_the_gold_reply() -> None:
    backend = ScriptedBackend(_strict)
    env = _env(backend)
    seed = _seed_with_facts(env, True)
    reward, info = _play(env, seed)
    assert info["reward_parts"]["answer_judge"] == 1.0 and reward == pytest.approx(2.0)
    m = info["metrics"]
    assert (m["success"], m["judge_pass"], m["judge_verifier"], m[UNAVAILABLE_KEY]) == (1.0, 1.0, 1.0, 0.0)
    assert len(backend.calls) == 1  # every fact-bearing reply in one batched call
    turns = env.unwrapped.turns
    assert backend.calls[0] == sum(1 for t in turns if t["required"])


def test_a_hedged_reply_passes_the_message_check_but_not_the_judge() -> None:
    env = _env(ScriptedBackend(_strict))
    seed = _seed_with_facts(env, True)
    reward, info = _play(env, seed, edit=lambda m: m + HEDGE)
    assert info["reward_parts"]["message"] > 0 and info["reward_parts"]["answer_judge"] == 0.0
    m = info["metrics"]
    assert (m["message_match"], m["judge_pass"], m["judge_verifier"]) == (1.0, 0.0, 1.0)
    assert reward == pytest.approx(1.0)


def test_the_judge_is_gated_on_the_message_check() -> None:
    backend = ScriptedBackend(lambda s, n: "VERDICT: YES")  # says yes to anything
    env = _env(backend)
    seed = _seed_with_facts(env, True)
    _, info = _play(env, seed, edit=lambda m: "Done.")
    assert not backend.calls and "answer_judge" not in info["reward_parts"]
    assert info["metrics"]["message_match"] == 0.0 and "judge_pass" not in info["metrics"]


def test_nothing_to_judge_holds_without_a_judge_call() -> None:
    backend = ScriptedBackend(_strict)
    env = _env(backend)
    seed = _seed_with_facts(env, False)
    reward, info = _play(env, seed)
    assert not backend.calls and info["reward_parts"]["answer_judge"] == 1.0 and reward == pytest.approx(2.0)
    assert "judge_pass" not in info["metrics"]


def test_an_unavailable_verdict_is_marked_and_masked() -> None:
    env = _env(ScriptedBackend(lambda s, n: "I would rather not say."))
    seed = _seed_with_facts(env, True)
    reward, info = _play(env, seed)
    assert "answer_judge" not in info["reward_parts"] and "no verdict" in info[UNAVAILABLE_KEY]["answer_judge"]
    assert info["metrics"][UNAVAILABLE_KEY] == 1.0 and "judge_pass" not in info["metrics"]
    assert reward == pytest.approx(1.0)
    trajs = collect(env, agentgym.load_policy("scripted:oracle"), tasks=[env.unwrapped.task], group_size=2, split="val")
    kept, masked = mask_unavailable(trajs)
    assert not kept and len(masked) == 2


def test_weight_zero_is_a_monitor_only() -> None:
    env = _env(ScriptedBackend(_strict), weight=0.0)
    seed = _seed_with_facts(env, True)
    reward, info = _play(env, seed, edit=lambda m: m + HEDGE)
    assert reward == pytest.approx(1.0) and info["reward_parts"]["answer_judge"] == 0.0
    assert info["metrics"]["judge_pass"] == 0.0 and UNAVAILABLE_KEY not in info["metrics"]
    broken = _env(ScriptedBackend(lambda s, n: "garbage"), weight=0.0)
    _, info = _play(broken, seed)
    assert UNAVAILABLE_KEY not in info and "judge_pass" not in info["metrics"]


def test_agreement_is_measured_against_the_message_check() -> None:
    env = _env(ScriptedBackend(_strict))
    _seed_with_facts(env, True)  # leaves env on a task with fact-bearing replies
    good = collect(env, agentgym.load_policy("scripted:oracle"), tasks=[env.unwrapped.task], group_size=2, split="val")
    assert judge_agreement(good)["judge_agreement"] == 1.0
    # A judge that rejects everything disagrees with message_match on every oracle episode.
    harsh = _env(ScriptedBackend(lambda s, n: "VERDICT: NO"))
    bad = collect(harsh, agentgym.load_policy("scripted:oracle"), tasks=[env.unwrapped.task], group_size=2, split="val")
    a = judge_agreement(bad)
    assert (a["judge_agreement"], a["judge_false_pass"]) == (0.0, 0.0)


def test_the_forbidden_veto_cancels_the_judged_part_too() -> None:
    from agentgym.envs.tools.reward import DEFAULT_WEIGHTS, Graded, build_reward

    rj = ReplyJudge(LLMJudge(ScriptedBackend(lambda s, n: "VERDICT: YES"), ANSWER_RUBRIC))
    reward = build_reward(DEFAULT_WEIGHTS, 0.0, rj)
    graded = Graded(True, True, True, 0.0, ("cancelled a shipped order",), (("q", "a", "a"),))
    scored = reward.score(graded)
    assert scored.parts["answer_judge"] == 1.0 and scored.total == pytest.approx(0.0)


def test_spec_string_and_validation() -> None:
    env = agentgym.make("ToolCalls-v0", split="val", answer_judge="agentgym.rewards.scripted:OverlapJudge")
    assert "answer_judge" in env.unwrapped.reward.names
    with pytest.raises(ConfigError, match="answer_judge_weight"):
        agentgym.make("ToolCalls-v0", answer_judge="agentgym.rewards.scripted:OverlapJudge", answer_judge_weight=-1)


@pytest.mark.parametrize("env_id, kwarg", [("ToolCalls-v0", "answer_judge"), ("WebQA-v0", "answer_judge"),
                                           ("SQL-v0", "explanation_judge"), ("AskToAct-v0", "question_judge")])
def test_every_judge_kwarg_takes_a_dict_of_llmjudge_arguments(env_id: str, kwarg: str) -> None:
    """What a TOML config or --env_kwargs can say: {"policy": SPEC, ...LLMJudge arguments}."""
    spec = {"policy": "agentgym.rewards.scripted:OverlapJudge", "k": 3, "retries": 0}
    env = agentgym.make(env_id, split="val", **{kwarg: spec})
    try:
        u = env.unwrapped
        judge = {"answer_judge": lambda: getattr(u, "reply_judge", None) or u.answer_judge,
                 "explanation_judge": lambda: u.explanation_judge,
                 "question_judge": lambda: u.question_reward}[kwarg]()
        inner = judge if isinstance(judge, LLMJudge) else judge.judge
        assert isinstance(inner, LLMJudge) and (inner.k, inner.retries) == (3, 0)
        with pytest.raises(ConfigError, match=f"{kwarg} dict needs 'policy'"):
            agentgym.make(env_id, split="val", **{kwarg: {"k": 3}})
        with pytest.raises(ConfigError, match=f"bad {kwarg} arguments"):
            agentgym.make(env_id, split="val", **{kwarg: {"policy": spec["policy"], "nonsense": 1}})
    finally:
        env.close()
