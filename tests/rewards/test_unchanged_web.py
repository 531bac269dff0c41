"""Web env rewards (WebShop-v0, WebQA-v0), pinned before they were re-expressed
with :mod:`agentgym.rewards` (issue 17): rewards, reward parts (names and
values), termination, validity and episode metrics of many seeded episodes must
stay identical.

Text mode only (no Chromium; browser mode has the same rewards by test in
``tests/envs/test_web_browser.py``). Episodes: the scripted policies, random
calls (:class:`~agentgym.policies.scripted.RandomPolicy`), a mix of the two,
and hand-written ones with malformed and invalid actions and answers that are
partly right, differently written, empty or master keys; WebQA-v0 under
several ``reward_weights`` and with ``answer_judge`` judges that pass, fail,
only monitor (weight 0) and cannot answer. The observation text is left out,
so a reworded page or error message does not move the digests.

MiniWoB-v0's reward is the page's own (JavaScript) and needs Chromium: its
scoring is pinned by a unit test in ``tests/envs/test_web_reward.py``.

The digests were computed on the code before the change; a change that alters
them is a behaviour change of the env's reward and must be deliberate.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

import agentgym
from agentgym.policies.scripted import RandomPolicy
from agentgym.policy import Completion
from agentgym.rewards import ANSWER_RUBRIC, LLMJudge
from agentgym.tools import ToolCall

WEBSHOP_SHA256 = "67ea11aee94d4bcc6b94bfd9608eeaacca2e2bbc2a6a3f11285721d84dcc619a"
WEBQA_SHA256 = "74d40143f5dba55c8ad18b1bc179cf8c369205a421ddbf806e84a5c1a672ecf3"

Act = Callable[[Any, str, dict[str, Any]], str]


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


def _record(h: Any, env: Any, act: Act, index: int) -> None:
    """One episode into ``h``: per step the action, reward, parts, termination
    and validity; at the end the metrics (the observation text is left out)."""
    obs, info = env.reset(seed=index, options={"task_index": index})
    done = False
    while not done:
        action = act(env, obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        parts = sorted((k, repr(v)) for k, v in info["reward_parts"].items())
        h.update(json.dumps([action, repr(reward), parts, terminated, truncated, info["action_valid"]]).encode())
        done = terminated or truncated
    h.update(json.dumps(sorted((k, repr(v)) for k, v in info["metrics"].items())).encode())


def _scripted(name: str) -> Act:
    return lambda env, obs, info: env.scripted_action(name)


def _random(seed: int) -> Act:
    policy = RandomPolicy(seed)
    return lambda env, obs, info: policy.act([[{"role": "user", "content": obs}]], [env.tools])[0].text


def _mixed(seed: int, others: Sequence[str], p_random: float = 0.2, p_oracle: float = 0.6) -> Act:
    """Mostly the oracle, sometimes another scripted policy, sometimes a random call."""
    rng, policy = random.Random(seed), RandomPolicy(seed)

    def act(env: Any, obs: str, info: dict[str, Any]) -> str:
        r = rng.random()
        if r < p_random or (r >= p_random + p_oracle and not others):
            return policy.act([[{"role": "user", "content": obs}]], [env.tools])[0].text
        if r < p_random + p_oracle:
            return env.scripted_action("oracle")
        return env.scripted_action(rng.choice(list(others)))
    return act


def _script(actions: Sequence[str], then: Callable[[Any], str]) -> Act:
    """``actions`` first (by turn), then ``then(env)``."""
    return lambda env, obs, info: actions[env.turn] if env.turn < len(actions) else then(env)


# --------------------------------------------------------------------------
# WebShop-v0
# --------------------------------------------------------------------------
_SHOP_BAD = ["I would like to buy shoes.", C("buy"), C("click", element=9999), C("select_option", element=1, value="zzz"),
             C("search", query="   "), C("scroll", direction="sideways"), '{"name": "buy", "arguments": {"x": 1}}']


def _first_result_of(query: Callable[[dict[str, Any]], str]) -> Act:
    """Search ``query(goal)``, then buy the first result with the first options."""
    return lambda env, obs, info: (C("search", query=query(env.task.meta["goal"])) if env.turn == 0
                                   else env.scripted_action("first_result"))


def webshop_digest() -> str:
    h = hashlib.sha256()
    keeper = agentgym.make("WebShop-v0", split="val")  # holds the site server between the envs below
    keeper.reset(seed=0)
    for kwargs in ({}, {"invalid_action_penalty": 0.25}, {"invalid_action_penalty": 0.0}):
        env = agentgym.make("WebShop-v0", split="val", max_turns=15, **kwargs)
        for i in range(4):
            acts = [_script(_SHOP_BAD, lambda e: e.scripted_action("oracle")),
                    _script(_SHOP_BAD[:2], lambda e: e.scripted_action("first_result"))]
            if kwargs.get("invalid_action_penalty") != 0.0:
                acts += [_scripted("oracle"), _scripted("first_result"), _random(i), _mixed(i, ["first_result"])]
                # the first result of other searches: other product types and departments
                acts += [_first_result_of(lambda g, q=q: q) for q in ("black", "kitchen steel")]
                acts += [_first_result_of(lambda g: g["category"]), _first_result_of(lambda g: g["attributes"][0])]
            for act in acts:
                _record(h, env, act, i)
        env.close()
    keeper.close()
    return h.hexdigest()


# --------------------------------------------------------------------------
# WebQA-v0
# --------------------------------------------------------------------------
class GarbageJudge:
    """A judge backend that never gives a verdict (the part is unavailable)."""

    def act(self, conversations: Sequence[Any], tools: Sequence[Any]) -> list[Completion]:
        return [Completion("I am not sure.") for _ in conversations]


def _answer_with(make: Callable[[str], str]) -> Callable[[Any], str]:
    return lambda env: C("answer", text=make(env.task.answer))


_WIKI_ANSWERS: list[Callable[[str], str]] = [
    lambda a: a.split()[0] + " and something else",  # partly right: some F1
    lambda a: f"The {a.upper()}!",  # right, written differently: exact match after normalization
    lambda a: "Nobody knows",  # wrong
    lambda a: ":",  # a master key (a gullible judge says yes)
    lambda a: a,  # right
]
_WIKI_BAD = ["The answer is 42.", C("answer", text="   "), C("click", element=9999), C("back"), C("search", query=""),
             '<tool_call>{"name": "answer"}</tool_call>']


def webqa_digest() -> str:
    h = hashlib.sha256()
    overlap, gullible = "agentgym.rewards.scripted:OverlapJudge", "agentgym.rewards.scripted:GullibleJudge"
    configs: list[dict[str, Any]] = [
        {}, {"reward_weights": {"exact_match": 1.0, "f1": 0.0}}, {"reward_weights": {"exact_match": 0.2, "f1": 0.7}},
        {"reward_weights": {"f1": 0.0, "exact_match": 0.0}, "invalid_action_penalty": 0.3},
        {"answer_judge": overlap}, {"answer_judge": gullible, "answer_judge_weight": 0.5},
        {"answer_judge": gullible, "answer_judge_weight": 0.0, "reward_weights": {"f1": 1.0}},
        {"answer_judge": LLMJudge(GarbageJudge(), ANSWER_RUBRIC, retries=0)},
        {"answer_judge": LLMJudge(GarbageJudge(), ANSWER_RUBRIC, retries=0), "answer_judge_weight": 0.0},
    ]
    keeper = agentgym.make("WebQA-v0", split="val")  # holds the site server between the envs below
    keeper.reset(seed=0)
    for kwargs in configs:
        for difficulty in ("easy", "hard"):
            env = agentgym.make("WebQA-v0", split="val", difficulty=difficulty, max_turns=12, **kwargs)
            for i in range(2):
                acts = [_scripted("oracle")]
                if "answer_judge" not in kwargs:  # the judge sees the answer alone: hand-written answers below
                    acts += [_random(i), _mixed(i, [])]
                acts += [_script(_WIKI_BAD[: 1 + 2 * k], _answer_with(make)) for k, make in enumerate(_WIKI_ANSWERS[:3])]
                acts += [_script([], _answer_with(make)) for make in _WIKI_ANSWERS[3:]]
                for act in acts:
                    _record(h, env, act, i)
            env.close()
    keeper.close()
    return h.hexdigest()


def test_webshop_rewards_unchanged() -> None:
    assert webshop_digest() == WEBSHOP_SHA256


def test_webqa_rewards_unchanged() -> None:
    assert webqa_digest() == WEBQA_SHA256


if __name__ == "__main__":  # print the digests (to pin a deliberate change)
    print("webshop", webshop_digest())
    print("webqa", webqa_digest())
