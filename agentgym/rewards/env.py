"""How an unavailable reward part travels from the env to the trainer.

A part that could not be computed (:class:`~agentgym.rewards.compose.Unavailable`:
the judge timed out, kept answering garbage, or its votes tied) is **never**
reported as a number. Instead:

1. the step's ``reward_parts`` leave it out (they still sum to the reward);
2. the step's ``info["reward_unavailable"]`` maps the part to the reason;
3. the episode's ``metrics["reward_unavailable"]`` counts such parts (the
   metric exists on envs that have a judged part, so it reaches
   ``Trajectory.metrics`` through the rollout unchanged);
4. the trainer drops such episodes from the update and from the reward
   statistics (:func:`mask_unavailable`), and reports how many it dropped.

:class:`RewardReporting` is the env side: mix it in before
:class:`~agentgym.AgentEnv` and call :meth:`mark_unavailable` (``Reward.apply``
does it).

>>> from agentgym.trajectory import Trajectory
>>> ok, masked = mask_unavailable([Trajectory("a", "g", metrics={"reward_unavailable": 1.0}),
...                                Trajectory("b", "g", metrics={"success": 1.0})])
>>> [t.task_id for t in ok], [t.task_id for t in masked]
(['b'], ['a'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentgym.trajectory import Trajectory

__all__ = ["UNAVAILABLE_KEY", "RewardReporting", "mask_unavailable", "is_masked"]

UNAVAILABLE_KEY = "reward_unavailable"


class RewardReporting:
    """Mixin for an :class:`~agentgym.AgentEnv` with parts that may be unavailable.

    ``self.reports_unavailable`` (set it in ``__init__``) says whether the env has
    such a part; only then is the ``reward_unavailable`` metric reported, so an
    env without a judge keeps its metrics exactly as before.
    """

    reports_unavailable: bool = False

    def mark_unavailable(self, part: str, reason: str) -> None:
        """Record that reward part ``part`` could not be computed this step."""
        self.__dict__.setdefault("_unavailable_step", {})[part] = reason
        self.__dict__["_unavailable_count"] = self.__dict__.get("_unavailable_count", 0) + 1

    def unavailable_metrics(self) -> dict[str, float]:
        """``{"reward_unavailable": count}`` where the env reports it, else ``{}``."""
        if not self.reports_unavailable:
            return {}
        return {UNAVAILABLE_KEY: float(self.__dict__.get("_unavailable_count", 0))}

    def reset(self, *args: Any, **kwargs: Any) -> Any:
        self.__dict__["_unavailable_count"] = 0
        self.__dict__["_unavailable_step"] = {}
        return super().reset(*args, **kwargs)  # type: ignore[misc]

    def step(self, action: str) -> Any:
        self.__dict__["_unavailable_step"] = {}
        obs, reward, terminated, truncated, info = super().step(action)  # type: ignore[misc]
        if self.__dict__["_unavailable_step"]:
            info[UNAVAILABLE_KEY] = dict(self.__dict__["_unavailable_step"])
        return obs, reward, terminated, truncated, info


def is_masked(traj: Trajectory) -> bool:
    """Whether an episode had a reward part that could not be computed."""
    return float(traj.metrics.get(UNAVAILABLE_KEY, 0.0)) > 0


def mask_unavailable(trajectories: Sequence[Trajectory]) -> tuple[list[Trajectory], list[Trajectory]]:
    """``(kept, masked)``: episodes whose reward is fully known, and the rest.

    The trainer should train on ``kept`` only and compute ``rollout/`` reward
    statistics over ``kept`` (reporting ``len(masked)`` as
    ``rollout/reward_unavailable``); treating a masked episode's reward as 0 or
    1 would train on a number nobody computed. A group left with one member
    gets a zero group advantage, as any singleton does.
    """
    kept, masked = [], []
    for t in trajectories:
        (masked if is_masked(t) else kept).append(t)
    return kept, masked
