"""Data-parallel training with accelerate on two CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


@pytest.mark.slow
def test_ddp_update_with_unequal_shares_equals_the_one_process_update(tmp_path) -> None:
    """Two processes with 4 and 1 rows (so rank 1 pads with zero-loss micro-steps)
    take the same step as one process over all 5 rows: DDP's all-reduce plus the
    global token count give the token-mean gradient of the whole batch."""
    out = tmp_path / "weights.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           str(ROOT / "tests" / "train" / "ddp_update_worker.py"), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    import torch

    w = torch.load(out)
    start = [p.detach() for p in __import__("agentgym").load_policy("tiny").model.parameters()]
    moved = max(float((s - a).abs().max()) for s, a in zip(w["single"], start, strict=True))
    assert moved > 1e-3  # a real step
    for a, b in zip(w["ddp"], w["single"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_reductions_run_on_the_accelerator_device() -> None:
    """NCCL reduces device tensors only: every collective of Dist must move its
    tensor to accelerator.device first (checked with a fake accelerator)."""
    import torch

    from agentgym.train.optim import Dist

    seen = []

    class FakeAccelerator:
        num_processes, process_index, device = 2, 0, torch.device("meta")

        def reduce(self, t, reduction):
            seen.append(t.device.type)
            return torch.ones(t.shape, dtype=t.dtype, device="cpu") * 2

        def gather(self, t):
            seen.append(t.device.type)
            return torch.tensor([1.0, 3.0], dtype=torch.float64)

    d = Dist(FakeAccelerator())
    assert d.sum_floats({"a": 1.0, "b": 5.0}) == {"a": 2.0, "b": 2.0}
    assert d.max(3.0) == 3.0
    assert seen == ["meta", "meta"]


@pytest.mark.parametrize("kind", ["FSDP", "DEEPSPEED"])
def test_sharded_modes_are_refused_with_the_reason(kind, tiny_config) -> None:
    from accelerate.utils import DistributedType

    from agentgym.errors import ConfigError
    from agentgym.train.run import TrainingRun

    class ShardedAccelerator:
        distributed_type = DistributedType[kind]
        num_processes, process_index, is_main_process = 1, 0, True

        def __init__(self) -> None:
            import torch

            self.device = torch.device("cpu")

    with pytest.raises(ConfigError, match=f"{kind}.*not support.*--multi_gpu"):
        TrainingRun.create(tiny_config, ShardedAccelerator())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_sft_on_two_processes_takes_the_one_process_steps(tmp_path) -> None:
    """`accelerate launch --num_processes 2 scripts/sft.py`: each step's rows are
    dealt out to the two processes (3 rows per step: 2 + 1, so one process pads
    with a zero-loss micro-step), DDP sums the gradients, and the result is the
    model one process trains on the same data."""
    if shutil.which("accelerate") is None:
        pytest.skip("the accelerate command is not installed (pip install accelerate)")
    import torch
    from safetensors.torch import load_file

    from agentgym.train import SFTConfig
    from agentgym.train.sft import sft

    flags = {"policy": "tiny", "env": "GuessNumber-v0", "tasks": 10, "max_turns": 6, "epochs": 2,
             "batch_size": 3, "micro_batch_size": 1, "lr": 1e-3, "threads": 1, "from_policy": "oracle"}
    cmd = ["accelerate", "launch", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "--main_process_port", str(_free_port()), "--cpu",
           str(ROOT / "scripts" / "sft.py"), "--out_dir", str(tmp_path / "ddp"), "--no-progress"]
    for k, v in flags.items():
        cmd += [f"--{k}", str(v)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.count('"out_dir"') == 1  # one report: the main process's
    single = sft(SFTConfig(**flags, out_dir=str(tmp_path / "one")))
    ddp_weights = load_file(tmp_path / "ddp" / "model.safetensors")
    one_weights = load_file(tmp_path / "one" / "model.safetensors")
    assert ddp_weights.keys() == one_weights.keys()
    for name in one_weights:
        torch.testing.assert_close(ddp_weights[name], one_weights[name], rtol=1e-4, atol=1e-5, msg=name)
    ddp_metrics = [json.loads(line) for line in (tmp_path / "ddp" / "sft_metrics.jsonl").read_text().splitlines()]
    assert [m["sft/tokens"] for m in ddp_metrics] == [m["sft/tokens"] for m in single.metrics]
    assert [m["sft/nll"] for m in ddp_metrics] == pytest.approx([m["sft/nll"] for m in single.metrics], rel=1e-5)
