"""The web envs' rewards as :class:`agentgym.rewards.Reward` s (issue 17):
``env.reward`` lists the parts with the env's weights, ``reward_weights=``
reweights them (unknown names raise naming the valid ones), WebQA-v0 reports an
answer judge that cannot answer per step, and MiniWoB-v0's ``task`` part is the
page's raw reward (pinned here without a browser).

That the rewards did not change is ``tests/rewards/test_unchanged_web.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

import agentgym
from agentgym.envs.web.env import WebQAEnv, WebShopEnv
from agentgym.envs.web.miniwob import MiniWoBEnv
from agentgym.envs.web.reward import (
    MINIWOB_REWARD,
    SHOP_REWARD,
    WikiAnswer,
    grade_purchase,
    shop_reward,
    weighted,
    wiki_reward,
)
from agentgym.errors import ConfigError
from agentgym.policy import Completion
from agentgym.rewards import ANSWER_RUBRIC, LLMJudge, Unavailable, mask_unavailable
from agentgym.tools import ToolCall
from agentgym.trajectory import Trajectory

OVERLAP = "agentgym.rewards.scripted:OverlapJudge"


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


class GarbageJudge:
    """A judge backend that never gives a verdict."""

    def act(self, conversations: Sequence[Any], tools: Sequence[Any]) -> list[Completion]:
        return [Completion("I am not sure.") for _ in conversations]


def oracle_episode(env: Any, index: int = 0) -> list[tuple[float, dict[str, Any]]]:
    env.reset(options={"task_index": index})
    steps, done = [], False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.scripted_action("oracle"))
        assert reward == pytest.approx(sum(info["reward_parts"].values()))
        steps.append((reward, info))
        done = terminated or truncated
    return steps


# ----------------------------------------------------------------------
# env.reward: the parts and the env's weights
# ----------------------------------------------------------------------
def test_env_reward_lists_the_parts_with_the_envs_weights() -> None:
    shop = WebShopEnv(split="val", reward_weights={"price": 0.5})
    assert shop.reward.names == SHOP_REWARD.names == ["attributes", "options", "price"]
    assert shop.reward.weights == {"attributes": 1.0, "options": 1.0, "price": 0.5}
    wiki = WebQAEnv(split="val")
    assert wiki.reward.names == ["exact_match", "f1"] and wiki.reward.weights == {"exact_match": 0.5, "f1": 0.5}
    judged = WebQAEnv(split="val", reward_weights={"f1": 0.2}, answer_judge=OVERLAP, answer_judge_weight=0.3)
    assert judged.reward.weights == {"exact_match": 0.5, "f1": 0.2, "answer_judge": 0.3}
    assert MiniWoBEnv.base_reward is MINIWOB_REWARD and MINIWOB_REWARD.names == ["task"]
    for env in (shop, wiki, judged):
        env.close()


def test_shop_parts_are_webshops_formula() -> None:
    goal = {"ptype": "sandals", "category": "shoes", "attributes": ["leather", "non slip"],
            "options": {"color": "black", "size": "9"}, "price_max": 50.0}
    order = {"ptype": "boots", "category": "shoes", "attributes": ["Leather"], "options": {"color": "black"},
             "price": 60.0}
    grade = grade_purchase(goal, order)
    assert (grade.r_type, grade.attributes, grade.options, grade.price_ok, grade.denom) == (0.5, 1, 1, 0.0, 5)
    parts, metrics = shop_reward(goal, order)
    assert parts == {"attributes": 0.5 / 5, "options": 0.5 / 5, "price": 0.0}
    assert metrics == {"r_type": 0.5, "r_att": 0.5, "r_option": 0.5, "r_price": 0.0}
    assert grade.score == pytest.approx(0.2)
    reweighted, _ = shop_reward(goal, order, SHOP_REWARD.with_weights({"options": 0.0}))
    assert reweighted == {"attributes": 0.1, "options": 0.0, "price": 0.0}  # still reported


def test_wiki_parts_and_judge_part() -> None:
    reward = wiki_reward({"exact_match": 0.3, "f1": 0.7}, judge_weight=0.5)
    assert reward.score(WikiAnswer("The Blue River", "blue river", 1.0)).parts == {
        "exact_match": 0.3, "f1": 0.7, "answer_judge": 0.5}
    s = reward.score(WikiAnswer("red", "blue river", Unavailable("timeout")))
    assert s.parts == {"exact_match": 0.0, "f1": 0.0} and s.unavailable == {"answer_judge": "timeout"}
    monitor = wiki_reward(judge_weight=0.0).score(WikiAnswer("x", "x", Unavailable("timeout")))
    assert "answer_judge" not in monitor.parts and not monitor.unavailable  # weight 0: not part of the reward


# ----------------------------------------------------------------------
# reward_weights on the envs
# ----------------------------------------------------------------------
def test_reward_weights_reweight_the_shop_parts_not_success() -> None:
    base, heavy = agentgym.make("WebShop-v0", split="val"), agentgym.make(
        "WebShop-v0", split="val", reward_weights={"attributes": 2.0, "price": 0.0})
    try:
        for index in range(2):
            (r0, i0), (r1, i1) = oracle_episode(base, index)[-1], oracle_episode(heavy, index)[-1]
            p0, p1 = i0["reward_parts"], i1["reward_parts"]
            assert set(p0) == set(p1) == {"attributes", "options", "price"}
            assert p1 == {"attributes": 2 * p0["attributes"], "options": p0["options"], "price": 0.0}
            assert r0 == pytest.approx(1.0) and r1 == pytest.approx(sum(p1.values())) and r1 != r0
            assert i0["metrics"]["success"] == i1["metrics"]["success"] == 1.0  # WebShop's score, not the weights
    finally:
        base.close()
        heavy.close()


def test_reward_weights_reweight_the_wiki_parts() -> None:
    env = agentgym.make("WebQA-v0", split="val", reward_weights={"exact_match": 1.0, "f1": 0.0})
    try:
        reward, info = oracle_episode(env)[-1]
        assert info["reward_parts"] == {"exact_match": 1.0, "f1": 0.0} and reward == 1.0
        assert (info["metrics"]["exact_match"], info["metrics"]["f1"]) == (1.0, 1.0)  # unweighted
    finally:
        env.close()


@pytest.mark.parametrize(("env_id", "weights", "valid", "hint"), [
    ("WebShop-v0", {"attribute": 1.0}, ["attributes", "options", "price"], ""),
    ("WebShop-v0", {"invalid_action": 0.0}, ["attributes", "options", "price"], "invalid_action_penalty="),
    ("WebQA-v0", {"em": 1.0}, ["exact_match", "f1"], ""),
    ("WebQA-v0", {"answer_judge": 1.0}, ["exact_match", "f1"], "answer_judge_weight="),
    ("WebQA-v0", {"invalid_action": 0.0}, ["exact_match", "f1"], "invalid_action_penalty="),
])
def test_unknown_part_names_raise_naming_the_valid_ones(env_id: str, weights: dict[str, float], valid: list[str],
                                                        hint: str) -> None:
    with pytest.raises(ConfigError) as e:
        agentgym.make(env_id, split="val", reward_weights=weights)
    message = str(e.value)
    assert repr(next(iter(weights))) in message and all(repr(v) in message for v in valid) and hint in message


def test_miniwob_unknown_part_names_raise() -> None:
    with pytest.raises(ConfigError, match=r"unknown MiniWoBEnv reward part\(s\) \['success'\]; choose from \['task'\]"):
        weighted(MINIWOB_REWARD, {"success": 1.0}, "MiniWoBEnv")
    assert weighted(MINIWOB_REWARD, {"task": 0.5}, "MiniWoBEnv").weights == {"task": 0.5}


# ----------------------------------------------------------------------
# WebQA-v0: an answer judge that cannot answer
# ----------------------------------------------------------------------
def test_webqa_unavailable_judge_is_reported_per_step_and_masked() -> None:
    env = agentgym.make("WebQA-v0", split="val", answer_judge=LLMJudge(GarbageJudge(), ANSWER_RUBRIC, retries=0))
    try:
        env.reset(options={"task_index": 0})
        _, _, _, _, info = env.step(C("search", query="river"))
        assert "reward_unavailable" not in info
        _, reward, terminated, _, info = env.step(C("answer", text=env.unwrapped.task.answer))
        assert terminated and "no verdict" in info["reward_unavailable"]["answer_judge"]
        assert info["reward_parts"] == {"exact_match": 0.5, "f1": 0.5} and reward == 1.0  # never a silent 0 or 1
        m = info["metrics"]
        assert (m["success"], m["reward_unavailable"]) == (1.0, 1.0) and "judge_pass" not in m
        assert mask_unavailable([Trajectory("t", "g", metrics=m)])[1]  # the trainer drops it
        env.reset(options={"task_index": 0})  # the count starts again
        for _ in range(env.unwrapped.max_turns):
            _, _, terminated, truncated, info = env.step("no tool call")
        assert truncated and info["metrics"]["reward_unavailable"] == 0.0
    finally:
        env.close()


def test_webqa_judge_at_weight_zero_only_monitors() -> None:
    env = agentgym.make("WebQA-v0", split="val", answer_judge=LLMJudge(GarbageJudge(), ANSWER_RUBRIC, retries=0),
                        answer_judge_weight=0.0)
    try:
        env.reset(options={"task_index": 0})
        _, _, _, _, info = env.step(C("answer", text=env.unwrapped.task.answer))
        assert "reward_unavailable" not in info and "reward_unavailable" not in info["metrics"]
        assert env.unwrapped.reward.names == ["exact_match", "f1", "answer_judge"]
        assert set(info["reward_parts"]) == {"exact_match", "f1"}
    finally:
        env.close()


# ----------------------------------------------------------------------
# MiniWoB-v0 without a browser: the page's raw reward is the task part
# ----------------------------------------------------------------------
def _page_end(raw: float, weights: dict[str, float] | None = None) -> SimpleNamespace:
    parts: dict[str, float] = {}
    stub = SimpleNamespace(reward=weighted(MINIWOB_REWARD, weights, "MiniWoBEnv"), parts=parts, success=None,
                           add_reward=lambda k, v: parts.__setitem__(k, parts.get(k, 0.0) + float(v)))
    stub.finish = lambda success: setattr(stub, "success", success)
    stub.note = MiniWoBEnv.end_with(stub, raw, "wrong answer" if raw <= 0 else None)  # type: ignore[arg-type]
    return stub


@pytest.mark.parametrize("raw", [1.0, 0.734, -1.0, 0.0, -0.25])
def test_miniwob_task_part_is_the_page_reward(raw: float) -> None:
    end = _page_end(raw)
    assert end.parts == {"task": raw} and repr(end.parts["task"]) == repr(raw)  # every page reward reported
    assert end.page_reward == raw and end.success is (raw > 0)
    assert end.note.startswith(f"The page ended the episode with reward {raw:g}")
    assert _page_end(raw, {"task": 2.0}).parts == {"task": 2 * raw}
