"""Env workers on Ray, on a local cluster the tests start and stop (ray.init(num_cpus=2)).

Marked slow (a Ray cluster takes seconds to start on a small machine); skipped
with the reason when Ray is not installed (pip install 'agentgym[distributed]')."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'agentgym[distributed]'")

from agentgym.distributed import EnvWorkerDied, RayEnvPool, StepTimeout  # noqa: E402
from agentgym.rollout import collect  # noqa: E402
from tests.core.sleep_env import HashPolicy, SleepEnv  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _cluster(ray_cluster):
    return ray_cluster


def _dump(trajs):
    return [t.to_dict() for t in trajs]


def test_same_trajectories_as_local_envs():
    from agentgym.policies.scripted import OraclePolicy, RandomPolicy

    local = collect("GuessNumber-v0", RandomPolicy(seed=0), tasks=4, group_size=2, max_turns=4, seed=1)
    oracle = collect("GuessNumber-v0", OraclePolicy(), tasks=4, max_turns=4, seed=1)
    with RayEnvPool("GuessNumber-v0", workers=2, envs_per_worker=4, env_kwargs={"max_turns": 4},
                    num_cpus=0.5) as pool:
        remote = collect(pool.envs, RandomPolicy(seed=0), tasks=4, group_size=2, max_turns=4, seed=1)
        # A scripted policy reads the env's state: through RayEnv.scripted_action, in the actor.
        remote_oracle = collect(pool.envs, OraclePolicy(), tasks=4, max_turns=4, seed=1)
    assert _dump(remote) == _dump(local)
    assert {t.env_id for t in remote} == {"agentgym/GuessNumber-v0"}
    assert _dump(remote_oracle) == _dump(oracle) and not any(t.failed for t in remote_oracle)


def test_a_killed_actor_fails_its_episodes_and_is_replaced():
    with RayEnvPool(SleepEnv, workers=2, envs_per_worker=4, env_kwargs={"delay": 0.01}, num_cpus=0.5) as pool:
        victim = pool.worker_handle(0)

        class Killer(HashPolicy):
            def act(self, conversations, tools):
                if len(self.calls) == 1:  # after the first turn, mid-rollout
                    ray.kill(victim, no_restart=True)
                return super().act(conversations, tools)

        trajs = collect(pool.envs, Killer(), tasks=8, max_turns=6)
        failed = [t for t in trajs if t.failed]
        assert failed and len(failed) <= 4 and all("EnvWorkerDied" in t.error for t in failed)
        assert sum(not t.failed for t in trajs) >= 4 and pool.replaced == 1
        # The replacement hosts envs that work: a full run, nothing failed.
        again = collect(pool.envs, HashPolicy(), tasks=8, max_turns=6)
        assert not any(t.failed for t in again)


def test_a_stuck_step_times_out_and_the_run_goes_on():
    with RayEnvPool(SleepEnv, workers=2, envs_per_worker=2, env_kwargs={"delay": 0.0}, num_cpus=0.5,
                    step_timeout=3.0) as pool:
        trajs = collect(pool.envs, HashPolicy(hang=(0,)), tasks=4, max_turns=4)
        stuck = [t for t in trajs if t.failed]
        assert stuck and all(("StepTimeout" in t.error) or ("EnvWorkerDied" in t.error) for t in stuck)
        assert any("StepTimeout" in t.error for t in stuck)
        assert pool.replaced >= 1 and any(not t.failed for t in trajs)


def test_env_errors_keep_their_name_and_step_is_usable_alone():
    with RayEnvPool(SleepEnv, workers=1, envs_per_worker=1, env_kwargs={"delay": 0.0}, num_cpus=0.5) as pool:
        env = pool.envs[0]
        obs, info = env.reset(seed=0, options={"task_index": 3})
        assert obs.startswith("Task 3") and info["tools"]
        assert env.step("guess(n=4)")[4]["action_valid"]
        with pytest.raises(RuntimeError, match="boom") as e:
            env.step("boom")
        assert type(e.value).__name__ == "RuntimeError"
        assert issubclass(EnvWorkerDied, RuntimeError) and issubclass(StepTimeout, RuntimeError)
