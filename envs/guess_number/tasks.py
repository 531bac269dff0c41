"""Tasks of GuessNumber: a range [low, high] and a secret inside it."""

from __future__ import annotations

import numpy as np

from agentgym import Task, TaskGenerator
from agentgym.tools import ToolCall

# difficulty -> width of the range
WIDTHS = {"easy": 16, "medium": 100, "hard": 1000}


class GuessNumberTasks(TaskGenerator):
    """Deterministic in (seed, split, index, difficulty); the base class keeps
    the splits disjoint by hashing :meth:`content_key`."""

    family = "guess_number"
    difficulties = ("easy", "medium", "hard")

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        width = WIDTHS[difficulty]
        low = int(rng.integers(0, 1000))
        high = low + width - 1
        secret = int(rng.integers(low, high + 1))
        return Task(
            id=task_id,
            prompt=f"I am thinking of a whole number between {low} and {high} (inclusive). Find it.",
            # The canonical text of the correct final action (used by IGPO and judges).
            answer=ToolCall("guess", {"number": secret}).render(),
            meta={"low": low, "high": high, "secret": secret},
        )

    def content_key(self, task: Task) -> str:
        m = task.meta
        return f"{m['low']}:{m['high']}:{m['secret']}"
