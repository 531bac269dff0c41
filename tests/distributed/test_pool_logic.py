"""RayEnvPool's own logic (batching, order, replacement, timeouts) against an
in-process stand-in for the few Ray calls it makes, so it runs in the default,
fast test run; the real-cluster tests are test_ray_pool.py (slow)."""

from __future__ import annotations

import sys
import types

import pytest

from agentgym.rollout import collect
from tests.core.sleep_env import HashPolicy, SleepEnv


class _RayError(Exception):
    pass


class _ActorDied(_RayError):
    pass


class _Timeout(_RayError):
    pass


class _Ref:
    def __init__(self, actor, name, args):
        self.stuck = name == "step_batch" and any("hang" in a for a in args[1])
        self.error = self.value = None
        if self.stuck:
            return
        if actor.dead:
            self.error = _ActorDied("actor died")
        else:
            actor.calls.append(name)
            self.value = getattr(actor.obj, name)(*args)


class _Handle:
    def __init__(self, cls, args):
        self.obj, self.dead, self.calls = cls(*args), False, []

    def __getattr__(self, name):
        return types.SimpleNamespace(remote=lambda *a: _Ref(self, name, a))


def _fake_ray():
    ray = types.ModuleType("ray")
    ray.exceptions = types.SimpleNamespace(RayError=_RayError, GetTimeoutError=_Timeout)
    ray.handles = []
    ray.is_initialized = lambda: True

    def remote(cls):
        def make(*args):
            h = _Handle(cls, args)
            ray.handles.append(h)
            return h
        return types.SimpleNamespace(options=lambda **kw: types.SimpleNamespace(remote=make))

    def get(ref, timeout=None):
        if isinstance(ref, list):
            return [get(r) for r in ref]
        if ref.stuck:
            raise _Timeout("stuck")
        if ref.error:
            raise ref.error
        return ref.value

    ray.remote, ray.get = remote, get
    ray.wait = lambda refs, num_returns, timeout: ([r for r in refs if not r.stuck], [r for r in refs if r.stuck])
    ray.kill = lambda h, no_restart=True: setattr(h, "dead", True)
    return ray


@pytest.fixture
def ray(monkeypatch):
    fake = _fake_ray()
    monkeypatch.setitem(sys.modules, "ray", fake)
    return fake


def test_same_trajectories_as_local_and_one_call_per_actor_per_turn(ray):
    from agentgym.distributed import RayEnvPool

    local = collect([SleepEnv(delay=0) for _ in range(8)], HashPolicy(), tasks=4, group_size=2, max_turns=5)
    pool = RayEnvPool(SleepEnv, workers=2, envs_per_worker=4, env_kwargs={"delay": 0})
    pooled = collect(pool.envs, HashPolicy(), tasks=4, group_size=2, max_turns=5)
    assert [t.to_dict() for t in pooled] == [t.to_dict() for t in local]
    turns = max(len(t.turns) for t in local)
    for h in ray.handles:  # one batched step call per actor per turn, at most
        assert 1 <= h.calls.count("step_batch") <= turns


def test_a_dead_actor_fails_its_episodes_and_is_replaced(ray):
    from agentgym.distributed import RayEnvPool

    pool = RayEnvPool(SleepEnv, workers=2, envs_per_worker=4, env_kwargs={"delay": 0})
    victim = pool.worker_handle(0)

    class Killer(HashPolicy):
        def act(self, conversations, tools):
            if len(self.calls) == 1:
                victim.dead = True
            return super().act(conversations, tools)

    trajs = collect(pool.envs, Killer(), tasks=8, max_turns=6)
    failed = [t for t in trajs if t.failed]
    assert failed and all("EnvWorkerDied" in t.error for t in failed)
    assert sum(not t.failed for t in trajs) >= 4 and pool.replaced == 1
    assert pool.worker_handle(0) is not victim
    assert not any(t.failed for t in collect(pool.envs, HashPolicy(), tasks=8, max_turns=6))


def test_a_stuck_step_times_out_and_env_errors_keep_their_names(ray):
    from agentgym.distributed import RayEnvPool

    pool = RayEnvPool(SleepEnv, workers=2, envs_per_worker=2, env_kwargs={"delay": 0}, step_timeout=1.0)
    trajs = collect(pool.envs, HashPolicy(hang=(0,), boom=(3,)), tasks=4, max_turns=4)
    errors = {t.meta["task_index"]: t.error for t in trajs if t.failed}
    assert "StepTimeout" in errors[0] and pool.replaced == 1
    assert errors[3] == "step raised RuntimeError: boom: the env broke"  # as a local run records it
    local = collect([SleepEnv(delay=0)], HashPolicy(boom=(3,)), tasks=range(3, 4), max_turns=4)
    assert local[0].error == errors[3]


def test_lease_grows_the_pool_and_close_gives_back(ray):
    from agentgym.distributed import RayEnvPool

    pool = RayEnvPool(SleepEnv, workers=1, envs_per_worker=1)
    a = pool.lease()
    b = pool.lease()  # none free: a second worker starts
    assert len(ray.handles) == 2 and a is not b
    a.close()
    assert pool.lease() is a


def test_evaluate_with_ray_writes_the_local_results(ray, tmp_path):
    import json

    from agentgym.evaluation import evaluate
    from agentgym.suites import SuiteEntry

    suite = [SuiteEntry("GuessNumber-v0", "val", 4, {})]
    kw = dict(episodes_per_task=2, max_turns=4, chunk_tasks=2, seed=3, report=False)
    evaluate("random", suite, out=tmp_path / "local", **kw)
    evaluate("random", suite, out=tmp_path / "ray", ray="", workers=2, **kw)
    assert ray.handles  # the envs ran in (stand-in) actors
    for name in ("results.json",):
        assert json.loads((tmp_path / "ray" / name).read_text()) == json.loads((tmp_path / "local" / name).read_text())
    lines = [sorted((tmp_path / d / "episodes.jsonl").read_text().splitlines()) for d in ("local", "ray")]
    assert lines[0] == lines[1]


def test_scripted_policies_play_envs_in_actors(ray):
    """The oracle reads the env's state: RayEnv.scripted_action asks the actor."""
    from agentgym.distributed import RayEnvPool
    from agentgym.policies.scripted import OraclePolicy

    kw = dict(tasks=4, group_size=2, max_turns=5, seed=2)
    local = collect("GuessNumber-v0", OraclePolicy(), **kw)
    pool = RayEnvPool("GuessNumber-v0", workers=2, envs_per_worker=4, env_kwargs={"max_turns": 5})
    pooled = collect(pool.envs, OraclePolicy(), **kw)
    assert not any(t.failed for t in pooled)
    assert [t.to_dict() for t in pooled] == [t.to_dict() for t in local]
    assert any(h.calls.count("scripted_action") for h in ray.handles)


def test_a_replacement_is_pinged_before_its_first_reset_and_close_closes_envs(ray):
    from agentgym.distributed import RayEnvPool

    pool = RayEnvPool(SleepEnv, workers=1, envs_per_worker=2, env_kwargs={"delay": 0})
    first = pool.worker_handle(0)
    pool._replace(0, 0, "test")
    pool.envs[0].reset(seed=0)
    new = pool.worker_handle(0)
    assert new is not first and new.calls[:2] == ["ping", "reset"]  # start_timeout covers the start
    pool.envs[1].reset(seed=0)
    assert new.calls.count("ping") == 1  # once per actor
    pool.close()
    assert new.calls[-1] == "close" and new.dead  # envs closed, then the actor stopped
