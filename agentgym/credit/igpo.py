"""IGPO: Information Gain-based Policy Optimization (Wang et al., 2025).

Dense turn rewards from the policy's own belief in the ground truth. With
``s_t`` the policy's mean log-probability of the task's ``answer`` tokens,
teacher-forced after the context that ends with turn ``t``'s observation
(``s_{-1}``: after the initial observation), every turn but the last gets the
information gain ``IG_t = exp(s_t) - exp(s_{t-1})``, the marginal increase in
the policy's probability of producing the answer, in [-1, 1] (the paper's
definition; ``info_gain="logprob"`` gives ``s_t - s_{t-1}`` instead), stored in
``Turn.info_gain`` by :func:`agentgym.credit.score_information_gain` (this
module reads the stored gains, whichever variant produced them). The last turn
gets the outcome, the episode's return (which, for envs that reward only the
end, is the last turn's env reward; per-turn env penalties are kept this way).

Within each group the information-gain rewards (all non-last turns of all its
trajectories) and the outcome rewards (one per trajectory) are z-normalised
**separately**, so that neither scale swamps the other; the advantage of turn t
is the discounted sum ``sum_{k>=t} gamma^(k-t) r_hat_k`` (``gamma = 1`` by
default).
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.credit._common import Norm, check_norm, discounted_returns, groups, normalize
from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory

__all__ = ["igpo", "igpo_rewards"]


def _check_scored(traj: Trajectory) -> None:
    for turn in traj.turns[:-1]:
        if turn.info_gain is None:
            raise ConfigError(
                f"trajectory {traj.task_id!r} (group {traj.group_id!r}) has turns without info_gain: "
                "run agentgym.credit.score_information_gain(policy, trajectories) before igpo()."
            )


def igpo_rewards(
    trajectories: Sequence[Trajectory], *, norm: Norm = "mean_std"
) -> list[list[float]]:
    """IGPO's normalised dense rewards, one per turn (before discounting).

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> a = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s", info_gain=0.4), Turn("y", "o", 1.0, "s")])
    >>> b = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s", info_gain=0.0), Turn("y", "o", 0.0, "s")])
    >>> igpo_rewards([a, b], norm="mean")
    [[0.2, 0.5], [-0.2, -0.5]]
    """
    check_norm(norm)
    out = [[0.0] * len(traj.turns) for traj in trajectories]
    for idx in groups(trajectories).values():
        gains: list[tuple[int, int]] = []  # positions of information-gain rewards
        for i in idx:
            _check_scored(trajectories[i])
            gains.extend((i, t) for t in range(len(trajectories[i].turns) - 1))
        ig_values = [float(trajectories[i].turns[t].info_gain or 0.0) for i, t in gains]
        for (i, t), r in zip(gains, normalize(ig_values, norm), strict=True):
            out[i][t] = r
        ended = [i for i in idx if trajectories[i].turns]
        outcomes = [trajectories[i].episode_return for i in ended]
        for i, r in zip(ended, normalize(outcomes, norm), strict=True):
            out[i][-1] = r
    return out


def igpo(
    trajectories: Sequence[Trajectory], *, gamma: float = 1.0, norm: Norm = "mean_std"
) -> list[list[float]]:
    """Per-turn IGPO advantages: discounted sums of the normalised dense rewards.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> a = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s", info_gain=0.4), Turn("y", "o", 1.0, "s")])
    >>> b = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s", info_gain=0.0), Turn("y", "o", 0.0, "s")])
    >>> igpo([a, b], norm="mean")
    [[0.7, 0.5], [-0.7, -0.5]]
    """
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"gamma={gamma} must lie in [0, 1] (IGPO's default is 1.0).")
    return [discounted_returns(r, gamma) for r in igpo_rewards(trajectories, norm=norm)]
