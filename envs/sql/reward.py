"""Reward of SQL-v0: execution match (test-suite accuracy) plus optional partial parts.

* ``execution`` (weight 1): the submitted query's result equals the gold
  query's result on the task's database **and on every fuzzed variant** of it
  (same schema, other rows). Results compare as multisets of rows; order
  matters only when the gold query orders (``ORDER BY`` at the top). Values
  are normalized first (``3 == 3.0 == Decimal('3.00')``, floats to 4
  decimals, dates as ISO text), and a permutation of the columns is accepted.
* ``syntax``: the query ran without error on the task's database.
* ``schema_linking``: Jaccard similarity of the tables and columns the query
  mentions and those the gold query mentions (parsed with ``sqlglot``).
* ``row_f1``: F1 of the result rows against the gold rows (multisets), on the
  task's database.
* ``format``: the submission was one read-only statement.

The partial parts are off by default (weight 0), so ``reward == success ==
exact execution match``; turn them on with ``reward_weights={"row_f1": 0.1, ...}``.

* ``explanation`` (only with the env's ``explanation_judge=``; weight
  :data:`EXPLANATION_WEIGHT` unless ``reward_weights`` says otherwise): an LLM
  judge's verdict on the natural-language explanation written beside the
  ``submit`` call (the action's text outside the tool call), **gated on
  execution**: judged only when the query is correct. A judge that cannot
  answer leaves the part unavailable (``info["reward_unavailable"]``).

The parts are an :class:`agentgym.rewards.Reward` (:func:`build_reward`).

>>> results_match([(1, "a")], [("a", 1.0)], ordered=False)
True
>>> round(row_f1([(1,), (2,)], [(1,), (3,)]), 2)
0.5
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agentgym.errors import ConfigError
from agentgym.rewards import Part, Reward, Rubric

__all__ = ["normalize_rows", "results_match", "row_f1", "schema_linking", "DEFAULT_WEIGHTS", "check_weights",
           "EXPLANATION_RUBRIC", "EXPLANATION_WEIGHT", "Submission", "build_reward"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "execution": 1.0, "syntax": 0.0, "schema_linking": 0.0, "row_f1": 0.0, "format": 0.0,
}
EXPLANATION_WEIGHT = 0.2

EXPLANATION_RUBRIC = Rubric(
    "sql-explanation",
    "The agent answered a question about a database with a SQL query (correct, given in the privileged facts). "
    "The RESPONSE is the agent's natural-language explanation of its answer. Say YES only if it accurately says "
    "what the query computes and how that answers the question, without false claims about the query or data.",
)


@dataclass(frozen=True)
class Submission:
    """What the outcome parts are scored on: the submitted query, its result on
    the task's database (or the error text), whether it matched everywhere, and
    the explanation written beside the ``submit`` call."""

    query: str
    main: Any
    ok_all: bool
    explanation: str = ""


def build_reward(weights: Mapping[str, float], score: Any, explanation: Callable[[Submission], Any] | None = None,
                 ) -> Reward:
    """SQL-v0's reward: ``score`` is the env (``_syntax``, ``_schema_linking``,
    ``_row_f1`` methods on a :class:`Submission`); ``explanation`` the judged
    part's function, gated on ``execution``, if any."""
    parts = [
        Part("execution", lambda s: float(s.ok_all), weight=weights["execution"], keep_zero_weight=True,
             doc="result matches on the database and every variant"),
        Part("syntax", lambda s: float(not isinstance(s.main, str)), weight=weights["syntax"]),
        Part("format", lambda s: 1.0, weight=weights["format"], doc="passed the read-only single-statement check"),
        Part("schema_linking", score._schema_linking, weight=weights["schema_linking"]),
        Part("row_f1", score._row_f1, weight=weights["row_f1"]),
    ]
    if explanation is not None:
        parts.append(Part("explanation", explanation, weight=weights.get("explanation", EXPLANATION_WEIGHT),
                          gate="execution", doc="LLM judge on the explanation, only for a correct query"))
    return Reward(parts)


def check_weights(weights: Mapping[str, float] | None, judged: bool = False) -> dict[str, float]:
    """Defaults updated with ``weights``; unknown part names raise with the valid
    ones (``explanation`` is a part only with a judge, ``judged``)."""
    out = dict(DEFAULT_WEIGHTS)
    if judged:
        out["explanation"] = EXPLANATION_WEIGHT
    for k, v in (weights or {}).items():
        if k not in out:
            raise ConfigError(f"unknown SQL reward part {k!r}; choose from {sorted(out)}.")
        out[k] = float(v)
    return out


def _norm(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float, decimal.Decimal)):
        f = round(float(v), 4)
        return 0.0 if f == 0 else f
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)


def normalize_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows with every value in comparable form (see the module docstring)."""
    return [tuple(_norm(v) for v in r) for r in rows]


def _key(v: Any) -> tuple[int, str]:
    return (0, "") if v is None else (1, repr(v))


def results_match(pred: Sequence[tuple[Any, ...]], gold: Sequence[tuple[Any, ...]], *, ordered: bool) -> bool:
    """Normalized ``pred`` equals normalized ``gold``, up to a permutation of
    the columns; as lists when ``ordered``, else as multisets."""
    p, g = normalize_rows(pred), normalize_rows(gold)
    if len(p) != len(g):
        return False
    if not g:
        return True
    width = len(g[0])
    if any(len(r) != width for r in p):
        return False
    gold_cmp = g if ordered else Counter(g)
    perms = itertools.permutations(range(width)) if width <= 5 else [tuple(range(width))]
    for perm in perms:
        cand = [tuple(r[i] for i in perm) for r in p]
        if (cand if ordered else Counter(cand)) == gold_cmp:
            return True
    return False


def row_f1(pred: Sequence[tuple[Any, ...]], gold: Sequence[tuple[Any, ...]]) -> float:
    """F1 of the rows (multisets of normalized rows; column order as given)."""
    p, g = Counter(normalize_rows(pred)), Counter(normalize_rows(gold))
    if not p or not g:
        return float(not p and not g)
    common = sum((p & g).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=4096)
def _schema_items(query: str, dialect: str) -> frozenset[str] | None:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(query, read=dialect)
    except Exception:  # sqlglot raises several error types; any means "not parseable"
        return None
    tables = {f"table:{t.name.lower()}" for t in tree.find_all(exp.Table) if t.name}
    aliases = {a.alias_or_name.lower() for a in tree.find_all(exp.Alias)}
    cols = {f"column:{c.name.lower()}" for c in tree.find_all(exp.Column)
            if c.name and c.name.lower() not in aliases}
    return frozenset(tables | cols)


def schema_linking(query: str, gold: str, dialect: str = "sqlite") -> float:
    """Jaccard similarity of the tables and columns mentioned by ``query`` and ``gold``.

    >>> schema_linking("SELECT name FROM t", "SELECT name FROM t WHERE x = 1")
    0.6666666666666666
    """
    a, b = _schema_items(query, dialect), _schema_items(gold, dialect)
    if a is None or b is None:
        return 0.0
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
