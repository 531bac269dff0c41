"""Tasks of AskToAct: a procedural home, a wanted object and a goal receptacle.

Three kinds of task, mixed per difficulty (see :data:`~.home.LEVELS`):

* ``ambiguous`` — several instances of the named type fit the instruction;
  only asking (or luck) tells which one is wanted;
* ``observable`` — the instruction names an attribute that singles the target
  out, so looking (colour) or examining (material, size) resolves it;
* ``control`` — one instance of the type exists: asking is wasteful.

``answer`` is the canonical text of the correct final call,
``place(object=<target name>, receptacle=<goal>)``.

>>> gen = AskToActTasks(seed=0)
>>> task = gen.task("val", 0, "easy")
>>> task.answer.startswith('<tool_call>{"name": "place"')
True
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict

import numpy as np

from agentgym import Task, TaskGenerator
from agentgym.envs.embodied.home import LEVELS, Home, TaskKind, generate_layout
from agentgym.tasks import Split
from agentgym.tools import ToolCall

__all__ = ["AskToActTasks"]

_KINDS: tuple[TaskKind, ...] = ("ambiguous", "observable", "control")
_CACHE_SIZE = 4096


class AskToActTasks(TaskGenerator):
    """Deterministic in (seed, split, index, difficulty); splits are disjoint by
    the hash of :meth:`content_key` (the home, the target and the goal).

    Tasks are cached (a rollout resets the same task once per group member)."""

    family = "embodied"
    difficulties = ("easy", "medium", "hard")

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._cache: OrderedDict[tuple[str, int, str], Task] = OrderedDict()

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        # Python's Random is ~10x cheaper per draw than numpy's scalar calls and
        # just as reproducible for a fixed integer seed.
        r = random.Random(int(rng.integers(2**62)))
        level = LEVELS[difficulty]
        kind = r.choices(_KINDS, weights=level.mix)[0]
        meta = generate_layout(r, level, kind)
        home = Home(meta)
        target = home.objects[home.target]
        return Task(
            id=task_id,
            prompt=home.instruction_text,
            answer=ToolCall("place", {"object": target.name, "receptacle": home.goal}).render(),
            meta=meta,
        )

    def content_key(self, task: Task) -> str:
        m = task.meta
        return json.dumps([m["rooms"], m["receptacles"], m["objects"], m["target"], m["goal"],
                           m["start"], m["instruction"]], separators=(",", ":"))

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        key = (split, int(index), self.check_difficulty(difficulty or self.difficulties[0]))
        task = self._cache.get(key)
        if task is None:
            task = super().task(*key)
            self._cache[key] = task
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return task
