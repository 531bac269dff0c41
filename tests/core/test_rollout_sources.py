"""Every trajectory carries the real env id and its source's label, whatever the
env source (issue 12, item 8); task indices and ranges pick tasks through
``AgentEnv.task_at`` (item 12)."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.envs.guess_number.env import GuessNumberEnv
from agentgym.rollout import collect
from agentgym.suites import SuiteEntry

ENV_ID = "agentgym/GuessNumber-v0"


def _factory():
    return agentgym.make("GuessNumber-v0", split="val")


SOURCES = {
    "env id": lambda: "GuessNumber-v0",
    "instance": lambda: agentgym.make("GuessNumber-v0", split="val"),
    "pool": lambda: [agentgym.make("GuessNumber-v0", split="val") for _ in range(2)],
    "factory function": lambda: _factory,
    "lambda factory": lambda: (lambda: agentgym.make("GuessNumber-v0", split="val")),
    "env class": lambda: GuessNumberEnv,
    "unwrapped instance": lambda: GuessNumberEnv(split="val"),
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_every_env_source_records_the_real_env_id(kind: str) -> None:
    trajs = collect(SOURCES[kind](), agentgym.load_policy("oracle"), tasks=2, group_size=2, split="val")
    assert len(trajs) == 4 and all(t.success for t in trajs)
    for t in trajs:
        assert t.env_id == ENV_ID, kind
        assert t.group_id.startswith(f"{ENV_ID}#") and "<lambda>" not in t.group_id
        assert t.meta["source"] == ENV_ID
    assert trajs[0].group_id == trajs[1].group_id != trajs[2].group_id


def test_suite_entries_record_env_id_and_entry_label() -> None:
    entries = [SuiteEntry("GuessNumber-v0", "val", 2, {"difficulty": d}) for d in ("easy", "hard")]
    trajs = collect(entries, agentgym.load_policy("oracle"))
    assert [t.env_id for t in trajs] == [ENV_ID] * 4
    assert [t.meta["source"] for t in trajs] == [entries[0].label] * 2 + [entries[1].label] * 2
    assert all(t.group_id.startswith(t.meta["source"] + "#") for t in trajs)


def test_a_range_of_task_indices_plays_those_tasks() -> None:
    env = agentgym.make("GuessNumber-v0", split="val")
    part = collect("GuessNumber-v0", agentgym.load_policy("oracle"), tasks=range(3, 5), split="val", seed=7)
    whole = collect("GuessNumber-v0", agentgym.load_policy("oracle"), tasks=5, split="val", seed=7)
    assert [t.task_id for t in part] == [env.task_at(3).id, env.task_at(4).id]
    assert [t.meta["task_index"] for t in part] == [3, 4]
    # A task's episodes do not depend on which other tasks ran with it.
    assert [t.to_dict() for t in part] == [t.to_dict() for t in whole[3:]]
    with pytest.raises(agentgym.errors.ConfigError, match="range"):
        collect("GuessNumber-v0", agentgym.load_policy("oracle"), tasks=range(2, 2))


def test_task_at_is_what_reset_plays_and_honours_a_fixed_list() -> None:
    env = agentgym.make("GuessNumber-v0", split="val", difficulty="hard")
    for i in (0, 5, 12):
        assert env.reset(seed=0, options={"task_index": i})[1]["task_id"] == env.task_at(i).id
    assert env.task_at(2, split="test").id == env.generator.task("test", 2, "hard").id
    fixed = [env.task_at(7), env.task_at(9)]
    pinned = agentgym.make("GuessNumber-v0", split="train", tasks=fixed)
    assert [pinned.task_at(i) for i in range(4)] == fixed * 2
    assert pinned.task_at(1, split="val") == fixed[1]  # the list is the env's tasks, whatever the split
    # A fixed list written as dicts (a TOML config) is a list of Tasks.
    as_dicts = agentgym.make("GuessNumber-v0", tasks=[t.to_dict() for t in fixed])
    assert as_dicts.task_at(1) == fixed[1] and as_dicts.task_at(1).meta == fixed[1].meta
