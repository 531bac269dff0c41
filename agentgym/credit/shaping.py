"""Reward shaping from the config: the training reward as a weighted sum of the
env's reward parts.

Every env reports ``info["reward_parts"]`` (name -> value, summing to the
reward); the rollout keeps them on each :class:`~agentgym.trajectory.Turn`.
:func:`reweight_rewards` recomputes each turn's reward as
``sum(weights.get(part, 1.0) * value)``, so a run can, say, train on the
outcome alone (``{"invalid_action": 0, "question": 0}``) without touching the
env, and validation still reports the env's own metrics.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory

__all__ = ["check_reward_weights", "reweight_rewards"]


def check_reward_weights(weights: Mapping[str, float]) -> None:
    """Raise :class:`ConfigError` unless every weight is a finite number."""
    bad = {k: w for k, w in weights.items()
           if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w)}
    if bad:
        raise ConfigError(f"reward_weights must map reward parts to finite numbers, got {bad}; "
                          "e.g. '{\"invalid_action\": 0.0}'.")


def reweight_rewards(trajectories: Sequence[Trajectory], weights: Mapping[str, float]) -> list[Trajectory]:
    """Copies of ``trajectories`` whose turn rewards are the weighted sums of
    their reward parts (parts not in ``weights`` keep weight 1; a turn without
    parts keeps its reward). The inputs are not modified.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> t = Trajectory("t", "g", turns=[Turn("a", "o", 0.9, "s", reward_parts={"success": 1.0, "invalid_action": -0.1})])
    >>> reweight_rewards([t], {"invalid_action": 0.0})[0].turns[0].reward
    1.0
    """
    check_reward_weights(weights)
    out = []
    for traj in trajectories:
        turns = [
            dataclasses.replace(turn, reward=sum(weights.get(k, 1.0) * v for k, v in turn.reward_parts.items()))
            if turn.reward_parts else turn
            for turn in traj.turns
        ]
        out.append(dataclasses.replace(traj, turns=turns))
    return out
