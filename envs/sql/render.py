"""Text the agent reads: schemas and query results, compact and identical in
shape on both backends.

>>> from agentgym.envs.sql.backends import QueryResult
>>> print(render_result(QueryResult(["city", "n"], [("Lyon", 3), (None, 1.5)], False), 20))
city | n
-----+----
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
    text = str(v).replace("\n", "\\n")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render_result(result: QueryResult, max_rows: int) -> str:
    """A small pipe-separated table with a row count line."""
    if not result.columns:
        return "(no result set)"
    cells = [[fmt_value(v) for v in row] for row in result.rows[:max_rows]]
    names = [str(c)[:MAX_CELL] for c in result.columns]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    lines = [" | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    shown = len(cells)
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
