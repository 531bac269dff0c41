"""CodeRepair-v0's reward, pinned before it was re-expressed with
:mod:`agentgym.rewards` (issue 17): rewards, reward parts (names and values),
termination, validity and episode metrics of many seeded episodes must stay
identical.

Episodes on the tiny tasks (``val``, one easy task with a one-edit fix, one hard
task with two edits), in execution mode under three ``reward_weights`` settings
(the default; ``fraction`` and ``localisation`` on; ``tests`` off and a
negative ``localisation``, no invalid-action penalty) and in similarity mode
under three (the default, half weight with another invalid-action penalty,
weight 0); the default weights on both tasks, the others on one each: the oracle, a
submission of the unchanged repository, the gold patch submitted as a patch, a
partial fix, a fix that breaks the syntax, a fix plus changes to test files
(dropped by grading), a fix plus a source file that reaches for the test
machinery (tampering), malformed and invalid actions then a submission, random
calls (:class:`~agentgym.policies.scripted.RandomPolicy`) and a mix of the oracle
and random calls. The observation text is left out, so a reworded message does
not move the digest.

The random calls leave out ``run``: a shell command made of random words from
the observations is slow and its output (timings) is not deterministic.

The process sandbox (the fastest) grades by default; ``bwrap`` must give the
same digest (the ``bwrap``-marked test).

The digest was computed on the code before the change; a change that alters it
is a behaviour change of the env's reward and must be deliberate.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.envs.code_repair.tasks import default_cache_dir
from agentgym.policies.scripted import RandomPolicy
from agentgym.sandbox import available_sandboxes
from agentgym.tools import ToolCall

CODE_REPAIR_SHA256 = "48bb5552f5f40a88ea0069570d97948f0cb6307b5cf75a60ffbe6036332854f8"

Act = Callable[[CodeRepairEnv, str, dict[str, Any]], str]
EASY, HARD = ("easy", 0), ("hard", 0)
#: (env kwargs, tasks): the default weights on both tasks, the others on one each (grading takes ~0.5 s).
CONFIGS: tuple[tuple[dict[str, Any], tuple[tuple[str, int], ...]], ...] = (
    ({}, (EASY, HARD)),
    ({"reward_weights": {"fraction": 0.5, "localisation": 0.25}}, (HARD,)),
    (
        {
            "reward_weights": {"tests": 0.0, "fraction": 1.0, "localisation": -0.5},
            "invalid_action_penalty": 0.0,
        },
        (EASY,),
    ),
    ({"reward_mode": "similarity"}, (EASY, HARD)),
    (
        {
            "reward_mode": "similarity",
            "reward_weights": {"similarity": 0.5},
            "invalid_action_penalty": 0.25,
        },
        (HARD,),
    ),
    ({"reward_mode": "similarity", "reward_weights": {"similarity": 0.0}}, (EASY,)),
)


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


def _record(h: Any, env: CodeRepairEnv, act: Act, difficulty: str, index: int) -> None:
    """One episode into ``h``: per step the action, reward, parts, termination
    and validity; at the end the metrics (the observation text is left out)."""
    obs, info = env.reset(seed=index, options={"task_index": index, "difficulty": difficulty})
    done = False
    while not done:
        action = act(env, obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        parts = sorted((k, repr(v)) for k, v in info["reward_parts"].items())
        h.update(
            json.dumps(
                [action, repr(reward), parts, terminated, truncated, info["action_valid"]]
            ).encode()
        )
        done = terminated or truncated
    h.update(json.dumps(sorted((k, repr(v)) for k, v in info["metrics"].items())).encode())


def _script(make: Callable[[CodeRepairEnv], list[str]]) -> Act:
    """The actions ``make(env)`` returns at reset, one per turn, then ``submit()``."""
    state: dict[str, list[str]] = {}

    def act(env: CodeRepairEnv, obs: str, info: dict[str, Any]) -> str:
        if env.turn == 0:
            state["actions"] = make(env)
        actions = state["actions"]
        return actions[env.turn] if env.turn < len(actions) else C("submit")

    return act


def _fix(env: CodeRepairEnv) -> list[str]:
    return [C("edit_file", **e) for e in env.task.meta["fix"]]


def _partial(env: CodeRepairEnv) -> list[str]:
    # The first of two edits; a one-edit task gets a comment above its gold file's code instead.
    fix = env.task.meta["fix"]
    if len(fix) > 1:
        return [C("edit_file", **fix[0])]
    path = fix[0]["path"]
    return [
        C("create_file", path=path, content="# looked here\n" + (env.ws.root / path).read_text())
    ]


def _broken(env: CodeRepairEnv) -> list[str]:
    e = env.task.meta["fix"][0]
    return [C("edit_file", path=e["path"], old=e["old"], new=e["new"].rstrip("\n") + " (\n")]


def _fix_and_tests(env: CodeRepairEnv) -> list[str]:
    test = next(t for t in env.task.meta["fail_to_pass"]).split("::")[0]
    return [
        *_fix(env),
        C("create_file", path="tests/test_extra.py", content="def test_ok():\n    assert True\n"),
        C("create_file", path=test, content="def test_nothing():\n    pass\n"),
        C("create_file", path="conftest.py", content="collect_ignore = ['tests']\n"),
    ]


def _tamper(env: CodeRepairEnv) -> list[str]:
    root = env.task.meta["source_roots"][0]
    return [
        *_fix(env),
        C("create_file", path=f"{root}/_hook.py", content="import sys\nMODULES = sys.modules\n"),
    ]


def _malformed(env: CodeRepairEnv) -> list[str]:
    e = env.task.meta["fix"][0]
    return [
        "I think the bug is in the loop.",
        C("read_file", path="../../etc/passwd"),
        C("edit_file", path=e["path"], old="this text is nowhere", new="x"),
        C("list_files", path="/"),
        C("submit", patch="this is not a diff"),
        C("frobnicate", x=1),
        '{"name": "submit", "arguments": 3}',
    ]


def _gold_patch(env: CodeRepairEnv) -> list[str]:
    return [C("submit", patch=env.task.meta["gold_patch"])]


def _unchanged(env: CodeRepairEnv) -> list[str]:
    return []


def _oracle(env: CodeRepairEnv, obs: str, info: dict[str, Any]) -> str:
    return env.scripted_action("oracle")


def _random_call(policy: RandomPolicy, env: CodeRepairEnv, obs: str) -> str:
    tools = [t for t in env.tools if t.get("function", t)["name"] != "run"]
    return policy.act([[{"role": "user", "content": obs}]], [tools])[0].text


def _random(seed: int) -> Act:
    policy = RandomPolicy(seed)
    return lambda env, obs, info: _random_call(policy, env, obs)


def _mixed(seed: int) -> Act:
    rng, policy = random.Random(seed), RandomPolicy(seed)
    return lambda env, obs, info: (
        _random_call(policy, env, obs) if rng.random() < 0.4 else env.scripted_action("oracle")
    )


def _episodes(seed: int) -> list[Act]:
    hand = [_unchanged, _gold_patch, _partial, _broken, _fix_and_tests, _tamper, _malformed]
    return [_oracle, *(_script(m) for m in hand), _random(seed), _random(seed + 2), _mixed(seed)]


def code_repair_digest(sandbox: str = "process") -> str:
    h = hashlib.sha256()
    cache = default_cache_dir()
    for kwargs, tasks in CONFIGS:
        env = CodeRepairEnv(split="val", sandbox=sandbox, cache_dir=cache, max_turns=8, **kwargs)
        for difficulty, index in tasks:
            for act in _episodes(1 if difficulty == "hard" else 0):
                _record(h, env, act, difficulty, index)
        env.close()
    return h.hexdigest()


def test_code_repair_rewards_unchanged() -> None:
    assert code_repair_digest() == CODE_REPAIR_SHA256


@pytest.mark.bwrap
@pytest.mark.skipif(available_sandboxes().get("bwrap") != "", reason="bubblewrap unavailable")
def test_code_repair_rewards_unchanged_under_bwrap() -> None:
    assert code_repair_digest("bwrap") == CODE_REPAIR_SHA256


if __name__ == "__main__":  # print the digest (to pin a deliberate change)
    print("code_repair", code_repair_digest())
