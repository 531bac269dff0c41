"""Predicates for question templates: a SQL condition and the English for it.

Constants are drawn from the task's own rows, so every condition selects
something; codes are phrased by their meaning (the agent must find the code).

>>> from agentgym.envs.sql.database import DbRef, generate_rows
>>> from agentgym.envs.sql.domains import DOMAINS
>>> import numpy as np
>>> d = DOMAINS["retail"]; rows = generate_rows(DbRef("retail", 0))
>>> p = make_pred(d, d.table("orders"), d.table("orders").column("status"), np.random.default_rng(0), rows, "o.")
>>> p.sql.startswith("o.status = '")
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.envs.sql.domains import Column, Domain, Table

__all__ = ["Pred", "make_pred", "lit", "column_values", "pred_columns"]

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class Pred:
    """``sql`` (with the table alias), ``clause`` (a relative clause:
    "whose city is 'Lyon'", "that have not been shipped") and ``cond``
    (the bare condition "city is 'Lyon'", or "" when it only reads as a clause)."""

    sql: str
    clause: str
    cond: str
    column: str


def lit(v: Any) -> str:
    """A SQL literal that both SQLite and PostgreSQL read the same way."""
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    return str(int(v))


def column_values(rows: dict[str, list[tuple[Any, ...]]], table: Table, col: Column) -> list[Any]:
    i = [c.name for c in table.columns].index(col.name)
    return [r[i] for r in rows[table.name] if r[i] is not None]


def pred_columns(table: Table, *, joinable: bool = False) -> list[Column]:
    """Columns a predicate can be made on (``joinable``: ones that read as a bare condition)."""
    roles = ("category", "code", "measure", "date") if joinable else ("category", "code", "measure", "date", "flag")
    cols = [c for c in table.columns if c.role in roles]
    if not joinable:
        cols += [c for c in table.columns if c.null_phrase and c not in cols]
    return cols


def make_pred(domain: Domain, table: Table, col: Column, rng: np.random.Generator,
              rows: dict[str, list[tuple[Any, ...]]], alias: str = "", *, allow_null: bool = True,
              allow_unique: bool = False) -> Pred | None:
    """A random condition on ``col`` whose constant occurs in ``rows``. A
    category whose values are all distinct (a name) is a lookup, not a filter:
    refused unless ``allow_unique`` (e.g. at the far end of a join)."""
    a = alias
    values = column_values(rows, table, col)
    if not values:
        return None
    if col.null_phrase and allow_null and rng.random() < 0.4:
        return Pred(f"{a}{col.name} IS NULL", f"that {col.null_phrase}", "", col.name)
    if col.role == "code":
        codes = domain.codes(col.ref or "")
        code = str(values[int(rng.integers(len(values)))])
        cond = f"{col.phrase} is {codes[code]}"
        return Pred(f"{a}{col.name} = {lit(code)}", f"whose {cond}", cond, col.name)
    if col.role == "flag":
        v = int(values[int(rng.integers(len(values)))])
        return Pred(f"{a}{col.name} = {v}", f"that are {'' if v else 'not '}{col.phrase}", "", col.name)
    if col.role == "category":
        if not allow_unique and len(set(values)) == len(values):
            return None
        v = values[int(rng.integers(len(values)))]
        # Sometimes the question spells the value as a person would ("lyon",
        # "home and garden" style): the stored spelling must be looked up.
        casual = isinstance(v, str) and len(v) >= 4 and v.replace(" ", "").isalpha() and rng.random() < 0.4
        cond = f"{col.phrase} is {v.lower()}" if casual else f"{col.phrase} is {lit(v)}"
        return Pred(f"{a}{col.name} = {lit(v)}", f"whose {cond}", cond, col.name)
    if col.role in ("measure", "date"):
        ordered = sorted(values)
        v = ordered[int(len(ordered) * float(rng.uniform(0.25, 0.75)))]
        if col.role == "date":
            after = bool(rng.random() < 0.5)
            op, words = (">=", "on or after") if after else ("<", "before")
            cond = f"{col.phrase} is {words} {_long_date(v)}"
        else:
            greater = bool(rng.random() < 0.5)
            op, words = (">", "greater than") if greater else ("<", "less than")
            cond = f"{col.phrase} is {words} {lit(v)}"
        return Pred(f"{a}{col.name} {op} {lit(v)}", f"whose {cond}", cond, col.name)
    return None


def _long_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
