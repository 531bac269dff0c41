"""Building a run's parts from its config: devices, the policy (optionally with
LoRA adapters) and the reference for the KL (the optimizer and the schedule:
:mod:`agentgym.train.optim`).

Kept apart from :mod:`agentgym.train.loop` so that the loop reads as the
algorithm, not as plumbing.
"""

from __future__ import annotations

import copy
import logging
import random
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch

from agentgym.errors import ConfigError
from agentgym.policy import load_policy
from agentgym.tasks import derive_seed
from agentgym.train.config import SFTConfig, TrainConfig

__all__ = ["use_cpu", "set_threads", "seed_everything", "build_policy", "apply_lora", "Reference"]

logger = logging.getLogger(__name__)


def use_cpu(config: TrainConfig | SFTConfig) -> bool:
    """CPU only when asked: ``cpu = true``, or ``accelerate launch --cpu`` (which
    exports ``ACCELERATE_USE_CPU``). Without it, accelerate does not set up a
    multi-process CPU group on a machine without accelerators."""
    import os

    return config.cpu or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")


def set_threads(threads: int) -> None:
    """Pin torch's CPU thread count. Tiny models gain most from 1: their matrix
    products are too small to split, and on a busy machine a second thread that
    is descheduled makes every parallel region wait (measured: 15x slower)."""
    if threads > 0:
        torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_policy(config: TrainConfig, *, rank: int = 0, device: torch.device | None = None) -> Any:
    """Load the policy to train from ``config.policy`` and set its sampling seed
    per process (so processes sample different rollouts)."""
    policy = load_policy(config.policy, temperature=config.temperature, max_new_tokens=config.max_new_tokens)
    for name in ("model", "tokenizer", "response_ids"):
        if not hasattr(policy, name):
            raise ConfigError(
                f"policy {config.policy!r} ({type(policy).__name__}) has no .{name}: training needs a local "
                "model policy such as 'tiny' or 'hf:PATH'."
            )
    if device is not None:
        policy.model.to(device)
    if hasattr(policy, "seed"):
        # HFPolicy seeds its own sampling generator lazily from .seed.
        policy.seed = derive_seed("train-sampling", config.seed, rank) % 2**62
    return policy


def apply_lora(policy: Any, config: TrainConfig) -> Any:
    """Wrap ``policy.model`` with LoRA adapters (peft); only they are trained."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as e:  # pragma: no cover - peft is in the train extra
        raise ConfigError("lora=true needs peft: pip install 'agentgym[train]'.") from e
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        policy.model = get_peft_model(policy.model, lora)
    except ValueError as e:
        raise ConfigError(
            f"LoRA could not wrap the model ({e}); set lora_target_modules to module names it has "
            "(e.g. 'q_proj,v_proj' for Llama-style models)."
        ) from e
    return policy.model


class Reference:
    """The reference policy of the KL term.

    With LoRA it is the base model with the adapters switched off (no second
    copy); with full fine-tuning, a frozen copy of the initial weights, made only
    when the KL is on (``kl_coef > 0``).
    """

    def __init__(self, model: Any, *, lora: bool, needed: bool) -> None:
        self.lora = lora
        self.model: Any = None
        if needed and not lora:
            self.model = copy.deepcopy(model).eval()
            for p in self.model.parameters():
                p.requires_grad_(False)
        self._trained = model
        self.needed = needed

    def context(self) -> tuple[Any, AbstractContextManager[Any]]:
        """``(model, context)``: run the model inside the context to get reference log-probs."""
        if self.lora:
            return self._trained, self._trained.disable_adapter()
        return self.model, nullcontext()
