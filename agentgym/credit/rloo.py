"""RLOO: REINFORCE with a leave-one-out baseline (Ahmadian et al., 2024).

``A_i = R_i - mean_{j != i} R_j`` over the other trajectories of the group, so
the baseline does not depend on the sample it scores (an unbiased estimator).
A group of one gets ``A = 0`` (no baseline exists). Every turn gets ``A_i``.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.credit._common import groups
from agentgym.trajectory import Trajectory

__all__ = ["rloo"]


def rloo(trajectories: Sequence[Trajectory]) -> list[list[float]]:
    """Per-turn RLOO advantages.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> ts = [Trajectory("t", "g", turns=[Turn("a", "o", r, "s")]) for r in (1.0, 0.0, 0.0)]
    >>> rloo(ts)
    [[1.0], [-0.5], [-0.5]]
    """
    adv = [0.0] * len(trajectories)
    for idx in groups(trajectories).values():
        n = len(idx)
        if n < 2:
            continue
        returns = [trajectories[i].episode_return for i in idx]
        total = sum(returns)
        for i, r in zip(idx, returns, strict=True):
            adv[i] = r - (total - r) / (n - 1)
    return [[a] * len(traj.turns) for a, traj in zip(adv, trajectories, strict=True)]
