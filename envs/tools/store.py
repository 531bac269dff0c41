"""The state of a back-end: named tables of records, with an undo journal.

A :class:`Store` starts from a world's initial tables (shared, never
modified: a reset costs one shallow copy per table) and records every change
in a journal, so that

* a turn whose calls fail part-way is rolled back exactly (:meth:`mark`,
  :meth:`rollback`): an invalid action never changes the back-end;
* the episode's net effect on the state is cheap to read (:meth:`changes`):
  the grader compares it with the gold plan's, and the anchor is built from it.

Records are dicts that are *replaced*, never modified in place (``put(table,
key, {**old, "status": "cancelled"})``): the initial tables are shared by every
episode of a world.

>>> s = Store({"orders": {"A": {"status": "open"}}})
>>> m = s.mark()
>>> s.put("orders", "A", {"status": "cancelled"})
>>> s.changes()
{('orders', 'A'): {'status': 'cancelled'}}
>>> s.rollback(m)
>>> s.changes(), s.get("orders", "A")
({}, {'status': 'open'})
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Store", "canonical"]

_MISSING: Any = object()


# One encoder for every call: json.dumps builds a new one whenever an option is not the default.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical(obj: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces): equal states, equal text."""
    return _CANONICAL.encode(obj)


class Store:
    """Tables of records with an undo journal (see the module docstring)."""

    __slots__ = ("initial", "tables", "journal")

    def __init__(self, initial: Mapping[str, Mapping[str, dict[str, Any]]]) -> None:
        self.initial = initial
        self.tables: dict[str, dict[str, dict[str, Any]]] = {t: dict(rows) for t, rows in initial.items()}
        self.journal: list[tuple[str, str, Any]] = []

    # -- reading ---------------------------------------------------------
    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self.tables[table].get(key)

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        return iter(self.tables[table].values())

    def items(self, table: str) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(self.tables[table].items())

    # -- writing (journaled) ------------------------------------------------
    def put(self, table: str, key: str, record: dict[str, Any]) -> None:
        rows = self.tables[table]
        self.journal.append((table, key, rows.get(key, _MISSING)))
        rows[key] = record

    def delete(self, table: str, key: str) -> None:
        rows = self.tables[table]
        self.journal.append((table, key, rows.pop(key)))

    def mark(self) -> int:
        """A point to :meth:`rollback` to."""
        return len(self.journal)

    def rollback(self, mark: int) -> None:
        """Undo every change made since ``mark``."""
        journal = self.journal
        while len(journal) > mark:
            table, key, old = journal.pop()
            if old is _MISSING:
                self.tables[table].pop(key, None)
            else:
                self.tables[table][key] = old

    # -- comparing -----------------------------------------------------------
    def changes(self) -> dict[tuple[str, str], dict[str, Any] | None]:
        """Net changes since the start: ``(table, key) -> record`` (``None``: deleted)."""
        out: dict[tuple[str, str], dict[str, Any] | None] = {}
        for table, key, _ in self.journal:
            if (table, key) in out:
                continue
            now = self.tables[table].get(key)
            if now != self.initial[table].get(key):
                out[(table, key)] = now
        return out

    def digest(self) -> str:
        """A hash of every table (tests check that failed actions leave it unchanged)."""
        return hashlib.blake2b(canonical(self.tables).encode(), digest_size=16).hexdigest()
