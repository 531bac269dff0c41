"""BFCL's multi-turn test cases as agentgym tasks, in disjoint train/val/test splits.

Every category holds 200 entries built from the same 200 scenarios
(``multi_turn_base_7``, ``multi_turn_miss_func_7``, ... share a conversation
and back-end state). An entry's split is the hash of its *scenario number*
(:func:`~agentgym.tasks.split_of`, 80/10/10), so a scenario is in the same split
in every category: training on one category's ``train`` tasks never shows a
``val`` scenario of another. Entries whose ground truth cannot be replayed
through the tools (:func:`unplayable`: two of 800) are left out. Task ``index`` of a split is its ``index``-th entry
(in BFCL's order), modulo the split's size.

A task's ``prompt`` is the first user turn; ``answer`` the ground-truth calls,
one line per user turn; ``meta`` the entry (see :mod:`.data`) and its category.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from agentgym.envs.tools.bfcl.backend import signature_of
from agentgym.envs.tools.bfcl.data import CATEGORIES, func_docs, load_category
from agentgym.envs.tools.bfcl.reward import gold_calls
from agentgym.envs.tools.bfcl.schema import bind
from agentgym.errors import ArgumentError, ConfigError
from agentgym.tasks import SPLITS, Split, Task, TaskGenerator, split_of
from agentgym.tools import ToolCall

__all__ = ["BFCLTasks", "excluded", "scenario_key", "split_entries", "unplayable"]


def scenario_key(entry_id: str) -> str:
    """``"multi_turn_miss_func_7"`` -> ``"bfcl-scenario-7"`` (what decides the split)."""
    return f"bfcl-scenario-{entry_id.rsplit('_', 1)[-1]}"


def unplayable(entry: dict[str, Any]) -> str | None:
    """Why an entry's ground truth cannot be replayed through the env's tools, or None.

    Two entries of bfcl-eval 2026.3.23 are left out this way: scenario 173 (every
    category: ``close_ticket(ticket_id='ticket_001')`` passes a string where the
    doc declares an integer; the env rejects that call as badly typed) and
    ``multi_turn_miss_func_49`` (its gold calls ``tail`` two turns before the
    held-out function is given to the model).
    """
    held = {n: int(t) for t, names in entry["missed_function"].items() for n in names}
    docs = {d["name"]: (c, d) for c in entry["involved_classes"] for d in func_docs(c)}
    for t, turn in enumerate(gold_calls(entry)):
        for name, kwargs in turn:
            if t < held.get(name, 0):
                return f"turn {t}: gold calls {name}, held out until turn {held[name]}"
            owner, doc = docs[name]
            try:
                bind(doc, signature_of(owner, name), ToolCall(name, kwargs))
            except ArgumentError as e:
                return f"turn {t}: gold call {name} breaks its schema ({e})"
    return None


@cache
def excluded(category: str) -> dict[str, str]:
    """The entries of ``category`` left out (id -> why; see :func:`unplayable`)."""
    return {e["id"]: why for e in load_category(category) if (why := unplayable(e)) is not None}


@cache
def split_entries(category: str, split: Split) -> tuple[dict[str, Any], ...]:
    """The playable entries of ``category`` in ``split``, in BFCL's order."""
    skip = excluded(category)
    return tuple(e for e in load_category(category)
                 if split_of(scenario_key(e["id"])) == split and e["id"] not in skip)


def user_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages)


def answer_text(truth: list[list[str]]) -> str:
    return "\n".join(f"turn {t + 1}: " + ("; ".join(calls) if calls else "(no call)")
                     for t, calls in enumerate(truth))


class BFCLTasks(TaskGenerator):
    """Tasks of one BFCL multi-turn category (deterministic: BFCL's entries, split by scenario)."""

    family = "bfcl"

    def __init__(self, seed: int = 0, category: str = "multi_turn_base") -> None:
        super().__init__(seed)
        if category not in CATEGORIES:
            raise ConfigError(f"unknown BFCL category {category!r}; choose one of {list(CATEGORIES)}.")
        self.category = category

    def content_key(self, task: Task) -> str:
        return scenario_key(task.meta["entry"]["id"])

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; choose one of {list(SPLITS)}.")
        self.check_difficulty(difficulty or self.difficulties[0])
        entries = split_entries(self.category, split)
        entry = entries[int(index) % len(entries)]
        first = entry["question"][0] if entry["question"] else []
        return Task(
            id=f"bfcl/{split}/{entry['id']}",
            prompt=user_text(first),
            answer=answer_text(entry["ground_truth"]),
            meta={"category": self.category, "entry": entry},
        )

    def size(self, split: Split) -> int:
        """How many tasks ``split`` holds."""
        return len(split_entries(self.category, split))
