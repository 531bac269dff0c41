"""Reinforce-Rej: REINFORCE on the groups that can teach something (Xiong et al., 2025).

"A Minimalist Approach to LLM Reasoning: from Rejection Sampling to Reinforce"
compares GRPO with two simpler baselines and finds that most of GRPO's gain
comes from *discarding the prompts whose samples are all wrong*. Reinforce-Rej
is:

1. **The rejection rule.** For each group (the G episodes of one task): drop it
   when every episode succeeded, and drop it when every episode failed
   (``drop="both"``, the paper's). The paper's ablation also trains with only one
   of the two rules, hence ``drop="all_failure"`` and ``drop="all_success"``.
   The rule reads the episodes' *outcome* (``Trajectory.success``, the paper's
   correctness), not their shaped return, so a reward-shaping penalty that makes
   the returns of an all-failed group differ does not keep it. A group of one
   episode is "all succeeded" or "all failed" and is dropped under ``"both"``.

   The rule is :func:`agentgym.credit.filter_groups` (its "all equal, within
   ``tol``" test and its all-max / all-min split) applied to the outcomes, group
   by group; :func:`reject_groups` then keeps or drops each uniform group as
   ``drop`` says and returns a :class:`RejectDecision` per group for the logs.

2. **The advantage.** ``A_i = R_i - mean_group R`` on every turn of trajectory
   ``i`` (plain REINFORCE with the group mean as baseline; no division by the
   std), :func:`reinforce`. The paper's rewards are 0/1; ours are the (possibly
   shaped) episode returns.

Deviation: the paper also normalises nothing else and uses no KL; the trainer's
``kl_coef``, clipping and token-mean loss apply as for every estimator.

>>> from agentgym.trajectory import Trajectory, Turn
>>> t = lambda g, r: Trajectory("t", g, turns=[Turn("a", "o", r, "s")], metrics={"success": r})
>>> kept, decisions = reject_groups([t("a", 1.0), t("a", 0.0), t("b", 0.0), t("b", 0.0)])
>>> [k.group_id for k in kept], [(d.group_id, d.kept, d.reason) for d in decisions]
(['a', 'a'], [('a', True, 'mixed'), ('b', False, 'all_failure')])
>>> reinforce(kept)
[[0.5], [-0.5]]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agentgym.credit._common import groups
from agentgym.credit.filtering import FilterStats, filter_groups
from agentgym.credit.grpo import episode_advantages
from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory, Turn

__all__ = ["REJECT_RULES", "RejectDecision", "reinforce", "reject_groups", "rejection_stats"]

logger = logging.getLogger(__name__)

RejectRule = Literal["both", "all_failure", "all_success"]
REJECT_RULES: tuple[str, ...] = ("both", "all_failure", "all_success")

Reason = Literal["mixed", "all_success", "all_failure"]


@dataclass(frozen=True)
class RejectDecision:
    """What the rule decided for one group: its size, its successes, whether it
    is kept, and why (``"mixed"``: some succeeded and some failed)."""

    group_id: str
    size: int
    successes: int
    kept: bool
    reason: Reason


def _outcome(traj: Trajectory) -> Trajectory:
    """A stand-in whose return is the episode's outcome (1 success, 0 failure),
    so that :func:`filter_groups`' rule reads outcomes, not shaped returns."""
    ok = float(traj.success)
    return Trajectory(
        traj.task_id, traj.group_id, turns=[Turn("", "", ok, "")], metrics={"success": ok}
    )


def reject_groups(
    trajectories: Sequence[Trajectory], *, drop: RejectRule = "both"
) -> tuple[list[Trajectory], list[RejectDecision]]:
    """Keep the groups the rejection rule keeps (order kept); one decision per group.

    Drops are logged at INFO level with the group ids, so a run's log says which
    tasks were rejected and why.
    """
    if drop not in REJECT_RULES:
        raise ConfigError(
            f"drop={drop!r} is not a rejection rule; use one of {list(REJECT_RULES)} "
            "('both' is the paper's Reinforce-Rej)."
        )
    decisions: list[RejectDecision] = []
    keep: set[int] = set()
    for gid, idx in groups(trajectories).items():
        # filter_groups' rule on the outcomes of this one group: kept <=> mixed.
        kept_here, stats = filter_groups([_outcome(trajectories[i]) for i in idx])
        successes = sum(trajectories[i].success for i in idx)
        if kept_here:
            reason: Reason = "mixed"
        else:
            reason = "all_success" if stats.dropped_all_success else "all_failure"
        kept = (
            reason == "mixed"
            or (drop == "all_failure" and reason == "all_success")
            or (drop == "all_success" and reason == "all_failure")
        )
        decisions.append(RejectDecision(gid, len(idx), successes, kept, reason))
        if kept:
            keep.update(idx)
    dropped = [
        f"{d.group_id} ({d.reason}, {d.successes}/{d.size})" for d in decisions if not d.kept
    ]
    if dropped:
        logger.info(
            "reinforce_rej (drop=%s) dropped %d of %d groups: %s",
            drop,
            len(dropped),
            len(decisions),
            ", ".join(dropped),
        )
    return [t for i, t in enumerate(trajectories) if i in keep], decisions


def rejection_stats(decisions: Sequence[RejectDecision]) -> FilterStats:
    """The decisions as :class:`FilterStats` (the same counts ``filter_groups`` logs).

    >>> rejection_stats([RejectDecision("a", 2, 2, False, "all_success")]).as_metrics("credit/rej_")["credit/rej_groups_dropped"]
    1.0
    """
    dropped = [d for d in decisions if not d.kept]
    return FilterStats(
        len(decisions),
        len(dropped),
        sum(d.reason == "all_success" for d in dropped),
        sum(d.reason == "all_failure" for d in dropped),
    )


def reinforce(trajectories: Sequence[Trajectory]) -> list[list[float]]:
    """``R_i - mean_group R`` (no std division) on every turn of trajectory ``i``.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> ts = [Trajectory("t", "g", turns=[Turn("a", "o", r, "s")] * n) for r, n in ((0.5, 2), (0.0, 1), (0.0, 1))]
    >>> reinforce(ts)
    [[0.6666666666666667, 0.6666666666666667], [-0.3333333333333333], [-0.3333333333333333]]
    """
    adv = episode_advantages(trajectories, "mean")
    return [[a] * len(traj.turns) for a, traj in zip(adv, trajectories, strict=True)]
