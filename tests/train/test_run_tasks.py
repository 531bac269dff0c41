"""The trainer picks its tasks through ``AgentEnv.task_at`` (issue 12, item 12):
a fixed task list in ``env_kwargs`` is honoured for rollouts and validation."""

from __future__ import annotations

from types import SimpleNamespace

import agentgym
from agentgym.train.run import TrainingRun


def _run(task_env, rank: int = 0, world: int = 1) -> SimpleNamespace:
    # TrainingRun.tasks reads only these two fields of the run (and its own _task).
    run = SimpleNamespace(task_env=task_env, dist=SimpleNamespace(rank=rank, world=world))
    run._task = lambda key, split: TrainingRun._task(run, key, split)
    return run


def test_trainer_tasks_honour_a_fixed_task_list() -> None:
    source = agentgym.make("GuessNumber-v0", split="val", difficulty="hard")
    fixed = [source.generator.task("val", i, "hard") for i in (3, 8, 21)]
    task_env = agentgym.make("GuessNumber-v0", split="train", tasks=fixed)
    run = _run(task_env)
    assert TrainingRun.tasks(run, "train", range(0, 5)) == [fixed[0], fixed[1], fixed[2], fixed[0], fixed[1]]
    assert TrainingRun.tasks(run, "val", range(2)) == fixed[:2]  # validation plays the same list
    # Each process takes every world-th task, from the same list.
    assert TrainingRun.tasks(_run(task_env, rank=1, world=2), "train", range(4)) == [fixed[1], fixed[0]]


def test_trainer_tasks_without_a_fixed_list_follow_the_split() -> None:
    task_env = agentgym.make("GuessNumber-v0", split="train", difficulty="medium")
    run = _run(task_env)
    assert [t.id for t in TrainingRun.tasks(run, "val", range(3, 5))] == [
        task_env.generator.task("val", i, "medium").id for i in (3, 4)
    ]
    assert TrainingRun.tasks(run, "train", range(2)) == [task_env.generator.task("train", i, "medium") for i in (0, 1)]
