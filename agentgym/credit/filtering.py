"""Group filtering: drop groups that carry no learning signal.

A group whose episode returns are all equal gives every trajectory the same
episode-level advantage (zero after centring); DAPO's dynamic sampling and
Reinforce-Rej drop such groups so they neither dilute the token mean nor cost
a backward pass. With GiGPO a zero-variance group can still carry step-level
signal, which is why filtering is an option, not a rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agentgym.credit._common import groups
from agentgym.trajectory import Trajectory

__all__ = ["FilterStats", "filter_groups"]


@dataclass(frozen=True)
class FilterStats:
    """How many groups a filter saw and dropped (for the logs)."""

    groups: int
    dropped: int
    dropped_all_success: int
    dropped_all_failure: int

    def as_metrics(self, prefix: str = "credit/") -> dict[str, float]:
        return {
            f"{prefix}groups": float(self.groups),
            f"{prefix}groups_dropped": float(self.dropped),
            f"{prefix}groups_dropped_all_max": float(self.dropped_all_success),
            f"{prefix}groups_dropped_all_min": float(self.dropped_all_failure),
        }


def filter_groups(
    trajectories: Sequence[Trajectory], *, tol: float = 1e-8
) -> tuple[list[Trajectory], FilterStats]:
    """Keep only groups whose episode returns are not all equal (within ``tol``).

    Singleton groups are dropped too (nothing to compare with). Order is kept.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> t = lambda g, r: Trajectory("t", g, turns=[Turn("a", "o", r, "s")])
    >>> kept, stats = filter_groups([t("a", 1.0), t("a", 0.0), t("b", 1.0), t("b", 1.0)])
    >>> [k.group_id for k in kept], stats.dropped
    (['a', 'a'], 1)
    """
    keep: set[int] = set()
    dropped = hi = lo = 0
    grouped = groups(trajectories)
    for idx in grouped.values():
        returns = [trajectories[i].episode_return for i in idx]
        if max(returns) - min(returns) > tol:
            keep.update(idx)
            continue
        dropped += 1
        # Tell "solved by every rollout" from "failed by every rollout" in the logs.
        if any(trajectories[i].success for i in idx):
            hi += 1
        else:
            lo += 1
    kept = [traj for i, traj in enumerate(trajectories) if i in keep]
    return kept, FilterStats(len(grouped), dropped, hi, lo)
