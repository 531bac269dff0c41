"""Trajectories: exactly what the model saw and produced, turn by turn.

``prompt_ids``/``response_ids``/``logprobs`` are the token ids the policy was
fed and sampled and the behaviour log-probabilities of the sampled tokens,
recorded at generation time (never re-tokenized). Scripted policies leave them
empty. ``anchor`` is the env's state key *before* the action (GiGPO's step
groups); ``info_gain`` is filled by IGPO scoring.

Turns and trajectories are plain (mutable) dataclasses: the rollout builds them
step by step and credit assignment annotates them (``info_gain``); treat them
as values otherwise. They round-trip through JSONL::

    save_jsonl("runs/x/rollouts.jsonl", trajectories)
    again = load_jsonl("runs/x/rollouts.jsonl")
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Turn", "Trajectory", "save_jsonl", "load_jsonl", "iter_jsonl", "append_jsonl"]


@dataclass
class Turn:
    """One agent action and the environment's answer to it."""

    action: str
    observation: str
    reward: float
    anchor: str
    action_valid: bool = True
    prompt_ids: list[int] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    reward_parts: dict[str, float] = field(default_factory=dict)
    info_gain: float | None = None
    error: str | None = None
    # reward parts the env could not compute this step (a judge that timed out or
    # answered garbage), part -> reason: left out of ``reward_parts``, and the
    # episode is masked out of training (:func:`agentgym.rewards.mask_unavailable`)
    reward_unavailable: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Turn:
        return cls(**d)


@dataclass
class Trajectory:
    """One episode: the task, its group, the turns and how it ended.

    ``failed`` marks an episode that an environment or policy exception ended.
    Statistics (training's ``rollout/`` and ``val/`` and evaluation alike,
    :func:`agentgym.evaluation.summary.episode_totals`) count it as an episode
    and a failure and report the count as ``failed``; the update never trains
    on its turns.
    """

    task_id: str
    group_id: str
    env_id: str = ""
    turns: list[Turn] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    answer: str = ""
    seed: int | None = None
    terminated: bool = False
    truncated: bool = False
    failed: bool = False
    error: str | None = None
    system: str = ""
    initial_observation: str = ""
    initial_anchor: str = ""
    final_anchor: str = ""  # the env's anchor after the last step ("" where not recorded)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def episode_return(self) -> float:
        """Sum of the turn rewards."""
        return float(sum(t.reward for t in self.turns))

    @property
    def success(self) -> bool:
        return bool(self.metrics.get("success", 0.0))

    @property
    def num_tokens(self) -> int:
        return sum(len(t.response_ids) for t in self.turns)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["episode_return"] = self.episode_return
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        d = dict(d)
        d.pop("episode_return", None)
        d["turns"] = [Turn.from_dict(t) for t in d.get("turns", [])]
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Trajectory:
        return cls.from_dict(json.loads(line))


def save_jsonl(path: str | os.PathLike[str], trajectories: Iterable[Trajectory]) -> Path:
    """Write trajectories, one JSON object per line (atomically: temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for t in trajectories:
            f.write(t.to_json() + "\n")
    tmp.replace(path)
    return path


def append_jsonl(path: str | os.PathLike[str], trajectories: Iterable[Trajectory]) -> None:
    """Append trajectories to a JSONL file (flushed, for resumable runs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for t in trajectories:
            f.write(t.to_json() + "\n")
        f.flush()
        os.fsync(f.fileno())


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[Trajectory]:
    """Read trajectories lazily; a torn last line (a killed writer) is skipped."""
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                yield Trajectory.from_json(line)
            except json.JSONDecodeError:
                continue


def load_jsonl(path: str | os.PathLike[str]) -> list[Trajectory]:
    return list(iter_jsonl(path))
