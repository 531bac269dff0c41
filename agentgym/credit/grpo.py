"""GRPO: the group-relative episode advantage (Shao et al., 2024, DeepSeekMath).

Each trajectory's return ``R`` is compared with the other returns of its group:
``A = (R - mean) / (std + 1e-6)`` with a Bessel-corrected std (``norm="mean_std"``)
or ``A = R - mean`` (``norm="mean"``, Dr. GRPO's choice). Every turn of the
trajectory gets the same ``A``.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.credit._common import Norm, check_norm, groups, normalize
from agentgym.trajectory import Trajectory

__all__ = ["grpo", "episode_advantages"]


def episode_advantages(trajectories: Sequence[Trajectory], norm: Norm = "mean_std") -> list[float]:
    """One group-normalised episode return per trajectory, in input order."""
    check_norm(norm)
    out = [0.0] * len(trajectories)
    for idx in groups(trajectories).values():
        for i, a in zip(
            idx, normalize([trajectories[i].episode_return for i in idx], norm), strict=True
        ):
            out[i] = a
    return out


def grpo(trajectories: Sequence[Trajectory], *, norm: Norm = "mean_std") -> list[list[float]]:
    """Per-turn GRPO advantages (the episode advantage, repeated on every turn).

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> win = Trajectory("t", "g", turns=[Turn("a", "o", 0.0, "s"), Turn("b", "o", 1.0, "s2")])
    >>> lose = Trajectory("t", "g", turns=[Turn("a", "o", 0.0, "s")])
    >>> grpo([win, lose], norm="mean")
    [[0.5, 0.5], [-0.5]]
    """
    adv = episode_advantages(trajectories, norm)
    return [[a] * len(traj.turns) for a, traj in zip(adv, trajectories, strict=True)]
