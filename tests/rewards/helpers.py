"""Scripted judge backends for the reward tests: slow, broken, garbage, counting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from agentgym.policy import Completion
from agentgym.rewards.scripted import sections


class ScriptedBackend:
    """Answers with ``reply(sections, call_index) -> text``; records calls and batch sizes."""

    def __init__(self, reply: Callable[[dict[str, str], int], str], delay_s: float = 0.0) -> None:
        self.reply, self.delay_s = reply, delay_s
        self.calls: list[int] = []
        self.concurrent = self.max_concurrent = 0
        self._lock = threading.Lock()

    def act(self, conversations: Sequence[Any], tools: Sequence[Any]) -> list[Completion]:
        with self._lock:
            n = len(self.calls)
            self.calls.append(len(conversations))
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return [Completion(self.reply(sections(c), n)) for c in conversations]
        finally:
            with self._lock:
                self.concurrent -= 1
