"""AskToAct-v0 and SQL-v0 rewards, pinned before they were re-expressed with
:mod:`agentgym.rewards` (issue 17): rewards, reward parts (names and values),
observations and termination of many seeded episodes must stay identical.

The digests were computed on the code before the change; a change that alters
them is a behaviour change of the env's reward and must be deliberate.
"""

from __future__ import annotations

import hashlib
import json

import agentgym
from agentgym.policies.scripted import RandomPolicy
from agentgym.tools import ToolCall

ASKTOACT_SHA256 = "0d065ffc41f9941bfa0db88ad31c261696ba1c8f0ad22ec7c0015461b85b57b2"
SQL_SHA256 = "f83a981e3ceb903db8a4505378aea3c56b84b3c7546f75795a7a4c4dbc67f3e9"


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


if __name__ == "__main__":  # print the digests (to pin a deliberate change)
    print(asktoact_digest())
    print(sql_digest())
