"""Tasks and deterministic task generation with disjoint splits.

A :class:`Task` is a frozen value: ``id``, ``prompt`` (what the agent is asked),
``answer`` (the canonical text of the correct final action or answer, never
shown to the agent; IGPO and judges use it) and ``meta`` (whatever the env needs
to rebuild the episode, e.g. the generated home or database).

A :class:`TaskGenerator` turns ``(split, index, difficulty)`` into a task,
deterministically. Splits are disjoint *by construction*: a candidate task
belongs to the split that the hash of its :meth:`~TaskGenerator.content_key`
falls into (80/10/10 by default); candidates that fall into another split are
rejected and the next one, from a derived seed, is tried. So two splits can
never hold the same task, however small the task space.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from agentgym.errors import ConfigError

__all__ = ["Task", "TaskGenerator", "Split", "SPLITS", "derive_seed", "split_of"]

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
# Buckets of a 100-way hash: train 0-79, val 80-89, test 90-99.
_SPLIT_BUCKETS: dict[str, range] = {"train": range(0, 80), "val": range(80, 90), "test": range(90, 100)}
# Task indices from here on are TaskGenerator.near's (a run's cursor never gets there).
NEAR_INDEX_BASE = 10**9


@dataclass(frozen=True)
class Task:
    """One task of an environment family.

    >>> t = Task(id="guess/val/0", prompt="Guess a number in [1, 100].", answer="guess(42)")
    >>> t.answer
    'guess(42)'
    """

    id: str
    prompt: str
    answer: str
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": self.prompt, "answer": self.answer, "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Task:
        return cls(id=d["id"], prompt=d["prompt"], answer=d["answer"], meta=dict(d.get("meta", {})))


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from any JSON-able parts, stable across runs and machines
    (unlike ``hash()``, which is salted per process)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little") >> 1


def split_of(content_key: str) -> Split:
    """The split a task with this content key belongs to."""
    bucket = int.from_bytes(hashlib.blake2b(content_key.encode(), digest_size=4).digest(), "little") % 100
    for split, r in _SPLIT_BUCKETS.items():
        if bucket in r:
            return split  # type: ignore[return-value]
    raise AssertionError("unreachable")


class TaskGenerator:
    """Base class of a family's task generator.

    Subclasses implement :meth:`generate` (a candidate task from an RNG) and may
    override :meth:`content_key` (what makes two tasks "the same"; defaults to
    prompt + answer). :meth:`task` does the seeding and the split rejection.

    >>> class Coin(TaskGenerator):
    ...     family = "coin"
    ...     def generate(self, rng, difficulty, task_id):
    ...         side = ["heads", "tails"][int(rng.integers(2))]
    ...         return Task(task_id, "Guess.", side, {"n": int(rng.integers(10**6))})
    ...     def content_key(self, task):
    ...         return str(task.meta["n"])
    >>> Coin(seed=0).task("val", 3).id
    'coin/val/default/3'
    """

    family: str = "task"
    difficulties: tuple[str, ...] = ("default",)
    max_attempts: int = 10_000

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        raise NotImplementedError  # abstract: each family writes its own

    def content_key(self, task: Task) -> str:
        return task.prompt + "\x00" + task.answer

    def check_difficulty(self, difficulty: str) -> str:
        if difficulty not in self.difficulties:
            raise ConfigError(
                f"unknown difficulty {difficulty!r} for {self.family}; choose one of {list(self.difficulties)}."
            )
        return difficulty

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        """The ``index``-th task of ``split`` at ``difficulty`` (deterministic)."""
        if split not in _SPLIT_BUCKETS:
            raise ConfigError(f"unknown split {split!r}; choose one of {list(SPLITS)}.")
        difficulty = self.check_difficulty(difficulty or self.difficulties[0])
        task_id = f"{self.family}/{split}/{difficulty}/{index}"
        for attempt in range(self.max_attempts):
            rng = np.random.default_rng(derive_seed(self.family, self.seed, split, difficulty, index, attempt))
            task = self.generate(rng, difficulty, task_id)
            if split_of(self.content_key(task)) == split:
                return task
        raise ConfigError(
            f"{self.family}: no {split} task found in {self.max_attempts} attempts; the task space "
            "is too small for a 80/10/10 split."
        )

    def tasks(self, split: Split, n: int, difficulty: str | None = None, start: int = 0) -> list[Task]:
        """``n`` consecutive tasks of a split."""
        return [self.task(split, i, difficulty) for i in range(start, start + n)]

    def near(self, task: Task, k: int) -> Task | None:
        """The ``k``-th new train task *next to* ``task`` in the generator's
        parameter space (deterministic), or None where the generator cannot
        make one. A curriculum generates these around the tasks a policy just
        failed (:mod:`agentgym.train.curriculum`).

        The default, for a task of this generator's id form
        ``family/split/difficulty/index``: a train task one difficulty easier (the
        same at the easiest), at an index derived from ``(task.id, k)`` far beyond
        the indices a run walks. A family whose tasks take finer parameters
        (hops, distractors) overrides it to move those one step instead.

        >>> gen = TaskGenerator(); gen.family = "coin"
        >>> gen.near(Task("other/train/default/3", "p", "a"), 0) is None
        True
        """
        parts = task.id.split("/")
        if len(parts) != 4 or parts[0] != self.family or parts[2] not in self.difficulties:
            return None
        difficulty = self.difficulties[max(0, self.difficulties.index(parts[2]) - 1)]
        return self.task("train", NEAR_INDEX_BASE + derive_seed("near", task.id, k) % NEAR_INDEX_BASE, difficulty)
