"""The training loop: the real script runs, parameters move, resume is exact,
non-finite steps are skipped."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agentgym.train import train
from agentgym.train.logging import read_metrics
from agentgym.train.update import Dist, Sample, build_units, update_policy

ROOT = Path(__file__).resolve().parents[2]


def test_script_runs_two_iterations_and_writes_its_outputs(tmp_path) -> None:
    out = tmp_path / "smoke"
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "--config", str(ROOT / "configs" / "guess_number_gigpo.toml"),
           "--out_dir", str(out), "--iterations", "2", "--tasks_per_iter", "2", "--group_size", "2",
           "--max_turns", "2", "--max_new_tokens", "8", "--eval_tasks", "2", "--threads", "1", "--no-progress"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_metrics(out / "metrics.jsonl")
    train_rows = [r for r in rows if "rollout/success" in r]
    assert [r["iteration"] for r in train_rows] == [0, 1]
    for key in ("credit/adv_std", "loss/pg", "loss/clip_frac", "train/grad_norm", "time/rollout", "time/update",
                "perf/update_tokens_per_s", "credit/step_shared_frac"):
        assert key in train_rows[-1], key
    assert [r["iteration"] for r in rows if "val/success" in r] == [0, 2]  # before training and at the end
    assert (out / "final" / "config.json").is_file() and (out / "config.toml").is_file()
    assert (out / "learning_curve.png").stat().st_size > 1000
    assert list((out / "tb").glob("events.out.tfevents.*"))
    assert json.loads(proc.stdout[proc.stdout.index("{"):])["out_dir"] == str(out)


def test_training_changes_the_parameters(tiny_config) -> None:
    import agentgym

    before = [p.detach().clone() for p in agentgym.load_policy("tiny").model.parameters()]
    # The entropy bonus gives a gradient even where every advantage is 0 (an untrained
    # policy's all-invalid groups; GiGPO gives their uniform step groups no advantage).
    result = train(tiny_config.replace(iterations=1, entropy_coef=0.01))
    after = list(result.policy.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    assert result.metrics[0]["train/optimizer_steps"] == 1.0


def test_reward_weights_shape_the_training_reward_only(tiny_config) -> None:
    # An untrained model's actions are invalid: the env's return is negative, the
    # training return without the penalty part is not; validation reports the env's.
    m = train(tiny_config.replace(iterations=1, reward_weights={"invalid_action": 0.0})).metrics[0]
    assert m["rollout/return"] < 0 and m["rollout/invalid_frac"] > 0
    assert m["rollout/train_return"] == pytest.approx(m["rollout/success"])


def _comparable(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith(("time/", "perf/"))}


def test_killed_and_resumed_run_reproduces_the_uninterrupted_run(tiny_config, tmp_path) -> None:
    cfg = tiny_config.replace(iterations=3, checkpoint_every=1, ppo_epochs=2, num_mini_batches=2, kl_coef=0.05,
                              entropy_coef=0.01, lr_schedule="cosine", warmup_steps=1, eval_every=2)
    full = train(cfg.replace(out_dir=str(tmp_path / "full")))
    killed = cfg.replace(out_dir=str(tmp_path / "killed"))
    first = train(killed, stop_after=2)
    assert [r["iteration"] for r in first.metrics] == [0, 1]
    resumed = train(killed.replace(resume=True))
    assert [r["iteration"] for r in resumed.metrics] == [2]
    assert _comparable(resumed.metrics[0]) == _comparable(full.metrics[2])
    for a, b in zip(resumed.policy.model.parameters(), full.policy.model.parameters(), strict=True):
        assert torch.equal(a, b)
    # A checkpoint directory is itself a loadable policy (bare directory = hf:DIR).
    import agentgym

    ckpt = agentgym.load_policy(str(tmp_path / "full" / "checkpoints" / "iter-000003"))
    assert all(torch.equal(a, b) for a, b in zip(ckpt.model.parameters(), full.policy.model.parameters(), strict=True))
    rows_full = [_comparable(r) for r in read_metrics(tmp_path / "full" / "metrics.jsonl")]
    rows_resumed = [_comparable(r) for r in read_metrics(tmp_path / "killed" / "metrics.jsonl")]
    assert rows_resumed == rows_full  # the log reads as one run


def test_existing_run_needs_resume_or_a_new_directory(tiny_config) -> None:
    from agentgym.errors import ConfigError

    train(tiny_config.replace(iterations=1))
    with pytest.raises(ConfigError, match="--resume true"):
        train(tiny_config.replace(iterations=1))


def test_non_finite_step_is_skipped_not_applied(tiny_config) -> None:
    import agentgym

    policy = agentgym.load_policy("tiny")
    model = policy.model
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    samples = [Sample([1, 2, 3], [4, 5], [-1.0, -1.0], float("nan")), Sample([1, 2], [6], [-1.0], 1.0)]
    m = update_policy(model, opt, sched, build_units(samples), tiny_config, pad_token_id=0, iteration=0, dist=Dist())
    assert m["train/skipped_steps"] == 1.0 and m["train/optimizer_steps"] == 0.0
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), before, strict=True))
    ok = update_policy(model, opt, sched, build_units(samples[1:]), tiny_config, pad_token_id=0, iteration=0, dist=Dist())
    assert ok["train/optimizer_steps"] == 1.0 and math.isfinite(ok["train/grad_norm"])


def test_packed_update_equals_the_per_turn_update(tiny_config) -> None:
    """Turns whose ids chain (full history) are scored as one row per trajectory
    and give the same optimizer step as scoring turn by turn; a turn that does
    not chain (re-tokenised differently) starts a new row."""
    import agentgym

    g = torch.Generator().manual_seed(0)
    system = torch.randint(3, 400, (40,), generator=g).tolist()
    samples = []
    for k, turns in enumerate((3, 2, 4)):
        seq = system + torch.randint(3, 400, (6,), generator=g).tolist()
        for t in range(turns):
            r = torch.randint(3, 400, (3 + t,), generator=g).tolist()
            samples.append(Sample(list(seq), r, [-1.0] * len(r), float(k - t) / 2, trajectory=k))
            seq += r + torch.randint(3, 400, (5,), generator=g).tolist()
    samples[-1].prompt_ids[45] = 2  # breaks the last trajectory's chain before its last turn
    weights = []
    for pack in (False, True):
        model = agentgym.load_policy("tiny").model
        opt = torch.optim.SGD(model.parameters(), lr=1.0)  # Adam's first step would amplify float noise to +-lr
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
        units = build_units(samples, pack=pack)
        assert [len(u) for u in units] == ([3, 2, 3, 1] if pack else [1] * 9)
        update_policy(model, opt, sched, units, tiny_config.replace(micro_batch_size=2), pad_token_id=0,
                      iteration=0, dist=Dist())
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    start = torch.cat([p.detach().flatten() for p in agentgym.load_policy("tiny").model.parameters()])
    steps = [w - start for w in weights]
    assert steps[0].abs().max() > 1e-3  # a real step was taken
    assert torch.allclose(steps[0], steps[1], atol=1e-5 * float(steps[0].abs().max()))
