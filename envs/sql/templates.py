"""Typed SQL question templates: filter, aggregate, group-by/having, top-k with
ties, multi-join, NOT IN, EXISTS, correlated subquery, set operations, window
functions, dates.

A template is a function ``(domain, rng, rows) -> Question | None``. It picks
tables, columns and constants from the task's rows and returns the English
question, the gold query, whether the gold result is ordered, and its *near
misses*: simpler queries (a filter dropped, ties ignored, the look-alike date
column, an uncorrelated average) that :mod:`agentgym.envs.sql.tasks` uses to
reject questions that a simpler query answers too.

Gold queries stay in a portable subset that SQLite and PostgreSQL run with the
same results: no ``LIKE`` (case rules differ), no integer division, no
date functions (dates compare as ISO text; months are
``SUBSTR(CAST(d AS TEXT), 1, 7)``), ``IS NOT NULL`` on every ordering key
(NULLs sort first in one and last in the other), unique tie-breakers on
every ``ORDER BY``, ``HAVING`` on expressions rather than aliases.

>>> from agentgym.envs.sql.database import DbRef, generate_rows
>>> import numpy as np
>>> q = t_aggregate(DOMAINS["retail"], np.random.default_rng(1), generate_rows(DbRef("retail", 0)), run=None)
>>> q.gold.startswith("SELECT")
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentgym.envs.sql.domains import DOMAINS, Column, Domain, Table
from agentgym.envs.sql.predicates import (
    MONTHS,
    Pred,
    column_values,
    lit,
    make_pred,
    pred_columns,
)

__all__ = ["Question", "TEMPLATES", "BY_DIFFICULTY"]

Rows = dict[str, list[tuple[Any, ...]]]
Run = Callable[[str], list[tuple[Any, ...]]]
"""Runs a query on the task's database (variant 0) and returns its rows."""


@dataclass(frozen=True)
class Question:
    kind: str
    text: str
    gold: str
    ordered: bool
    near_misses: tuple[str, ...]
    tables: tuple[str, ...]


def _pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))] if items else None


def _a(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _entity_tables(domain: Domain, *, need_label: bool = True) -> list[Table]:
    return [t for t in domain.tables if not t.is_lookup and (t.label is not None or not need_label)]


def _out(table: Table, alias: str = "") -> tuple[str, str]:
    """(SQL, English) of what identifies a row of ``table`` in an answer."""
    if table.label is not None:
        return f"{alias}{table.label.name}", f"{table.label.phrase}s"
    return f"{alias}{table.pk.name}", "ids"


def _child_phrase(parent: Table, child: Table, fk: Column, clause: str, negate: bool) -> str:
    tail = f" {clause}" if clause else ""
    if fk.phrase == parent.noun:
        return f"have {'no' if negate else 'at least one'} {child.plural if negate else child.noun}{tail}"
    return f"are {'not ' if negate else ''}the {fk.phrase} of {'any' if negate else 'at least one'} {child.noun}{tail}"


# --------------------------------------------------------------------------
# easy
# --------------------------------------------------------------------------
def t_filter(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    table = _pick(rng, _entity_tables(domain, need_label=False))
    cols = pred_columns(table)
    if not cols:
        return None
    n = 1 if rng.random() < 0.4 or len(cols) < 2 else 2
    picked = [cols[i] for i in rng.choice(len(cols), size=n, replace=False)]
    preds = [make_pred(domain, table, c, rng, rows) for c in picked]
    if any(p is None for p in preds):
        return None
    out, out_en = _out(table)
    where = " AND ".join(p.sql for p in preds)
    near = [f"SELECT {out} FROM {table.name}"]
    if n == 2:
        near += [f"SELECT {out} FROM {table.name} WHERE {p.sql}" for p in preds]
    text = f"List the {out_en} of the {table.plural} {' and '.join(p.clause for p in preds)}."
    return Question("filter", text, f"SELECT {out} FROM {table.name} WHERE {where}", False, tuple(near), (table.name,))


_AGGS = {"SUM": "total", "AVG": "average", "MIN": "smallest", "MAX": "largest"}


def t_aggregate(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    table = _pick(rng, _entity_tables(domain, need_label=False))
    col = _pick(rng, pred_columns(table))
    pred = make_pred(domain, table, col, rng, rows) if col is not None else None
    if pred is None:
        return None
    measures = table.with_role("measure")
    fks = table.with_role("fk")
    kind = _pick(rng, ["COUNT"] + (["AGG"] if measures else []) + (["DISTINCT"] if fks else []))
    if kind == "COUNT":
        expr, text = "COUNT(*)", f"How many {table.plural} are there {pred.clause}?"
    elif kind == "AGG":
        m, fn = _pick(rng, measures), _pick(rng, sorted(_AGGS))
        expr, text = f"{fn}({m.name})", f"What is the {_AGGS[fn]} {m.phrase} of the {table.plural} {pred.clause}?"
    else:
        fk = _pick(rng, fks)
        parent = domain.table(fk.ref or "")
        expr = f"COUNT(DISTINCT {fk.name})"
        text = f"How many different {parent.plural} are the {fk.phrase} of at least one {table.noun} {pred.clause}?"
    gold = f"SELECT {expr} FROM {table.name} WHERE {pred.sql}"
    return Question("aggregate", text, gold, False, (f"SELECT {expr} FROM {table.name}",), (table.name,))


def _date_columns(domain: Domain) -> list[tuple[Table, Column]]:
    return [(t, c) for t in _entity_tables(domain, need_label=False) for c in t.with_role("date")]


def t_date_month(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    table, col = _pick(rng, _date_columns(domain))
    month = str(_pick(rng, column_values(rows, table, col)))[:7]
    y, m = int(month[:4]), int(month[5:7])
    nxt = f"{y + (m == 12)}-{m % 12 + 1:02d}-01"
    cond = f"{{c}} >= '{month}-01' AND {{c}} < '{nxt}'"
    gold = f"SELECT COUNT(*) FROM {table.name} WHERE {cond.format(c=col.name)}"
    near = [f"SELECT COUNT(*) FROM {table.name}"]
    near += [f"SELECT COUNT(*) FROM {table.name} WHERE {cond.format(c=o.name)}"
             for o in table.with_role("date") if o is not col]
    text = f"How many {table.plural} have {_a(col.phrase)} in {MONTHS[m - 1]} {y}?"
    return Question("date_month", text, gold, False, tuple(near), (table.name,))


# --------------------------------------------------------------------------
# medium
# --------------------------------------------------------------------------
def t_group_having(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    table = _pick(rng, _entity_tables(domain, need_label=False))
    keys = table.with_role("category", "code") + [c for c in table.with_role("fk") if domain.table(c.ref or "").label]
    key = _pick(rng, keys)
    if key is None:
        return None
    if key.role == "fk":
        parent = domain.table(key.ref or "")
        assert parent.label is not None
        key_sql, key_en = f"p.{parent.label.name}", f"{key.phrase} ({parent.label.phrase})"
        frm = f"{table.name} AS t JOIN {parent.name} AS p ON t.{key.name} = p.{parent.pk.name}"
        tables: tuple[str, ...] = (table.name, parent.name)
    else:
        key_sql, key_en = f"t.{key.name}", f"{key.phrase} code" if key.role == "code" else key.phrase
        frm, tables = f"{table.name} AS t", (table.name,)
    measures = table.with_role("measure")
    if measures and rng.random() < 0.5:
        m = _pick(rng, measures)
        agg, agg_en = f"SUM(t.{m.name})", f"total {m.phrase}"
    else:
        agg, agg_en = "COUNT(*)", f"number of {table.plural}"
    # The threshold: a value between the groups' aggregates, so HAVING bites.
    values = sorted(v for (v,) in run(f"SELECT {agg} FROM {frm} GROUP BY {key_sql}") if v is not None)
    if len(values) < 3:
        return None
    th = values[int(rng.integers(1, len(values) - 1))]
    th = round(th, 2) if isinstance(th, float) else th
    base = f"SELECT {key_sql}, {agg} FROM {frm} GROUP BY {key_sql}"
    gold = f"{base} HAVING {agg} > {lit(th)}"
    text = (f"For each {key_en}, give the {agg_en}. Only keep groups whose {agg_en} is greater than {lit(th)}. "
            f"Return the {key_en} and the {agg_en}.")
    return Question("group_having", text, gold, False, (base,), tables)


def _maybe_filter(domain: Domain, table: Table, rng: np.random.Generator, rows: Rows) -> Pred | None:
    """Half the time, a condition on a category or code column of ``table``
    (narrows the population; multiplies the distinct questions)."""
    cols = table.with_role("category", "code")
    if not cols or rng.random() < 0.5:
        return None
    return make_pred(domain, table, _pick(rng, cols), rng, rows, allow_null=False)


def t_topk_ties(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    table = _pick(rng, [t for t in _entity_tables(domain) if t.with_role("measure")])
    if table is None:
        return None
    m = _pick(rng, table.with_role("measure"))
    out, out_en = _out(table)
    k = int(rng.integers(2, 6))
    high = bool(rng.random() < 0.7)
    order, word = ("DESC", "highest") if high else ("ASC", "lowest")
    cmp = ">=" if high else "<="
    pred = _maybe_filter(domain, table, rng, rows)

    def q(p: Pred | None) -> tuple[str, ...]:
        w = f"{p.sql} AND " if p else ""
        kth = f"SELECT {m.name} FROM {table.name} WHERE {w}{m.name} IS NOT NULL ORDER BY {m.name} {order} LIMIT 1 OFFSET {k - 1}"
        return (
            f"SELECT {out}, {m.name} FROM {table.name} WHERE {w}{m.name} {cmp} ({kth})",
            f"SELECT {out}, {m.name} FROM {table.name} WHERE {w}{m.name} IS NOT NULL ORDER BY {m.name} {order} LIMIT {k}",
            f"SELECT {out}, {m.name} FROM {table.name} WHERE {w}{m.name} IN (SELECT DISTINCT {m.name} FROM {table.name} "
            f"WHERE {w}{m.name} IS NOT NULL ORDER BY {m.name} {order} LIMIT {k})",
        )

    gold, *near = q(pred)
    if pred is not None:
        near.append(q(None)[0])
    among = f"Among the {table.plural} {pred.clause}, which" if pred else f"Which {table.plural}"
    text = (f"{among} have the {k} {word} {m.phrase} values? Keep ties: include every {table.noun} "
            f"whose {m.phrase} is tied with the {k}th one. Return the {out_en[:-1]} and the {m.phrase}.")
    return Question("topk_ties", text, gold, False, tuple(near), (table.name,))


def _join_sql(domain: Domain, tables: tuple[str, ...]) -> str:
    parts = [f"{tables[0]} AS t0"]
    for i in range(1, len(tables)):
        child, ccol, parent, pcol = domain.fk_between(tables[i - 1], tables[i])
        a, b = (f"t{i - 1}", f"t{i}") if child == tables[i - 1] else (f"t{i}", f"t{i - 1}")
        parts.append(f"JOIN {tables[i]} AS t{i} ON {a}.{ccol} = {b}.{pcol}")
    return " ".join(parts)


def t_multi_join(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run, *, min_len: int = 2, max_len: int = 9,
                 kind: str = "multi_join") -> Question | None:
    path = _pick(rng, [p for p in domain.paths if min_len <= len(p.tables) <= max_len])
    if path is None:
        return None
    first, last = domain.table(path.tables[0]), domain.table(path.tables[-1])
    n = len(path.tables) - 1
    col = _pick(rng, pred_columns(last, joinable=True))
    pred = make_pred(domain, last, col, rng, rows, f"t{n}.", allow_null=False, allow_unique=True) if col is not None else None
    if pred is None or not pred.cond:
        return None
    out, out_en = _out(first, "t0.")
    frm = _join_sql(domain, path.tables)
    gold = f"SELECT DISTINCT {out} FROM {frm} WHERE {pred.sql}"
    text = f"List the distinct {out_en} of the {path.phrase.format(cond=pred.cond)}."
    return Question(kind, text, gold, False, (f"SELECT DISTINCT {out} FROM {frm}",), path.tables)


def t_date_by_month(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    table, col = _pick(rng, _date_columns(domain))
    year = int(str(_pick(rng, column_values(rows, table, col)))[:4])
    month = "SUBSTR(CAST({c} AS TEXT), 1, 7)"
    rng_cond = f"{{c}} >= '{year}-01-01' AND {{c}} < '{year + 1}-01-01'"
    pred = _maybe_filter(domain, table, rng, rows)

    def q(c: str, with_year: bool = True, p: Pred | None = pred) -> str:
        where = f" WHERE {rng_cond.format(c=c)}" if with_year else f" WHERE {c} IS NOT NULL"
        where += f" AND {p.sql}" if p else ""
        return f"SELECT {month.format(c=c)} AS month, COUNT(*) AS n FROM {table.name}{where} GROUP BY {month.format(c=c)} ORDER BY month"

    near = [q(col.name, False)] + [q(o.name) for o in table.with_role("date") if o is not col]
    if pred is not None:
        near.append(q(col.name, p=None))
    which = f"{table.plural} {pred.clause}" if pred else table.plural
    text = (f"For each month of {year}, how many {which} have {_a(col.phrase)} in that month? Return the month "
            f"as 'YYYY-MM' and the count, ordered by month; leave out months with none.")
    return Question("date_by_month", text, q(col.name), True, tuple(near), (table.name,))


# --------------------------------------------------------------------------
# hard
# --------------------------------------------------------------------------
def _parent_child(domain: Domain, rng: np.random.Generator) -> tuple[Table, Table, Column] | None:
    pairs = [(p, c, fk) for p in _entity_tables(domain) for c, fk in domain.children(p.name) if not c.is_lookup]
    return _pick(rng, pairs)


def t_not_in(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    pc = _parent_child(domain, rng)
    if pc is None:
        return None
    parent, child, fk = pc
    out, out_en = _out(parent)
    col = _pick(rng, pred_columns(child))
    pred = make_pred(domain, child, col, rng, rows) if col is not None else None
    if pred is None:
        return None
    sub = f"SELECT {fk.name} FROM {child.name} WHERE {fk.name} IS NOT NULL"
    gold = f"SELECT {out} FROM {parent.name} WHERE {parent.pk.name} NOT IN ({sub} AND {pred.sql})"
    near = (f"SELECT {out} FROM {parent.name} WHERE {parent.pk.name} NOT IN ({sub})",)
    text = f"Which {parent.plural} {_child_phrase(parent, child, fk, pred.clause, True)}? List their {out_en}."
    return Question("not_in", text, gold, False, near, (parent.name, child.name))


def t_exists(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    pc = _parent_child(domain, rng)
    if pc is None:
        return None
    parent, child, fk = pc
    out, out_en = _out(parent, "p.")
    col = _pick(rng, pred_columns(child))
    pred = make_pred(domain, child, col, rng, rows, "c.") if col is not None else None
    if pred is None:
        return None
    sub = f"SELECT 1 FROM {child.name} AS c WHERE c.{fk.name} = p.{parent.pk.name}"
    gold = f"SELECT {out} FROM {parent.name} AS p WHERE EXISTS ({sub} AND {pred.sql})"
    near = (f"SELECT {out} FROM {parent.name} AS p WHERE EXISTS ({sub})",)
    text = f"Which {parent.plural} {_child_phrase(parent, child, fk, pred.clause, False)}? List their {out_en}."
    return Question("exists", text, gold, False, near, (parent.name, child.name))


def t_above_group_avg(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    cands = [t for t in _entity_tables(domain, need_label=False) if t.with_role("measure") and t.with_role("category", "code", "fk")]
    table = _pick(rng, cands)
    if table is None:
        return None
    m, g = _pick(rng, table.with_role("measure")), _pick(rng, table.with_role("category", "code", "fk"))
    out, out_en = _out(table, "a.")
    g_en = g.phrase
    sub = f"SELECT AVG(b.{m.name}) FROM {table.name} AS b"
    gold = f"SELECT {out}, a.{m.name} FROM {table.name} AS a WHERE a.{m.name} > ({sub} WHERE b.{g.name} = a.{g.name})"
    near = (f"SELECT {out}, a.{m.name} FROM {table.name} AS a WHERE a.{m.name} > ({sub})",)
    text = (f"Which {table.plural} have {m.phrase} above the average {m.phrase} of the {table.plural} with the same "
            f"{g_en}? Return the {out_en[:-1]} and the {m.phrase}.")
    return Question("above_group_avg", text, gold, False, near, (table.name,))


def t_set_op(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    pc = _parent_child(domain, rng)
    if pc is None:
        return None
    parent, child, fk = pc
    col = _pick(rng, child.with_role("category", "code"))
    if col is None:
        return None
    values = sorted(set(column_values(rows, child, col)))
    if len(values) < 2:
        return None
    v1, v2 = (values[i] for i in rng.choice(len(values), size=2, replace=False))
    codes = domain.codes(col.ref) if col.role == "code" and col.ref else {}

    def en(v: Any) -> str:
        return f"whose {col.phrase} is {codes[v]}" if codes else f"whose {col.phrase} is {lit(v)}"

    out, out_en = _out(parent, "p.")
    part = f"SELECT {out} FROM {parent.name} AS p JOIN {child.name} AS c ON c.{fk.name} = p.{parent.pk.name} WHERE c.{col.name} = "
    op = _pick(rng, ["INTERSECT", "EXCEPT", "UNION"])
    gold = f"{part}{lit(v1)} {op} {part}{lit(v2)}"
    near = [f"SELECT DISTINCT {out} FROM {parent.name} AS p JOIN {child.name} AS c ON c.{fk.name} = p.{parent.pk.name} WHERE c.{col.name} = {lit(v)}" for v in (v1, v2)]
    have = _child_phrase(parent, child, fk, "", False)
    if op == "INTERSECT":
        text = f"Which {parent.plural} {have} {en(v1)} and also one {en(v2)}?"
    elif op == "EXCEPT":
        text = f"Which {parent.plural} {have} {en(v1)} but none {en(v2)}?"
    else:
        text = f"Which {parent.plural} {have} {en(v1)} or one {en(v2)}?"
    text += f" List each one's {out_en[:-1]} once."
    return Question("set_op", text, gold, False, tuple(near), (parent.name, child.name))


def t_window_top(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    cands = [t for t in _entity_tables(domain) if t.with_role("measure") and t.with_role("category", "code")]
    table = _pick(rng, cands)
    if table is None:
        return None
    m, g = _pick(rng, table.with_role("measure")), _pick(rng, table.with_role("category", "code"))
    out, out_en = _out(table)
    g_en = f"{g.phrase} code" if g.role == "code" else g.phrase
    high = bool(rng.random() < 0.7)
    order, word = ("DESC", "highest") if high else ("ASC", "lowest")

    def q(part: str) -> str:
        return (f"SELECT grp, item, val FROM (SELECT {g.name} AS grp, {out} AS item, {m.name} AS val, "
                f"RANK() OVER ({part}ORDER BY {m.name} {order}) AS rnk FROM {table.name} WHERE {m.name} IS NOT NULL) AS ranked "
                "WHERE rnk = 1")

    text = (f"For each {g_en}, which {table.noun} has the {word} {m.phrase}? Include ties. Return the {g_en}, "
            f"the {out_en[:-1]} and the {m.phrase}.")
    return Question("window_top", text, q(f"PARTITION BY {g.name} "), False, (q(""),), (table.name,))


def t_window_running(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    table, col = _pick(rng, _date_columns(domain))
    year = int(str(_pick(rng, column_values(rows, table, col)))[:4])
    month = f"SUBSTR(CAST({col.name} AS TEXT), 1, 7)"

    def per_month(since: str) -> str:
        return (f"SELECT {month} AS month, COUNT(*) AS n FROM {table.name} WHERE {col.name} >= '{since}' "
                f"AND {col.name} < '{year + 1}-01-01' GROUP BY {month}")

    window = "SUM(n) OVER (ORDER BY month) AS running_total"
    gold = f"SELECT month, n, {window} FROM ({per_month(f'{year}-01-01')}) AS per_month ORDER BY month"
    # The near miss runs the total from the table's first date, not from January.
    near = (f"SELECT month, n, running_total FROM (SELECT month, n, {window} FROM ({per_month('0001-01-01')}) "
            f"AS per_month) AS totals WHERE month >= '{year}-01' ORDER BY month",)
    text = (f"For each month of {year} in which some {table.plural} have {_a(col.phrase)}, give the month as "
            f"'YYYY-MM', the number of {table.plural} with {_a(col.phrase)} in that month, and the running "
            f"total of that number from January {year} on, ordered by month.")
    return Question("window_running", text, gold, True, near, (table.name,))


def t_multi_join_long(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    return t_multi_join(domain, rng, rows, run, min_len=3, kind="multi_join_long")


def t_multi_join_short(domain: Domain, rng: np.random.Generator, rows: Rows, run: Run) -> Question | None:
    return t_multi_join(domain, rng, rows, run, max_len=3)


Template = Callable[[Domain, np.random.Generator, Rows, Run], "Question | None"]
TEMPLATES: dict[str, Template] = {
    "filter": t_filter, "aggregate": t_aggregate, "date_month": t_date_month,
    "group_having": t_group_having, "topk_ties": t_topk_ties, "multi_join": t_multi_join_short,
    "date_by_month": t_date_by_month, "multi_join_long": t_multi_join_long, "not_in": t_not_in,
    "exists": t_exists, "above_group_avg": t_above_group_avg, "set_op": t_set_op, "window_top": t_window_top,
    "window_running": t_window_running,
}
BY_DIFFICULTY: dict[str, tuple[str, ...]] = {
    "easy": ("filter", "aggregate", "date_month"),
    "medium": ("group_having", "topk_ties", "multi_join", "date_by_month"),
    "hard": ("multi_join_long", "not_in", "exists", "above_group_avg", "set_op", "window_top", "window_running"),
}
assert set(DOMAINS)  # the templates are written against these domains
