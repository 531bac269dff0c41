"""Credit assignment: one advantage per turn from a batch of trajectories.

Each estimator is a pure function ``(trajectories, **params) -> list[list[float]]``
(trajectories and turns in input order) in its own module; groups are the
trajectories that share a ``group_id``.

====================  ======================================================================
``grpo``              episode return normalised within the group, on every turn
``rloo``              episode return minus the leave-one-out mean of the group
``gigpo``             GRPO's episode advantage + omega * step advantage over anchor-state
                      groups of discounted returns (``rewards="igpo"``: over IGPO's
                      dense rewards, the GiGPO + IGPO combination)
``igpo``              information-gain turn rewards + outcome, z-normalised separately,
                      discounted; needs :func:`score_information_gain` first
``reinforce_rej``     return minus the group mean, on the groups that :func:`reject_groups`
                      keeps (neither all solved nor all failed)
``raft``              weight 1 on the turns of successful episodes (:func:`raft_select`);
                      the trainer takes an SFT step on them
``stratified``        ``alpha`` * return normalised within its stratum (same tool-call
                      counts, or another structural key) + ``(1 - alpha)`` * GRPO's
``stratified_gigpo``  GiGPO with that blend as its episode level (step level unchanged)
``spa``               turn reward = a progress estimator's stepwise contribution + grounding
                      (valid action); dense rewards and outcome normalised separately,
                      discounted (the trainer passes the contributions)
====================  ======================================================================

:func:`empg` modulates any estimator's advantages by the turns' step entropies
(EMPG). :mod:`agentgym.credit.epo` holds EPO's entropy terms (the trainer adds
them to the loss).

:func:`reweight_rewards` (the trainer's ``reward_weights``) recomputes turn
rewards from the env's reward parts before any estimator runs.

>>> from agentgym.credit import compute_advantages
>>> advantages = compute_advantages("gigpo", trajectories, gamma=0.95)  # doctest: +SKIP

Importing this package does not import torch; :func:`score_information_gain`
does, when called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agentgym.credit._common import discounted_returns, normalize
from agentgym.credit.empg import empg, empg_metrics
from agentgym.credit.filtering import FilterStats, filter_groups
from agentgym.credit.gigpo import gigpo, step_advantages, step_group_stats, step_groups
from agentgym.credit.grpo import episode_advantages, grpo
from agentgym.credit.igpo import igpo, igpo_rewards
from agentgym.credit.raft import raft, raft_select
from agentgym.credit.reinforce_rej import RejectDecision, reinforce, reject_groups, rejection_stats
from agentgym.credit.rloo import rloo
from agentgym.credit.scoring import answer_scores, score_information_gain
from agentgym.credit.shaping import reweight_rewards
from agentgym.credit.spa import spa, spa_rewards
from agentgym.credit.stratified import strata, strata_stats, stratified, stratified_gigpo
from agentgym.errors import ConfigError, did_you_mean
from agentgym.trajectory import Trajectory

__all__ = [
    "ESTIMATORS",
    "FilterStats",
    "RejectDecision",
    "answer_scores",
    "advantage_metrics",
    "compute_advantages",
    "discounted_returns",
    "empg",
    "empg_metrics",
    "episode_advantages",
    "filter_groups",
    "gigpo",
    "grpo",
    "igpo",
    "igpo_rewards",
    "needs_scoring",
    "normalize",
    "raft",
    "raft_select",
    "reinforce",
    "reject_groups",
    "rejection_stats",
    "reweight_rewards",
    "rloo",
    "score_information_gain",
    "spa",
    "spa_rewards",
    "step_advantages",
    "step_group_stats",
    "step_groups",
    "strata",
    "strata_stats",
    "stratified",
    "stratified_gigpo",
]

ESTIMATORS: dict[str, Callable[..., list[list[float]]]] = {
    "grpo": grpo,
    "rloo": rloo,
    "gigpo": gigpo,
    "igpo": igpo,
    "reinforce_rej": reinforce,
    "raft": raft,
    "stratified": stratified,
    "stratified_gigpo": stratified_gigpo,
    "spa": spa,
}


def needs_scoring(estimator: str, params: dict[str, Any] | None = None) -> bool:
    """Whether ``estimator`` reads ``Turn.info_gain`` (so IGPO scoring must run first)."""
    return estimator == "igpo" or (
        estimator in ("gigpo", "stratified_gigpo") and (params or {}).get("rewards") == "igpo"
    )


def compute_advantages(
    estimator: str, trajectories: Sequence[Trajectory], **params: Any
) -> list[list[float]]:
    """Dispatch to an estimator by name (``"grpo"``, ``"rloo"``, ``"gigpo"``, ``"igpo"``,
    ``"reinforce_rej"``, ``"raft"``, ``"stratified"``). ``reinforce_rej`` and ``raft``
    compute the advantage of the trajectories their selection kept
    (:func:`reject_groups`, :func:`raft_select`: the trainer selects first).

    >>> compute_advantages("rloo", [])
    []
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(
            f"unknown estimator {estimator!r}.{did_you_mean(estimator, ESTIMATORS)} "
            f"Choose one of {', '.join(ESTIMATORS)}."
        )
    return ESTIMATORS[estimator](trajectories, **params)


def advantage_metrics(
    advantages: Sequence[Sequence[float]], prefix: str = "credit/"
) -> dict[str, float]:
    """Mean, std, min, max and fraction of zeros of the per-turn advantages (for the logs)."""
    flat = [a for row in advantages for a in row]
    if not flat:
        return {}
    n = len(flat)
    mean = sum(flat) / n
    var = sum((a - mean) ** 2 for a in flat) / n
    return {
        f"{prefix}adv_mean": mean,
        f"{prefix}adv_std": var**0.5,
        f"{prefix}adv_min": min(flat),
        f"{prefix}adv_max": max(flat),
        f"{prefix}adv_zero_frac": sum(abs(a) < 1e-9 for a in flat) / n,
    }
