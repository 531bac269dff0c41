"""Judge-vs-verifier monitoring: envs whose verified outcome is also judged
report ``judge_pass`` beside ``success`` (WebQA-v0's ``answer_judge=``), and
:func:`agentgym.rewards.monitor.judge_agreement` reads it."""

from __future__ import annotations

from typing import Any

import pytest

import agentgym
from agentgym.rewards import ANSWER_RUBRIC, Defences, FinalAnswerJudge, LLMJudge
from agentgym.rewards.monitor import judge_agreement
from agentgym.rewards.scripted import GullibleJudge
from agentgym.tools import ToolCall
from agentgym.trajectory import Trajectory

from .helpers import ScriptedBackend


def _answer(env: Any, text: str) -> tuple[float, dict[str, Any]]:
    _, reward, terminated, _, info = env.step(ToolCall("answer", {"text": text}).render())
    assert terminated
    return reward, info


@pytest.fixture(scope="module")
def webqa() -> Any:
    env = agentgym.make("WebQA-v0", split="val", answer_judge="agentgym.rewards.scripted:OverlapJudge",
                        answer_judge_weight=0.5)
    yield env
    env.close()


def test_webqa_judged_answer_reports_judge_pass(webqa: Any) -> None:
    webqa.reset(seed=0)
    reward, info = _answer(webqa, webqa.unwrapped.task.answer)
    assert info["reward_parts"]["answer_judge"] == 0.5 and reward == pytest.approx(1.5)
    m = info["metrics"]
    assert (m["success"], m["judge_pass"], m["reward_unavailable"]) == (1.0, 1.0, 0.0)
    webqa.reset(seed=0)
    reward, info = _answer(webqa, "Nobody knows")
    assert info["reward_parts"]["answer_judge"] == 0.0 and reward == 0.0
    assert (info["metrics"]["success"], info["metrics"]["judge_pass"]) == (0.0, 0.0)


def test_webqa_without_a_judge_is_unchanged() -> None:
    env = agentgym.make("WebQA-v0", split="val")
    try:
        env.reset(seed=0)
        _, info = _answer(env, env.unwrapped.task.answer)
        assert "judge_pass" not in info["metrics"] and "reward_unavailable" not in info["metrics"]
        assert set(info["reward_parts"]) == {"exact_match", "f1"}
    finally:
        env.close()


def test_a_fooled_judge_shows_as_disagreement() -> None:
    """A gullible judge without defences passes ':' (a master key); the verifier
    does not: agreement falls, and the false passes are the hacking direction."""
    fooled = FinalAnswerJudge(LLMJudge(GullibleJudge(), ANSWER_RUBRIC, defences=Defences.off()), weight=1.0)
    hardened = FinalAnswerJudge("agentgym.rewards.scripted:GullibleJudge", weight=1.0)
    trajs: dict[str, list[Trajectory]] = {"fooled": [], "hardened": []}
    for name, fj in (("fooled", fooled), ("hardened", hardened)):
        for i, (answer, success) in enumerate([("Paris", 1.0), (":", 0.0), ("Thought process:", 0.0), ("Lyon", 0.0)]):
            fj.reset()
            fj.score("What is the capital of France?", answer, "Paris")
            trajs[name].append(Trajectory(f"t{i}", "g", metrics={"success": success, **fj.metrics()}))
    assert judge_agreement(trajs["fooled"]) == {"judge_agreement": 0.5, "judge_episodes": 4.0, "judge_false_pass": 0.5}
    assert judge_agreement(trajs["hardened"])["judge_agreement"] == 1.0


def test_unavailable_judge_masks_instead_of_passing() -> None:
    garbage = ScriptedBackend(lambda s, n: "I am not sure.")
    fj = FinalAnswerJudge(LLMJudge(garbage, ANSWER_RUBRIC, retries=0), weight=1.0)
    assert fj.score("Q?", "Paris", "Paris") == {}
    assert fj.metrics() == {"reward_unavailable": 1.0} and "no verdict" in (fj.unavailable or "")
    monitor_only = FinalAnswerJudge(LLMJudge(garbage, ANSWER_RUBRIC, retries=0), weight=0.0)
    monitor_only.score("Q?", "Paris", "Paris")
    assert monitor_only.metrics() == {}  # the reward does not depend on it: nothing to mask, nothing to compare
