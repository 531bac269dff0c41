"""Helpers shared by the estimators: groups, normalisation, discounting.

A *group* is the set of trajectories that share a ``group_id`` (the G episodes
of one task in a rollout). Every estimator returns one advantage per turn,
trajectories and turns in input order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory

Norm = Literal["mean_std", "mean"]
NORMS: tuple[str, ...] = ("mean_std", "mean")
EPS = 1e-6

__all__ = ["EPS", "NORMS", "Norm", "groups", "normalize", "discounted_returns", "check_norm", "std"]


def check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ConfigError(
            f"norm={norm!r} is not known; use 'mean_std' (z-score) or 'mean' (baseline only)."
        )


def groups(trajectories: Sequence[Trajectory]) -> dict[str, list[int]]:
    """Indices of the trajectories of each group, groups in first-seen order.

    >>> from agentgym.trajectory import Trajectory
    >>> groups([Trajectory("t", "a"), Trajectory("t", "b"), Trajectory("t", "a")])
    {'a': [0, 2], 'b': [1]}
    """
    out: dict[str, list[int]] = {}
    for i, traj in enumerate(trajectories):
        out.setdefault(traj.group_id, []).append(i)
    return out


def std(values: Sequence[float]) -> float:
    """Bessel-corrected standard deviation (as ``torch.std``); 0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


def normalize(values: Sequence[float], norm: Norm = "mean_std") -> list[float]:
    """``(x - mean) / (std + 1e-6)`` (``"mean_std"``) or ``x - mean`` (``"mean"``).

    A single value, or values that are all equal, normalise to zeros.

    >>> normalize([1.0, 0.0, 0.0, 1.0], "mean")
    [0.5, -0.5, -0.5, 0.5]
    """
    if not values:
        return []
    m = sum(values) / len(values)
    centred = [v - m for v in values]
    if norm == "mean":
        return centred
    s = std(values)
    return [c / (s + EPS) for c in centred]


def discounted_returns(rewards: Sequence[float], gamma: float) -> list[float]:
    """``G_t = r_t + gamma * G_{t+1}``, computed backwards.

    >>> discounted_returns([0.0, 0.0, 1.0], 0.5)
    [0.25, 0.5, 1.0]
    """
    out = [0.0] * len(rewards)
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        out[t] = acc
    return out
