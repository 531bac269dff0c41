"""Training with its envs in Ray actors (TrainConfig.env_workers) takes the same
steps as training with them in the trainer process (issue 18, item 4)."""

from __future__ import annotations

import dataclasses

import pytest

from agentgym.train import TrainConfig, train
from agentgym.train.logging import read_metrics
from agentgym.trajectory import load_jsonl

pytestmark = pytest.mark.slow


def _run(cfg: TrainConfig) -> tuple[list, list]:
    train(cfg)
    rows = [{k: v for k, v in r.items() if not k.startswith(("time/", "perf/"))}
            for r in read_metrics(f"{cfg.out_dir}/metrics.jsonl")]
    episodes = [(t.task_id, [(u.action, u.observation, u.reward) for u in t.turns], t.metrics)
                for t in load_jsonl(f"{cfg.out_dir}/rollouts.jsonl")]
    return rows, episodes


def test_env_workers_give_the_local_run(ray_cluster, tmp_path, monkeypatch) -> None:
    import agentgym.distributed

    pools: list = []

    class Recorded(agentgym.distributed.RayEnvPool):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            pools.append(self)
            self.closed = False

        def close(self) -> None:
            super().close()
            self.closed = True

    monkeypatch.setattr(agentgym.distributed, "RayEnvPool", Recorded)
    cfg = TrainConfig(policy="tiny", env="GuessNumber-v0", env_kwargs={"difficulty": "easy"}, iterations=2,
                      tasks_per_iter=2, group_size=2, max_turns=3, max_new_tokens=8, eval_tasks=3, eval_every=1,
                      checkpoint_every=0, lr=1e-2, tensorboard=False, threads=1, save_rollouts=True)
    local = _run(dataclasses.replace(cfg, out_dir=str(tmp_path / "local")))
    assert not pools
    remote = _run(dataclasses.replace(cfg, out_dir=str(tmp_path / "ray"), env_workers=2))
    assert len(pools) == 1 and pools[0].closed  # one pool for rollouts and validation, closed by train()
    assert len(pools[0].envs) >= 4  # room for a whole iteration's episodes (2 tasks x 2) at once
    assert remote[1] == local[1]  # the same episodes, turn by turn
    assert remote[0] == local[0]  # and the same metrics, validation included
