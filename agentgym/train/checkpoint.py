"""Checkpoints that resume a run exactly.

A checkpoint directory ``out_dir/checkpoints/iter-000010/`` holds:

* the trained policy itself (model, tokenizer, sampling options), so the
  directory loads as a policy: ``--policy runs/x/checkpoints/iter-000010`` or
  ``hf:DIR`` (LoRA runs save the merged weights, so it stands alone);
* ``trainer_state.pt`` — model weights as trained (LoRA: the wrapped model),
  optimizer, scheduler, every RNG state (Python, NumPy, torch, the policy's own
  sampling generator), the iteration and the data position.

Written to a temporary directory and renamed, so a run killed while saving
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import logging
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agentgym.errors import ConfigError

__all__ = [
    "TrainState", "save_checkpoint", "load_checkpoint", "latest_checkpoint", "prune_checkpoints",
    "rng_state", "set_rng_state", "save_rank_rng", "load_rank_rng",
]

logger = logging.getLogger(__name__)

STATE_FILE = "trainer_state.pt"


@dataclass
class TrainState:
    """Where a run is: the next iteration to run, the next train task index,
    optimizer steps taken and steps skipped (non-finite), and the environment
    steps taken (methods compare at equal environment steps); the curriculum's
    results, EPO's entropy history and SPA's progress estimator. A checkpoint
    written before a field existed resumes with its default."""

    iteration: int = 0
    task_cursor: int = 0
    optimizer_steps: int = 0
    skipped_steps: int = 0
    log_lines: int = 0  # rows of metrics.jsonl written up to this point
    env_steps: int = 0  # environment steps (turns) of all training rollouts so far, all processes
    curriculum: dict[str, Any] = field(default_factory=dict)  # the curriculum's task results (agentgym.train.curriculum)
    # EPO: one entry per iteration, the mean step entropy at each turn index (None: no turn there)
    epo_history: list[list[float | None]] = field(default_factory=list)
    spa: dict[str, Any] = field(default_factory=dict)  # SPA: the progress estimator's weights and optimizer state


def rng_state(policy: Any = None) -> dict[str, Any]:
    """Every random state a run consumes (the policy's sampling generator too)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    # HFPolicy samples from its own torch.Generator (created lazily); save it.
    gen = getattr(policy, "_generator", None)
    if isinstance(gen, torch.Generator):
        state["policy"] = gen.get_state()
    return state


def set_rng_state(state: dict[str, Any], policy: Any = None) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "policy" in state and policy is not None and hasattr(policy, "_rng"):
        gen = policy._rng(next(policy.model.parameters()).device)
        gen.set_state(state["policy"])


def save_checkpoint(
    directory: str | Path,
    *,
    policy: Any,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    state: TrainState,
    export: Any = None,
) -> Path:
    """Save everything needed to resume, next to the loadable policy.

    ``export`` is a callable ``(dir) -> None`` that writes the loadable policy
    (the trainer passes one that merges LoRA adapters first).
    """
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (export or policy.save_pretrained)(tmp)
    torch.save(
        {
            # Trainable weights only: everything with full fine-tuning, the adapters with LoRA.
            "model": {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng_state(policy),
            "state": asdict(state),
        },
        tmp / STATE_FILE,
    )
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    logger.info("checkpoint saved: %s", directory)
    return directory


def load_checkpoint(directory: str | Path, *, policy: Any, model: Any, optimizer: Any, scheduler: Any) -> TrainState:
    """Restore a checkpoint in place; returns the run's position."""
    blob = torch.load(Path(directory) / STATE_FILE, map_location="cpu", weights_only=False)
    missing = {n for n, p in model.named_parameters() if p.requires_grad} - set(blob["model"])
    if missing:
        raise ConfigError(
            f"checkpoint {directory} lacks {len(missing)} trainable tensors (e.g. {sorted(missing)[0]!r}): "
            "it was written by a run with another model or LoRA setting; resume with the same config."
        )
    model.load_state_dict(blob["model"], strict=False)
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    set_rng_state(blob["rng"], policy)
    logger.info("resumed from %s", directory)
    return TrainState(**blob["state"])


def save_rank_rng(directory: str | Path, rank: int, policy: Any) -> None:
    """Other processes' RNG states (each samples with its own generator)."""
    torch.save(rng_state(policy), Path(directory) / f"rng-rank{rank}.pt")


def load_rank_rng(directory: str | Path, rank: int, policy: Any) -> None:
    path = Path(directory) / f"rng-rank{rank}.pt"
    if path.is_file():
        set_rng_state(torch.load(path, map_location="cpu", weights_only=False), policy)


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    """The newest complete checkpoint under ``out_dir/checkpoints`` (or None)."""
    root = Path(out_dir) / "checkpoints"
    done = sorted(p for p in root.glob("iter-*") if not p.name.endswith(".tmp") and (p / STATE_FILE).is_file())
    return done[-1] if done else None


def prune_checkpoints(out_dir: str | Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints."""
    root = Path(out_dir) / "checkpoints"
    done = sorted(p for p in root.glob("iter-*") if not p.name.endswith(".tmp"))
    for old in done[: max(0, len(done) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
