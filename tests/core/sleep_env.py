"""A test env whose step sleeps: stands for an env that waits on I/O (a browser,
a sandbox, a database server). Used by the concurrent-rollout tests, the Ray env
worker tests and ``scripts/bench_concurrent_steps.py``.

Each task hides a number in 0..9; ``guess N`` answers higher/lower/correct after
sleeping ``delay`` seconds (times ``1 + task_index % slow_every`` when
``slow_every`` is set, so some episodes step more slowly than others). The action
``boom`` raises (an env bug), to test failure isolation.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

TOOLS = [{"type": "function", "function": {"name": "guess", "description": "guess the number", "parameters": {
    "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}]


class SleepEnv:
    """``reset``/``step`` with a sleeping step; declares ``step_threads``."""

    step_threads = 16
    env_id = "test/Sleep-v0"

    def __init__(self, delay: float = 0.05, max_turns: int = 6, slow_every: int = 0) -> None:
        self.delay, self.max_turns, self.slow_every = delay, max_turns, slow_every
        self.target, self.turns, self.index = 0, 0, 0

    @property
    def unwrapped(self) -> SleepEnv:
        return self

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        self.index = int((options or {}).get("task_index", 0))
        self.target = random.Random(f"{seed}:{self.index}").randrange(10)
        self.turns = 0
        return f"Task {self.index}: find the number in 0..9.", {
            "task_id": f"sleep-{self.index}", "system": "Guess with guess(n=N).", "tools": TOOLS, "anchor": "start"}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if "boom" in action:
            raise RuntimeError("boom: the env broke")
        if "hang" in action:
            time.sleep(60)  # a stuck step
        slow = 1 + (self.index % self.slow_every if self.slow_every else 0)
        time.sleep(self.delay * slow)
        self.turns += 1
        m = re.search(r"-?\d+", action)
        if m is None:
            obs, reward, done, valid = "Say guess(n=N).", -0.1, False, False
        else:
            n = int(m.group())
            done, valid = n == self.target, True
            obs = "correct" if done else ("higher" if n < self.target else "lower")
            reward = 1.0 if done else 0.0
        truncated = not done and self.turns >= self.max_turns
        info: dict[str, Any] = {"anchor": f"{self.turns}:{obs}", "action_valid": valid, "reward_parts": {"r": reward}}
        if done or truncated:
            info["metrics"] = {"success": float(done), "turns": float(self.turns)}
        return obs, reward, done, truncated, info

    def episode_metrics(self) -> dict[str, float]:
        return {"turns": float(self.turns)}

    def close(self) -> None:
        pass


class HashPolicy:
    """A scripted policy whose action depends only on its own conversation (a
    hash of it, seeded): the same trajectories whatever the batch composition.
    An episode whose task index is in ``boom`` answers ``boom`` on its 2nd turn
    (``hang`` likewise, for ``hang``)."""

    needs_env = False

    def __init__(self, seed: int = 0, boom: tuple[int, ...] = (), hang: tuple[int, ...] = ()) -> None:
        self.seed, self.boom, self.hang, self.calls = seed, boom, hang, []

    def act(self, conversations: Any, tools: Any) -> list[Any]:
        from agentgym.policy import Completion

        self.calls.append(len(conversations))
        out = []
        for conv in conversations:
            text = "\n".join(str(m["content"]) for m in conv)
            task = int(re.search(r"Task (\d+)", text).group(1))  # type: ignore[union-attr]
            if task in self.boom + self.hang and len(conv) >= 4:
                out.append(Completion(text="boom" if task in self.boom else "hang"))
                continue
            n = random.Random(f"{self.seed}|{text}").randrange(10)
            out.append(Completion(text=f'<tool_call>{{"name": "guess", "arguments": {{"n": {n}}}}}</tool_call>',
                                  response_ids=[n], prompt_ids=[len(text)], logprobs=[-0.5]))
        return out
