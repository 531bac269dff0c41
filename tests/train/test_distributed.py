"""Data-parallel training with accelerate on two CPU processes (gloo)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from agentgym.train.logging import read_metrics
from agentgym.trajectory import load_jsonl

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_accelerate_launch_two_processes_keeps_groups_whole_and_models_in_sync(tmp_path) -> None:
    if shutil.which("accelerate") is None:
        pytest.skip("the accelerate command is not installed (pip install accelerate)")
    out = tmp_path / "ddp"
    cmd = [
        "accelerate", "launch", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "--cpu", str(ROOT / "scripts" / "train.py"),
        "--config", str(ROOT / "configs" / "guess_number_gigpo.toml"), "--out_dir", str(out),
        "--iterations", "2", "--tasks_per_iter", "4", "--group_size", "3", "--max_turns", "2",
        "--max_new_tokens", "8", "--eval_tasks", "4", "--threads", "1", "--save_rollouts", "true",
        "--num_mini_batches", "2", "--no-progress",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "rollout/success" in r]
    assert len(rows) == 2
    for r in rows:
        assert r["rollout/episodes"] == 4 * 3  # summed over both processes
        assert r["dist/param_divergence"] == 0.0  # gradients summed: both hold the same weights
        assert r["train/optimizer_steps"] == 2.0
    ranks = [load_jsonl(out / f"rollouts-rank{r}.jsonl") for r in (0, 1)]
    groups = [Counter(t.group_id for t in trajs) for trajs in ranks]
    assert groups[0] and groups[1]
    assert not set(groups[0]) & set(groups[1])  # no group is split across processes
    assert all(n == 3 for g in groups for n in g.values())
    tasks = [{t.task_id for t in trajs} for trajs in ranks]
    assert not tasks[0] & tasks[1] and len(tasks[0] | tasks[1]) == 8  # 2 iterations x 4 tasks
