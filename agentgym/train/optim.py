"""The optimizer side of training, shared by RL (:mod:`agentgym.train.update`)
and behaviour cloning (:mod:`agentgym.train.sft`): building AdamW and the
learning-rate schedule, the collectives across processes, and **one optimizer
step** with one rule for when a step is skipped.

The rule (:func:`optimizer_step`):

* **no tokens** in the step, summed over every process (every group was
  filtered out, every episode failed, a mini-batch came out empty): nothing is
  applied. AdamW would otherwise still move every weight, through its momentum
  and its weight decay, on a zero gradient.
* **non-finite** loss on any process, or a non-finite gradient norm: nothing is
  applied (a warning is logged).
* otherwise the gradients are clipped to ``max_grad_norm`` and applied.

The learning-rate schedule advances with every *applied* step: warm-up exists
to protect the first real updates, and a skipped step changed no weight.
(A schedule that also counted skipped steps would let a run of empty
iterations eat the warm-up.)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import torch

from agentgym.errors import ConfigError

__all__ = ["Dist", "StepOutcome", "build_optimizer", "build_scheduler", "grad_sync", "optimizer_step", "zero_micro_step"]

logger = logging.getLogger(__name__)


class Dist:
    """The few collective operations the trainer needs (no-ops on one process).

    Reductions run on the accelerator's device: NCCL, which ``accelerate`` sets
    up on GPUs, has no CPU tensors. Results come back on the CPU."""

    def __init__(self, accelerator: Any = None) -> None:
        self.acc = accelerator
        self.world = int(getattr(accelerator, "num_processes", 1) or 1)
        self.rank = int(getattr(accelerator, "process_index", 0) or 0)
        self.device = getattr(accelerator, "device", None) or torch.device("cpu")

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over processes (a CPU tensor in, a CPU tensor out)."""
        if self.world == 1:
            return t
        return self.acc.reduce(t.to(self.device), reduction="sum").cpu()

    def max(self, value: float) -> float:
        """The largest of one number per process."""
        if self.world == 1:
            return value
        every = self.acc.gather(torch.tensor([float(value)], dtype=torch.float64, device=self.device))  # (world,)
        return float(every.max())

    def divergence(self, params: Sequence[torch.Tensor]) -> float:
        """Spread of a weight checksum across processes: 0 when they hold the same model."""
        checksum = torch.stack([p.detach().double().sum() for p in params]).sum().reshape(1)
        every = self.acc.gather(checksum.to(self.device))  # (world,)
        return float(every.max() - every.min())

    def sum_floats(self, values: dict[str, float]) -> dict[str, float]:
        keys = sorted(values)
        t = self.sum(torch.tensor([float(values[k]) for k in keys], dtype=torch.float64))
        return {k: float(v) for k, v in zip(keys, t.tolist(), strict=True)}


@dataclass(frozen=True)
class StepOutcome:
    """What :func:`optimizer_step` did: ``applied`` or why not (``reason``),
    and the gradient norm before clipping (NaN when not computed)."""

    applied: bool
    reason: Literal["applied", "empty", "non_finite"]
    grad_norm: float


def optimizer_step(
    params: Sequence[torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    tokens: float,
    finite: bool,
    max_grad_norm: float,
    dist: Dist | None = None,
) -> StepOutcome:
    """Apply the accumulated gradients of one step, or skip it (module docstring).

    Args:
        params: The trained parameters (their ``.grad`` already summed over
            micro-batches and, with data parallelism, over processes).
        tokens: The step's token count summed over every process.
        finite: Whether every micro-batch loss of *this* process was finite.
        max_grad_norm: Clip the gradient norm to this (``0``: no clipping).
        dist: The process group; ``finite`` is agreed across it.
    """
    dist = dist or Dist()
    if tokens <= 0:
        outcome = StepOutcome(False, "empty", float("nan"))
    else:
        if dist.world > 1:
            finite = dist.sum(torch.tensor([0.0 if finite else 1.0])).item() == 0
        limit = max_grad_norm if max_grad_norm > 0 else float("inf")
        norm = float(torch.nn.utils.clip_grad_norm_(params, limit)) if params else 0.0
        if finite and math.isfinite(norm):
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            outcome = StepOutcome(True, "applied", norm)
        else:
            logger.warning("non-finite loss or gradient (norm %s): optimizer step skipped", norm)
            outcome = StepOutcome(False, "non_finite", norm)
    optimizer.zero_grad(set_to_none=True)
    return outcome


def grad_sync(model: Any, *, last: bool) -> Any:
    """Context for one micro-step's backward: DDP all-reduces gradients in the
    backward of a step's last micro-step only; the others accumulate locally
    (``no_sync``). A plain model (one process) needs nothing."""
    no_sync = getattr(model, "no_sync", None)
    return nullcontext() if last or no_sync is None else no_sync()


def zero_micro_step(model: Any, pad: int) -> None:
    """A forward and backward that adds nothing to any gradient: a process with
    fewer micro-batches than the others runs it so that every process joins the
    same gradient all-reduces (DDP requires as many backwards on every process)."""
    device = next(model.parameters()).device
    ids = torch.full((1, 2), pad, dtype=torch.long, device=device)
    out = model(input_ids=ids, use_cache=False)
    logits = out.logits if hasattr(out, "logits") else out[0]
    (logits.sum() * 0.0).backward()


def build_optimizer(model: Any, config: Any) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters (``lr``, ``weight_decay`` and, where
    the config has them, ``adam_betas`` from ``config``)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters (all requires_grad=False).")
    betas = tuple(getattr(config, "adam_betas", (0.9, 0.999)))
    return torch.optim.AdamW(params, lr=config.lr, betas=betas, weight_decay=config.weight_decay)  # type: ignore[arg-type]


def build_scheduler(optimizer: torch.optim.Optimizer, config: Any, total_steps: int | None = None) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then constant, linear decay to 0 or cosine decay to 0.

    ``config`` needs ``lr_schedule`` and ``warmup_steps`` (a ``TrainConfig`` or
    an ``SFTConfig``); ``total_steps`` defaults to a ``TrainConfig``'s
    ``iterations x ppo_epochs x num_mini_batches``."""
    if total_steps is None:
        total_steps = config.iterations * config.ppo_epochs * config.num_mini_batches
    total = max(1, total_steps)
    warm = config.warmup_steps

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        if config.lr_schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warm) / max(1, total - warm))
        if config.lr_schedule == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
