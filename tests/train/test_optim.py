"""One optimizer step for RL and SFT: a step without tokens, or with a
non-finite loss, changes no weight and no optimizer state."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.train.optim import optimizer_step
from agentgym.train.update import Dist, Sample, build_units, update_policy


def _adamw_with_momentum() -> tuple[torch.nn.Linear, torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(layer.parameters(), lr=0.1, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (s + 1))
    layer(torch.ones(2, 4)).sum().backward()
    optimizer_step(list(layer.parameters()), opt, sched, tokens=2, finite=True, max_grad_norm=1.0)
    return layer, opt, sched


def _snapshot(layer: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[list[torch.Tensor], list[float]]:
    steps = [float(s["step"]) for s in opt.state.values()]
    return [p.detach().clone() for p in layer.parameters()], steps


@pytest.mark.parametrize("tokens, finite, reason", [(0, True, "empty"), (5, False, "non_finite")])
def test_a_skipped_step_moves_no_weight_and_no_schedule(tokens, finite, reason) -> None:
    layer, opt, sched = _adamw_with_momentum()  # AdamW now has momentum: a zero-gradient step would move
    weights, steps = _snapshot(layer, opt)
    lr = opt.param_groups[0]["lr"]
    outcome = optimizer_step(list(layer.parameters()), opt, sched, tokens=tokens, finite=finite, max_grad_norm=1.0)
    assert not outcome.applied and outcome.reason == reason
    after, after_steps = _snapshot(layer, opt)
    assert all(torch.equal(a, b) for a, b in zip(after, weights, strict=True))
    assert after_steps == steps and opt.param_groups[0]["lr"] == lr
    assert all(p.grad is None for p in layer.parameters())  # gradients are cleared either way


def test_an_applied_step_clips_and_advances_the_schedule() -> None:
    layer, opt, sched = _adamw_with_momentum()
    weights, _ = _snapshot(layer, opt)
    (layer(torch.ones(2, 4)).sum() * 100).backward()
    outcome = optimizer_step(list(layer.parameters()), opt, sched, tokens=2, finite=True, max_grad_norm=1.0)
    assert outcome.applied and outcome.grad_norm > 1.0
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 3)
    assert any(not torch.equal(a, b) for a, b in zip(layer.parameters(), weights, strict=True))


def test_update_with_no_rows_leaves_the_weights_alone(tiny_config) -> None:
    """Every group filtered out (or every episode failed): the update has no
    rows; AdamW, which already has momentum, must not step."""
    import agentgym

    model = agentgym.load_policy("tiny").model
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    config = tiny_config.replace(num_mini_batches=2)
    first = update_policy(model, opt, sched, build_units([Sample([1, 2, 3], [4, 5], [-1.0, -1.0], 1.0)]), config,
                          pad_token_id=0, iteration=0, dist=Dist())
    assert first["train/optimizer_steps"] == 1.0 and first["train/empty_steps"] == 1.0  # one mini-batch was empty
    before = [p.detach().clone() for p in model.parameters()]
    m = update_policy(model, opt, sched, [], config, pad_token_id=0, iteration=1, dist=Dist())
    assert m["train/optimizer_steps"] == 0.0
    assert m["train/empty_steps"] == m["train/skipped_steps"] == 2.0
    assert math.isnan(m["train/grad_norm"])
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), before, strict=True))


def test_sft_takes_its_steps_through_the_shared_optimizer_step(monkeypatch, tmp_path) -> None:
    import importlib

    from agentgym.train.config import SFTConfig

    sft_module = importlib.import_module("agentgym.train.sft")

    calls = []
    real = sft_module.optimizer_step

    def spy(*args, **kwargs):
        outcome = real(*args, **kwargs)
        calls.append((kwargs["tokens"], outcome.reason))
        return outcome

    monkeypatch.setattr(sft_module, "optimizer_step", spy)
    config = SFTConfig(env="GuessNumber-v0", policy="tiny", tasks=6, epochs=1, batch_size=4, out_dir=str(tmp_path / "sft"),
                       env_kwargs={"difficulty": "easy"}, threads=1)
    result = sft_module.sft(config)
    assert len(calls) >= 2  # 6 demonstrations in batches of 4
    assert all(tokens > 0 and reason == "applied" for tokens, reason in calls)
    assert result.metrics[0]["sft/steps"] == float(len(calls))
