"""Scripted policies for GuessNumber: ``binary_search`` (the oracle) and
``random_guess`` (a uniform guess in the range, ignoring feedback)."""

from __future__ import annotations

from agentgym.envs.guess_number.env import GuessNumberEnv
from agentgym.tools import ToolCall


def binary_search(env: GuessNumberEnv) -> str:
    """Halve the consistent interval: at most ceil(log2(width + 1)) guesses."""
    return ToolCall("guess", {"number": (env.low + env.high) // 2}).render()


def random_guess(env: GuessNumberEnv) -> str:
    assert env.task is not None
    lo, hi = env.task.meta["low"], env.task.meta["high"]
    return ToolCall("guess", {"number": int(env.np_random.integers(lo, hi + 1))}).render()
