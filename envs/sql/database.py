"""Generated databases: rows from a domain and a seed, DDL, and the builders.

A database is named by a :class:`DbRef` — ``(domain, seed, variant)``.
Variant 0 is the task's database; variants 1..K are its *fuzzed* copies (same
schema and vocabulary, other rows, other sizes, other value frequencies) on
which the reward re-checks a submitted query (test-suite accuracy).

Builders are idempotent and cache by content: :meth:`DbRef.key` hashes the
domain definition, the seed and the variant, so a changed domain never reuses
a stale file.

* SQLite: one file per database under the cache dir
  (``$AGENTGYM_CACHE_DIR/sql`` or ``~/.cache/agentgym/sql``), written to a
  temporary name and renamed (atomic), then made read-only (mode 0444).
* PostgreSQL: one schema ``sql_<key>`` per database in the server's database,
  created in one transaction under an advisory lock (concurrent builders wait
  for each other), readable by the read-only role.

>>> ref = DbRef("retail", 3)
>>> rows = generate_rows(ref)
>>> sorted(rows)[:2], len(rows["regions"])
(['customers', 'order_items'], 5)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agentgym.envs.sql.domains import DOMAINS, REAL_DOMAINS, Column, Domain, Table, get_domain
from agentgym.errors import ConfigError
from agentgym.tasks import derive_seed

__all__ = ["DbRef", "generate_rows", "ddl", "sqlite_file", "default_cache_dir", "ensure_pg_schema", "Dialect"]

logger = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgres"]
GENERATOR_VERSION = 2  # bump when rows or DDL change: caches are keyed by it
_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {"int": "INTEGER", "real": "REAL", "text": "TEXT", "date": "DATE"},
    "postgres": {"int": "INTEGER", "real": "NUMERIC(10, 2)", "text": "TEXT", "date": "DATE"},
}


@dataclass(frozen=True)
class DbRef:
    """One generated database: ``variant`` 0 is the task's, 1..K its fuzzed copies."""

    domain: str
    seed: int
    variant: int = 0

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS and self.domain not in REAL_DOMAINS:
            raise ConfigError(
                f"unknown SQL domain {self.domain!r}; choose one of {sorted(DOMAINS) + sorted(REAL_DOMAINS)}.")

    @property
    def key(self) -> str:
        """Content hash: domain definition + seed + variant + generator version."""
        return _key(self.domain, self.seed, self.variant)

    @property
    def schema(self) -> str:
        """The PostgreSQL schema that holds this database."""
        return f"sql_{self.key}"


@cache
def _domain_fingerprint(domain: str) -> str:
    d = get_domain(domain)
    extra = ""
    if d.source:
        from agentgym.envs.sql.realdata import source_version

        extra = source_version(d.source)
    return hashlib.blake2b((repr(d) + extra).encode(), digest_size=8).hexdigest()


@lru_cache(maxsize=4096)
def _key(domain: str, seed: int, variant: int) -> str:
    blob = json.dumps([GENERATOR_VERSION, domain, _domain_fingerprint(domain), seed, variant])
    return hashlib.blake2b(blob.encode(), digest_size=10).hexdigest()


# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------
def generate_rows(ref: DbRef) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, deterministic in ``ref`` (numpy's PCG64, seeded by
    :func:`~agentgym.tasks.derive_seed`, is the same on every machine)."""
    domain = get_domain(ref.domain)
    if domain.source:
        from agentgym.envs.sql.realdata import real_rows

        return real_rows(domain, ref.variant)
    rng = np.random.default_rng(derive_seed("sql-db", ref.domain, ref.seed, ref.variant))
    # Variants differ in size as well as content, so counts and sums move.
    scale = 1.0 if ref.variant == 0 else float(rng.uniform(0.6, 1.5))
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in domain.tables:
        if table.is_lookup:
            out[table.name] = [tuple(r) for r in table.fixed_rows]
            continue
        lo, hi = table.rows
        n = int(rng.integers(lo, hi + 1)) if lo != hi else lo
        if lo != hi:
            n = max(4, round(n * scale))
        out[table.name] = _table_rows(domain, table, n, rng, out)
    return out


def _table_rows(domain: Domain, table: Table, n: int, rng: np.random.Generator, done: dict[str, list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    columns: dict[str, list[Any]] = {}
    for col in table.columns:
        values = _column_values(domain, col, n, rng, done, columns)
        if col.nullable:
            mask = rng.random(n) < col.nullable
            values = [None if m else v for v, m in zip(values, mask, strict=True)]
        columns[col.name] = values
    return list(zip(*(columns[c.name] for c in table.columns), strict=True))


def _weights(rng: np.random.Generator, k: int, given: Any) -> np.ndarray:
    if given is not None:
        return np.asarray(given, dtype=float) / float(sum(given))
    return rng.dirichlet(np.full(k, 2.0))


def _column_values(domain: Domain, col: Column, n: int, rng: np.random.Generator,
                   done: dict[str, list[tuple[Any, ...]]], row_so_far: dict[str, list[Any]]) -> list[Any]:
    kind, *args = col.gen
    if kind == "seq":
        return list(range(1, n + 1))
    if kind == "seq_names":
        return list(args[0][:n])
    if kind == "fk":
        parent = done[args[0]]
        ids = [r[0] for r in parent]
        # Skewed popularity: some parents get many children, some none (NOT IN, EXISTS).
        w = rng.gamma(0.6, size=len(ids))
        return [int(x) for x in rng.choice(ids, size=n, p=w / w.sum())]
    if kind == "code":
        codes = [r[0] for r in domain.table(col.ref or "").fixed_rows]
        return [str(x) for x in rng.choice(codes, size=n, p=_weights(rng, len(codes), None))]
    if kind == "person":
        first, last = args
        combos = list(itertools.product(first, last))
        idx = rng.choice(len(combos), size=n, replace=False)
        return [f"{combos[i][0]} {combos[i][1]}" for i in idx]
    if kind == "unique":
        a, b = args
        combos = list(itertools.product(a, b))
        idx = rng.choice(len(combos), size=min(n, len(combos)), replace=False)
        names = [f"{combos[i][0]} {combos[i][1]}" for i in idx]
        return names + [f"{names[i % len(names)]} {i}" for i in range(len(names), n)]
    if kind == "choice":
        values, given = args
        picked = rng.choice(len(values), size=n, p=_weights(rng, len(values), given))
        return [values[i] for i in picked]
    if kind == "int":
        lo, hi, *div = args
        ints = rng.integers(lo, hi + 1, size=n)
        return [round(int(v) / div[0], 2) for v in ints] if div else [int(v) for v in ints]
    if kind == "money":
        lo, hi = args
        return [round(float(v), 2) for v in rng.uniform(lo, hi, size=n)]
    if kind == "date":
        first, last = (dt.date.fromisoformat(x) for x in args)
        days = rng.integers(0, (last - first).days + 1, size=n)
        return [(first + dt.timedelta(days=int(d))).isoformat() for d in days]
    if kind == "after":
        base, lo, hi = args
        gaps = rng.integers(lo, hi + 1, size=n)
        return [(dt.date.fromisoformat(b) + dt.timedelta(days=int(g))).isoformat()
                for b, g in zip(row_so_far[base], gaps, strict=True)]
    raise ConfigError(f"column {col.name}: unknown generator {kind!r}")


# --------------------------------------------------------------------------
# DDL
# --------------------------------------------------------------------------
def column_type(col: Column, dialect: Dialect) -> str:
    return _TYPES[dialect][col.type]


def ddl(domain: Domain, dialect: Dialect) -> list[str]:
    """``CREATE TABLE`` statements, parents first, then an index on every
    foreign key (as a real database would have; joins and EXISTS use them)."""
    out, indexes = [], []
    for t in domain.tables:
        parts = []
        for c in t.columns:
            line = f"{c.name} {column_type(c, dialect)}"
            if c.role == "pk":
                line += " PRIMARY KEY"
            elif not c.nullable:
                line += " NOT NULL"
            if c.ref:
                ref = domain.table(c.ref)
                line += f" REFERENCES {ref.name}({ref.pk.name})"
                indexes.append(f"CREATE INDEX idx_{t.name}_{c.name} ON {t.name} ({c.name})")
            parts.append(line)
        out.append(f"CREATE TABLE {t.name} (\n  " + ",\n  ".join(parts) + "\n)")
    return out + indexes


# --------------------------------------------------------------------------
# SQLite files
# --------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``$AGENTGYM_CACHE_DIR/sql``, else ``~/.cache/agentgym/sql``."""
    base = os.environ.get("AGENTGYM_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "agentgym") / "sql"


_built: set[Path] = set()
_build_lock = threading.Lock()


def sqlite_file(ref: DbRef, cache_dir: Path | str | None = None) -> Path:
    """The SQLite file of ``ref``, built on first use (atomic, then read-only)."""
    path = Path(cache_dir or default_cache_dir()) / f"{ref.domain}-{ref.key}.sqlite"
    if path in _built or path.exists():
        _built.add(path)
        return path
    with _build_lock:
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            _write_sqlite(ref, tmp)
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        logger.debug("built %s", path)
        _built.add(path)
    return path


def _write_sqlite(ref: DbRef, path: Path) -> None:
    domain = get_domain(ref.domain)
    rows = generate_rows(ref)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        for stmt in ddl(domain, "sqlite"):
            conn.execute(stmt)
        for t in domain.tables:
            marks = ", ".join("?" * len(t.columns))
            conn.executemany(f"INSERT INTO {t.name} VALUES ({marks})", rows[t.name])
        conn.commit()
    finally:
        conn.close()


# --------------------------------------------------------------------------
# PostgreSQL schemas
# --------------------------------------------------------------------------
def ensure_pg_schema(ref: DbRef, admin_dsn: str, reader_role: str) -> str:
    """Create schema ``ref.schema`` with the database's tables and rows (once),
    readable by ``reader_role``. Returns the schema name."""
    import psycopg

    schema = ref.schema
    domain = get_domain(ref.domain)
    with psycopg.connect(admin_dsn, autocommit=False) as conn:
        # Serialize builders of the same schema across processes.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (int(ref.key[:15], 16),))
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
            return schema
        rows = generate_rows(ref)
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET LOCAL search_path TO {schema}")
        for stmt in ddl(domain, "postgres"):
            conn.execute(stmt)
        with conn.cursor() as cur:
            for t in domain.tables:
                cols = ", ".join(c.name for c in t.columns)
                with cur.copy(f"COPY {t.name} ({cols}) FROM STDIN") as copy:
                    for r in rows[t.name]:
                        copy.write_row(r)
        conn.execute(f'GRANT USAGE ON SCHEMA {schema} TO "{reader_role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO "{reader_role}"')
        conn.commit()
    logger.debug("built PostgreSQL schema %s", schema)
    return schema
