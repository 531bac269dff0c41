"""Concurrent env steps in collect(): same trajectories as the sequential path,
failure isolation unchanged, and the time a turn takes is the slowest step's."""

from __future__ import annotations

import time

import pytest

from agentgym.errors import ConfigError
from agentgym.rollout import collect
from tests.core.sleep_env import HashPolicy, SleepEnv


def _dump(trajs):
    return [t.to_dict() for t in trajs]


def _run(n_envs=8, delay=0.0, boom=(), **kw):
    envs = [SleepEnv(delay=delay, slow_every=3) for _ in range(n_envs)]
    return collect(envs, HashPolicy(seed=3, boom=boom), tasks=6, group_size=2, seed=7, **kw)


def test_concurrent_steps_give_the_sequential_trajectories():
    sequential = _run(step_threads=1)
    assert len(sequential) == 12 and any(len(t.turns) > 1 for t in sequential)
    assert _dump(_run(step_threads=8)) == _dump(sequential)
    assert _dump(_run()) == _dump(sequential)  # the env's own step_threads (16)
    # No barrier: whatever the batches were, each episode is the same.
    assert _dump(_run(delay=0.002, barrier=False)) == _dump(sequential)


def test_a_step_that_raises_fails_only_its_episode():
    for kw in ({"step_threads": 1}, {"step_threads": 4}, {"barrier": False}):
        trajs = _run(boom=(2,), **kw)
        failed = [t for t in trajs if t.failed]
        assert {t.meta["task_index"] for t in failed} <= {2}
        assert all("boom" in t.error for t in failed)
        assert sum(not t.failed for t in trajs) >= 10


def test_turn_waits_for_the_slowest_step_not_the_sum():
    # 8 episodes, 50 ms steps: sequential ~8 x 50 ms a turn, concurrent ~50 ms.
    envs = lambda: [SleepEnv(delay=0.05) for _ in range(8)]  # noqa: E731
    t0 = time.perf_counter()
    collect(envs(), HashPolicy(), tasks=8, max_turns=2, step_threads=1)
    sequential = time.perf_counter() - t0
    t0 = time.perf_counter()
    collect(envs(), HashPolicy(), tasks=8, max_turns=2)
    concurrent = time.perf_counter() - t0
    assert concurrent < sequential / 2.5, (sequential, concurrent)


def test_without_barrier_fast_episodes_do_not_wait_for_slow_ones():
    # Task i steps (1 + i % 3) x 20 ms: the policy is called more often, with fewer
    # conversations, than the turn-by-turn path's one call per turn.
    pol = HashPolicy()
    collect([SleepEnv(delay=0.02, slow_every=3) for _ in range(6)], pol, tasks=6, max_turns=4, barrier=False)
    assert max(pol.calls) <= 6 and min(pol.calls) < 6


def test_step_threads_must_be_positive():
    with pytest.raises(ConfigError, match="step_threads"):
        collect([SleepEnv()], HashPolicy(), step_threads=0)
