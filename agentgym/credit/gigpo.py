"""GiGPO: Group-in-Group Policy Optimization (Feng et al., 2025).

Two levels of relative advantage, added::

    A(turn t of trajectory i) = A_episode(i) + omega * A_step(t)

* ``A_episode`` is GRPO's: the trajectory's return normalised within its group.
* ``A_step`` compares actions taken from the *same environment state*. Within a
  group, turns whose ``anchor`` (the env's state key before the action) is equal
  form a *step group*; each turn's discounted return ``G_t = r_t + gamma G_{t+1}``
  is normalised within its step group (same ``norm`` as the episode level). A
  step group of one turn has nothing to compare with: ``A_step = 0``.

**Uniform step groups** (our rule; the paper is silent on it). A step group
compares the actions taken from one state by their consequences. When every
turn in it had the same consequence — the same turn reward, the same next
anchor, and the same ending (the env ended the episode, or it went on) — the
actions are indistinguishable by what they did, and the group gets
``A_step = 0``. Without the rule, their ``G_t`` still differ, but only through
later turns or through the turns left before truncation: the degenerate case is
an untrained policy whose every action is invalid, so that every turn of a group
shares one anchor and one penalty, all episode returns are equal, and
``mean_std`` turned the discounting differences alone into unit-size
advantages that favour late turns. As soon as one turn of the group had another
consequence (it left the loop, ended the episode, earned another reward), the
paper's comparison applies to the whole group, loops included: the visit that
escaped a loop sooner has the higher discounted return. The next anchor of an
episode's last turn is ``Trajectory.final_anchor``; trajectories that do not
record it (saved by an older version) never form a uniform group.

Anchors are compared exactly by default (families give canonical state keys).
``similarity=0.9`` instead merges text anchors whose ``difflib`` ratio with a
step group's first anchor reaches the threshold (for envs whose state key is raw
text).

``rewards="igpo"`` is the GiGPO + IGPO combination: the per-turn rewards that
``G_t`` discounts are IGPO's dense rewards (information gain on every turn but
the last, the outcome on the last, each z-normalised within the group, see
:func:`agentgym.credit.igpo.igpo_rewards`) instead of the env's turn rewards; the
episode level stays GRPO on the env's returns. Turns whose state was visited by
several rollouts are then credited by how much they moved the policy towards the
answer compared with the other actions taken there. Run
:func:`agentgym.credit.score_information_gain` first.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Literal

from agentgym.credit._common import Norm, check_norm, discounted_returns, groups, normalize
from agentgym.credit.grpo import episode_advantages
from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory

__all__ = ["gigpo", "step_advantages", "step_groups"]

StepRewards = Literal["env", "igpo"]


def step_groups(anchors: Sequence[str], similarity: float | None = None) -> list[list[int]]:
    """Partition positions by anchor: equal anchors (or similar, given a threshold).

    >>> step_groups(["a", "b", "a"])
    [[0, 2], [1]]
    >>> step_groups(["room 1: key", "room 1: key.", "room 2"], similarity=0.9)
    [[0, 1], [2]]
    """
    if similarity is None:
        by_key: dict[str, list[int]] = {}
        for i, a in enumerate(anchors):
            by_key.setdefault(a, []).append(i)
        return list(by_key.values())
    reps: list[str] = []
    members: list[list[int]] = []
    for i, a in enumerate(anchors):
        for k, rep in enumerate(reps):
            if (
                a == rep
                or difflib.SequenceMatcher(None, a, rep, autojunk=False).ratio() >= similarity
            ):
                members[k].append(i)
                break
        else:
            reps.append(a)
            members.append([i])
    return members


def step_advantages(
    trajectories: Sequence[Trajectory],
    turn_rewards: Sequence[Sequence[float]],
    *,
    gamma: float = 0.95,
    norm: Norm = "mean_std",
    similarity: float | None = None,
) -> list[list[float]]:
    """GiGPO's step-level advantages for given per-turn rewards.

    ``turn_rewards[i][t]`` is the reward of turn ``t`` of trajectory ``i``.
    """
    check_norm(norm)
    returns = [discounted_returns(r, gamma) for r in turn_rewards]
    out = [[0.0] * len(traj.turns) for traj in trajectories]
    for idx in groups(trajectories).values():
        # Flatten the group's turns: (trajectory, turn) positions with anchors.
        where = [(i, t) for i in idx for t in range(len(trajectories[i].turns))]
        anchors = [str(trajectories[i].turns[t].anchor) for i, t in where]
        for members in step_groups(anchors, similarity):
            consequences = {_consequence(trajectories[where[k][0]], where[k][1], turn_rewards[where[k][0]])
                            for k in members}
            if len(consequences) == 1:
                continue  # a uniform step group (module docstring): A_step = 0
            values = [returns[where[k][0]][where[k][1]] for k in members]
            for k, a in zip(members, normalize(values, norm), strict=True):
                i, t = where[k]
                out[i][t] = a
    return out


def _consequence(traj: Trajectory, t: int, rewards: Sequence[float]) -> tuple[float, str, bool]:
    """What turn ``t`` led to: its reward, the next anchor, and whether the env
    ended the episode there. Unknown (no recorded final anchor): unique."""
    last = t == len(traj.turns) - 1
    if not last:
        return (float(rewards[t]), str(traj.turns[t + 1].anchor), False)
    if not traj.final_anchor:
        return (float(rewards[t]), f"<unrecorded {id(traj)}>", traj.terminated)
    return (float(rewards[t]), traj.final_anchor, traj.terminated)


def gigpo(
    trajectories: Sequence[Trajectory],
    *,
    gamma: float = 0.95,
    omega: float = 1.0,
    norm: Norm = "mean_std",
    rewards: StepRewards = "env",
    similarity: float | None = None,
    igpo_norm: Norm = "mean_std",
) -> list[list[float]]:
    """Per-turn GiGPO advantages ``A_episode + omega * A_step``.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> a = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s0"), Turn("y", "o", 1.0, "s1")])
    >>> b = Trajectory("t", "g", turns=[Turn("z", "o", 0.0, "s0")])
    >>> gigpo([a, b], norm="mean", gamma=0.5)
    [[0.75, 0.5], [-0.75]]
    """
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"gamma={gamma} must lie in [0, 1] (GiGPO's default is 0.95).")
    if similarity is not None and not 0.0 < similarity <= 1.0:
        raise ConfigError(
            f"similarity={similarity} must lie in (0, 1], or be None for exact anchors."
        )
    if rewards == "env":
        turn_rewards = [[turn.reward for turn in traj.turns] for traj in trajectories]
    elif rewards == "igpo":
        from agentgym.credit.igpo import igpo_rewards

        turn_rewards = igpo_rewards(trajectories, norm=igpo_norm)
    else:
        raise ConfigError(f"rewards={rewards!r} is not known; use 'env' (turn rewards) or 'igpo'.")
    episode = episode_advantages(trajectories, norm)
    step = step_advantages(
        trajectories, turn_rewards, gamma=gamma, norm=norm, similarity=similarity
    )
    return [[e + omega * s for s in row] for e, row in zip(episode, step, strict=True)]


def step_group_stats(
    trajectories: Sequence[Trajectory], *, similarity: float | None = None, prefix: str = "credit/"
) -> dict[str, float]:
    """How much step-level signal a batch has: the number of step groups, their
    mean size and the fraction of turns that share their anchor with another turn.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> a = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s0"), Turn("y", "o", 1.0, "s1")])
    >>> b = Trajectory("t", "g", turns=[Turn("z", "o", 0.0, "s0")])
    >>> step_group_stats([a, b])["credit/step_shared_frac"]
    0.6666666666666666
    """
    sizes: list[int] = []
    for idx in groups(trajectories).values():
        anchors = [str(turn.anchor) for i in idx for turn in trajectories[i].turns]
        sizes.extend(len(m) for m in step_groups(anchors, similarity))
    turns = sum(sizes)
    return {
        f"{prefix}step_groups": float(len(sizes)),
        f"{prefix}step_group_size": turns / len(sizes) if sizes else 0.0,
        f"{prefix}step_shared_frac": sum(s for s in sizes if s > 1) / turns if turns else 0.0,
    }
