"""SPA: Stepwise Progress Attribution (Wang et al., 2025, "SPA-RL: Reinforcing
LLM Agents via Stepwise Progress Attribution", arXiv:2505.20732).

A *progress estimator* assigns each turn ``t`` of a trajectory a contribution
``c_t``, trained so that a trajectory's contributions add up to its outcome::

    L_progress = mean over trajectories of ( sum_t c_t - R )^2

(:mod:`agentgym.train.spa` holds the estimator: a linear head on the policy's
last-layer hidden state at the last token of each turn's response, trained
online). The turn reward is the contribution plus a *grounding* term, 1 when the
turn's action was valid and executed (``Turn.action_valid``), else 0::

    r_t = alpha * c_t + beta * g_t

This module turns the contributions into advantages, in the manner of
:mod:`agentgym.credit.igpo`: within each group the dense rewards ``r_t`` (all
turns of all its trajectories) and the outcomes ``R`` (one per trajectory) are
normalised **separately**; the last turn adds its trajectory's normalised
outcome; the advantage of turn ``t`` is the discounted sum
``sum_{k>=t} gamma^(k-t) r_hat_k``.

Deviations, stated: the paper trains the estimator offline on the SFT policy's
rollouts (a separate LLM with an MLP head) and then runs PPO with a critic on
the frozen rewards; we train a linear head online on the policy's own hidden
states, each iteration, and use the critic-free group normalisation above. The
outcome on the last turn is our choice: it keeps a plain outcome signal while
the estimator is still untrained (all ``c_t = 0``).

>>> from agentgym.trajectory import Trajectory, Turn
>>> ok, bad = Turn("a", "o", 0.0, "s"), Turn("a", "o", 0.0, "s", action_valid=False)
>>> spa_rewards([[0.5, 0.5]], [[ok, bad]], alpha=1.0, beta=0.5)
[[1.0, 0.5]]
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.credit._common import Norm, check_norm, discounted_returns, groups, normalize
from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory, Turn

__all__ = ["spa", "spa_rewards"]


def spa_rewards(
    contributions: Sequence[Sequence[float]], turns: Sequence[Sequence[Turn]], *, alpha: float, beta: float
) -> list[list[float]]:
    """``alpha * c_t + beta * [action valid]`` for every turn."""
    return [
        [alpha * c + beta * float(turn.action_valid) for c, turn in zip(row, ts, strict=True)]
        for row, ts in zip(contributions, turns, strict=True)
    ]


def spa(
    trajectories: Sequence[Trajectory],
    *,
    contributions: Sequence[Sequence[float]] | None = None,
    alpha: float = 1.0,
    beta: float = 0.5,
    gamma: float = 1.0,
    norm: Norm = "mean_std",
) -> list[list[float]]:
    """Per-turn advantages from SPA's turn rewards (``contributions[i][t]``: the
    progress estimator's ``c_t``; None: all zero, the grounding term alone).

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> a = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s"), Turn("x", "o", 1.0, "s")])
    >>> b = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s", action_valid=False), Turn("x", "o", 0.0, "s")])
    >>> [[round(v, 3) for v in row] for row in spa([a, b], contributions=[[0.2, 0.8], [0.0, 0.1]], norm="mean")]
    [[1.2, 1.15], [-1.2, -0.55]]
    """
    check_norm(norm)
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"spa: gamma={gamma} must lie in [0, 1].")
    if contributions is None:
        contributions = [[0.0] * len(t.turns) for t in trajectories]
    if [len(c) for c in contributions] != [len(t.turns) for t in trajectories]:
        raise ValueError("spa: contributions need one value per turn of each trajectory")
    dense = spa_rewards(contributions, [t.turns for t in trajectories], alpha=alpha, beta=beta)
    out: list[list[float]] = [[] for _ in trajectories]
    for members in groups(trajectories).values():
        flat = normalize([r for i in members for r in dense[i]], norm)
        outcomes = normalize([trajectories[i].episode_return for i in members], norm)
        k = 0
        for i, outcome in zip(members, outcomes, strict=True):
            n = len(dense[i])
            rewards = flat[k : k + n]
            k += n
            if rewards:
                rewards[-1] += outcome
            out[i] = discounted_returns(rewards, gamma)
    return out
