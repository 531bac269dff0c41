"""Training: the RL loop (``train``), its config (``TrainConfig``), the losses
and behaviour cloning (``sft`` with ``SFTConfig``).

>>> from agentgym.train import TrainConfig, train
>>> cfg = TrainConfig.from_toml("configs/guess_number_gigpo.toml")      # doctest: +SKIP
>>> result = train(cfg.replace(iterations=2))                           # doctest: +SKIP

Importing this package imports torch.
"""

from __future__ import annotations

from agentgym.train.config import SFTConfig, TrainConfig
from agentgym.train.loop import TrainResult, rollout_metrics, train
from agentgym.train.loss import kl_k3, policy_loss, sft_loss
from agentgym.train.sft import (  # the function (its module: sys.modules["agentgym.train.sft"])
           SFTResult,
           sft,
)

__all__ = ["SFTConfig", "SFTResult", "TrainConfig", "TrainResult", "kl_k3", "policy_loss", "rollout_metrics", "sft",
           "sft_loss", "train"]
