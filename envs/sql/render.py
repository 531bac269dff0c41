"""Text the agent reads: schemas and query results, compact and identical in
shape on both backends.

>>> from agentgym.envs.sql.backends import QueryResult
>>> print(render_result(QueryResult(["city", "n"], [("Lyon", 3), (None, 1.5)], False), 20))
city | n
Lyon | 3
NULL | 1.5
(2 rows)
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from agentgym.envs.sql.backends import QueryResult
from agentgym.envs.sql.database import Dialect, column_type
from agentgym.envs.sql.domains import Domain, Table

__all__ = ["render_result", "render_table", "render_schema", "fmt_value"]

MAX_CELL = 60


def fmt_value(v: Any) -> str:
    t = type(v)
    if t is str:  # the common cases first: this runs for every cell shown
        return v if len(v) <= MAX_CELL and "\n" not in v else _clip(v)
    if t is int:
        return str(v)
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (float, decimal.Decimal)):
        text = f"{float(v):.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "x'" + bytes(v)[:24].hex() + "'"
    return _clip(str(v))


def _clip(text: str) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render_result(result: QueryResult, max_rows: int) -> str:
    """Rows as ``a | b`` lines under a header, with a row-count line (no
    padding: it costs tokens and time, and models read it as well)."""
    if not result.columns:
        return "(no result set)"
    fmt = fmt_value
    lines = [" | ".join(str(c)[:MAX_CELL] for c in result.columns)]
    lines += [" | ".join([fmt(v) for v in row]) for row in result.rows[:max_rows]]
    shown = len(lines) - 1
    if result.truncated or len(result.rows) > max_rows:
        lines.append(f"(first {shown} rows shown; the query returns more)")
    else:
        lines.append(f"({shown} row{'s' if shown != 1 else ''})")
    return "\n".join(lines)


def render_table(domain: Domain, table: Table, dialect: Dialect) -> str:
    """``describe_table``'s text: columns, types, keys, references, nullability."""
    lines = [f"Table {table.name}:"]
    for c in table.columns:
        extra = []
        if c.role == "pk":
            extra.append("PRIMARY KEY")
        elif not c.nullable:
            extra.append("NOT NULL")
        if c.ref:
            ref = domain.table(c.ref)
            extra.append(f"REFERENCES {ref.name}({ref.pk.name})")
        lines.append(f"  {c.name} {column_type(c, dialect)}" + (" " + " ".join(extra) if extra else ""))
    return "\n".join(lines)


def render_schema(domain: Domain, dialect: Dialect, mode: str) -> str:
    """The schema part of the first observation: ``full``, ``tables`` or ``none``."""
    if mode == "full":
        return "Schema:\n" + "\n".join(render_table(domain, t, dialect) for t in domain.tables)
    if mode == "tables":
        return ("Tables: " + ", ".join(t.name for t in domain.tables)
                + "\nUse describe_table to see a table's columns.")
    return "The schema is not shown: explore it with list_tables and describe_table."
