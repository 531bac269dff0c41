"""Tasks of Tau2Retail-v0: τ²-bench's 114 retail tasks, as agentgym tasks.

Splits: ``test`` is τ²'s own ``test`` split (40 tasks, the held-out set τ²
reports); τ²'s ``train`` split (74) is divided into ``val`` (every fifth task
in τ²'s order: 15) and ``train`` (the other 59). Disjoint by construction.
Index ``i`` of a split is its task ``i % len(split)`` (a seed draws any index).

Each task is built once per process: τ²'s gold actions are replayed on the
pristine database (:class:`~.data.RetailState`), which gives the gold state
(``meta["gold_state"]``: the serialized entries the gold actions touched),
which gold actions τ² itself would see fail (``ok: false``; τ²'s evaluator
skips them too), and the customer's record, from which the scripted user's
facts are read (only those the scenario's ``known_info`` states).

>>> gen = Tau2RetailTasks()                        # doctest: +SKIP
>>> gen.task("val", 0).id                          # doctest: +SKIP
'tau2/retail/val/0'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agentgym import Task, TaskGenerator
from agentgym.envs.tools.tau2.data import WRITE_TOOLS, RetailData, RetailState, load_retail
from agentgym.envs.tools.tau2.user import first_person
from agentgym.errors import ConfigError
from agentgym.tasks import Split
from agentgym.tools import ToolCall

__all__ = ["Tau2RetailTasks", "split_ids", "EXCLUDED"]

EXCLUDED: dict[str, str] = {}
"""τ² task ids left out, with why (none: every retail task reaches 1.0 offline, its
reward basis being DB + COMMUNICATE, both computed without an LLM)."""

_ORDER = re.compile(r"#?\b(W\d{7})\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+\w")


def split_ids(data: RetailData, split: Split) -> tuple[str, ...]:
    """The τ² task ids of an agentgym split (see the module docstring)."""
    if split == "test":
        ids = data.splits["test"]
    elif split in ("train", "val"):
        source = data.splits["train"]
        ids = tuple(t for i, t in enumerate(source) if (i % 5 == 0) == (split == "val"))
    else:
        raise ConfigError(f"unknown split {split!r}; choose one of ['train', 'val', 'test'].")
    return tuple(t for t in ids if t not in EXCLUDED)


class Tau2RetailTasks(TaskGenerator):
    """τ²'s retail tasks (see the module docstring). ``seed`` changes nothing: the set is fixed."""

    family = "tau2_retail"
    difficulties = ("default",)

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.data = load_retail()
        self._cache: dict[tuple[str, str], Task] = {}

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        self.check_difficulty(difficulty or self.difficulties[0])
        ids = split_ids(self.data, split)
        tau2_id = ids[int(index) % len(ids)]
        key = (split, tau2_id)
        if key not in self._cache:
            self._cache[key] = build_task(self.data, split, tau2_id)
        return self._cache[key]

    def size(self, split: Split) -> int:
        return len(split_ids(self.data, split))


def build_task(data: RetailData, split: str, tau2_id: str) -> Task:
    """One τ² task as an agentgym :class:`Task` (gold replayed, user facts read)."""
    t = data.tasks[tau2_id]
    ins = t.user_scenario.instructions
    criteria = t.evaluation_criteria
    state = RetailState(data)
    gold: list[dict[str, Any]] = []
    user_id: str | None = None
    for action in criteria.actions or ():
        try:
            result = state.call(action.name, dict(action.arguments))
            ok = True
        except Exception:  # τ²'s evaluator skips a failing gold action the same way
            result, ok = None, False
        state.commit()
        if ok and user_id is None:
            user_id = _owner(state, action.name, action.arguments, result)
        gold.append({"name": action.name, "arguments": dict(action.arguments), "ok": ok})
    gold_state = [[kind, key, text] for (kind, key), text in state.snapshot().items()]
    state.reset()
    text = f"{ins.known_info or ''} {ins.reason_for_call or ''}"
    facts = _facts(data, user_id, str(ins.known_info or ""), text)
    request = first_person(ins.reason_for_call)
    writes = [g for g in gold if g["name"] in WRITE_TOOLS and g["ok"]]
    communicate = list(criteria.communicate_info or [])
    if writes:
        answer = "\n".join(ToolCall(g["name"], g["arguments"]).render() for g in writes)
    elif communicate:
        answer = "respond: " + ", ".join(communicate)
    elif any(g["name"] == "transfer_to_human_agents" for g in gold):
        answer = ToolCall("transfer_to_human_agents", {"summary": "..."}).render()
    else:
        answer = "respond: (no change to the database)"
    meta = {
        "tau2_id": tau2_id,
        "split": split,
        "reason_for_call": ins.reason_for_call,
        "known_info": ins.known_info,
        "unknown_info": ins.unknown_info,
        "task_instructions": ins.task_instructions,
        "request": request,
        "facts": facts,
        "gold": gold,
        "gold_state": gold_state,
        "communicate_info": communicate,
        "reward_basis": [str(getattr(b, "value", b)) for b in criteria.reward_basis],
    }
    return Task(id=f"tau2/retail/{split}/{tau2_id}", prompt="Hi! " + request, answer=answer, meta=meta)


def _owner(state: RetailState, name: str, arguments: Mapping[str, Any], result: Any) -> str | None:
    """The customer a gold action is about (find_user_id_* return it; others name it)."""
    if name.startswith("find_user_id") and isinstance(result, str):
        return result
    if isinstance(arguments.get("user_id"), str):
        return arguments["user_id"]
    order = state.db.orders.get(arguments.get("order_id", ""))
    return order.user_id if order is not None else None


def _facts(data: RetailData, user_id: str | None, known: str, text: str) -> dict[str, Any]:
    """What the customer knows about itself: the record's fields that ``known_info``
    states (every e-mail it states, even a wrong one), and the order numbers the scenario names."""
    low = known.lower()
    facts: dict[str, Any] = {"emails": _EMAIL.findall(known)}
    user = data.db.users.get(user_id) if user_id else None
    if user is not None:
        first, last = user.name.first_name, user.name.last_name
        if first.lower() in low and last.lower() in low:
            facts["name"] = f"{first} {last}"
        elif first.lower() in low:
            facts["first_name"] = first
        if user.address.zip in known:
            facts["zip"] = user.address.zip
        if user.user_id.lower() in low:
            facts["user_id"] = user.user_id
        if user.email.lower() in low and user.email not in facts["emails"]:
            facts["emails"].insert(0, user.email)
    if "zip" not in facts:
        zips = re.findall(r"\b\d{5}\b", known)
        if zips:
            facts["zip"] = zips[0]
    orders = []
    for m in _ORDER.finditer(text):
        oid = "#" + m.group(1)
        if oid not in orders:
            orders.append(oid)
    facts["orders"] = orders
    return facts
