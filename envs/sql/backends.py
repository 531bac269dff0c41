"""Backends: where queries run. Same interface, same limits, same messages.

* :class:`SQLiteBackend` (default, embedded): each database is an immutable
  file opened read-only (``file:…?mode=ro&immutable=1``) with an authorizer
  that denies anything but reading, per-connection limits (string length,
  SQL length, no attached databases), a small page cache with temp data
  spilled to files, and a wall-clock limit enforced by a progress handler.
* :class:`PostgresBackend`: a real server (``scripts/start_postgres.sh``).
  Queries run as a read-only role with ``statement_timeout``, through the
  extended protocol (exactly one statement per message), wrapped in
  ``SELECT * FROM (…) LIMIT n`` so that a huge result is never transferred.

Both raise :class:`QueryError` (``kind``: ``rejected``, ``timeout``,
``error``) whose text is the agent's observation, and return at most
``max_rows`` rows plus a ``truncated`` flag.

>>> b = SQLiteBackend()
>>> b.run(DbRef("retail", 0), "SELECT COUNT(*) FROM regions", max_rows=5).rows
[(5,)]
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentgym.envs.sql.database import DbRef, Dialect, ensure_pg_schema, sqlite_file
from agentgym.envs.sql.safety import QueryRejected, check_query, sqlite_authorizer
from agentgym.errors import ConfigError

__all__ = ["QueryResult", "QueryError", "SQLiteBackend", "PostgresBackend", "make_backend", "pg_dsn_from_env"]

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 2.0


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    """More rows existed than ``max_rows``."""


class QueryError(Exception):
    """A query that did not run; ``str(e)`` is what the agent sees."""

    def __init__(self, message: str, kind: Literal["rejected", "timeout", "error"] = "error") -> None:
        super().__init__(message)
        self.kind = kind


class SQLiteBackend:
    """Read-only SQLite over cached, immutable database files.

    Args:
        cache_dir: Where database files are built (default: see
            :func:`~agentgym.envs.sql.database.default_cache_dir`).
        time_limit_s: Wall-clock limit per query.
        max_connections: Open connections kept (one per database file).
    """

    name = "sqlite"
    dialect: Dialect = "sqlite"
    # Per-connection caps: long strings (a recursive CTE doubling a string)
    # fail fast instead of growing to SQLite's 1 GB default.
    _LIMITS = {"SQLITE_LIMIT_LENGTH": 5_000_000, "SQLITE_LIMIT_SQL_LENGTH": 1_000_000,
               "SQLITE_LIMIT_ATTACHED": 0, "SQLITE_LIMIT_EXPR_DEPTH": 200, "SQLITE_LIMIT_COMPOUND_SELECT": 64}

    def __init__(self, cache_dir: Path | str | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT_S,
                 max_connections: int = 32) -> None:
        self.cache_dir = cache_dir
        self.time_limit_s = float(time_limit_s)
        self.max_connections = max_connections
        self._conns: OrderedDict[DbRef, sqlite3.Connection] = OrderedDict()
        self._deadline = math.inf  # of the query running now; none between queries

    def prepare(self, db: DbRef) -> None:
        """Build (or find) the database file."""
        self._connection(db)

    def path(self, db: DbRef) -> Path:
        return sqlite_file(db, self.cache_dir)

    def _connection(self, db: DbRef) -> sqlite3.Connection:
        conn = self._conns.get(db)
        if conn is not None:
            self._conns.move_to_end(db)
            return conn
        path = sqlite_file(db, self.cache_dir)
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, isolation_level=None,
                               check_same_thread=False)
        for name, value in self._LIMITS.items():
            conn.setlimit(getattr(sqlite3, name), value)
        # Bounded memory: a 8 MB page cache, sorts and temp tables spill to files.
        conn.execute("PRAGMA cache_size = -8000")
        conn.execute("PRAGMA temp_store = FILE")
        conn.set_authorizer(sqlite_authorizer)
        # Installed once, for the connection's life: it interrupts a statement once
        # the deadline run() sets has passed (infinite between queries). Setting
        # and clearing it around every query cost more than a small query.
        conn.set_progress_handler(self._progress, 2000)
        self._conns[db] = conn
        while len(self._conns) > self.max_connections:
            self._conns.popitem(last=False)[1].close()
        return conn

    def _progress(self) -> int:
        return 1 if time.perf_counter() > self._deadline else 0

    def run(self, db: DbRef, query: str, max_rows: int) -> QueryResult:
        """Run one read-only query; at most ``max_rows`` rows come back."""
        try:
            query = check_query(query)
        except QueryRejected as e:
            raise QueryError(str(e), "rejected" if e.forbidden else "error") from None
        conn = self._connection(db)
        self._deadline = time.perf_counter() + self.time_limit_s
        try:
            cur = conn.execute(query)
            rows = cur.fetchmany(max_rows + 1)
            columns = [d[0] for d in cur.description or ()]
            cur.close()
        except sqlite3.OperationalError as e:
            if "interrupted" in str(e):
                raise QueryError(
                    f"Query stopped: it ran past the time limit of {self.time_limit_s:g} s. "
                    "Simplify it (join on keys, filter early, avoid cross joins).", "timeout") from None
            if "not authorized" in str(e):
                raise QueryError("Not allowed: the database is read-only; only SELECT queries run.",
                                 "rejected") from None
            raise QueryError(f"SQLite error: {e}") from None
        except (sqlite3.Error, ValueError, OverflowError) as e:
            raise QueryError(f"SQLite error: {e}") from None
        finally:
            self._deadline = math.inf
        return QueryResult(columns, rows[:max_rows], len(rows) > max_rows)

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


def pg_dsn_from_env() -> tuple[str | None, str | None]:
    """``(AGENTGYM_PG_DSN, AGENTGYM_PG_ADMIN_DSN)`` (set by ``scripts/start_postgres.sh --print-env``)."""
    return os.environ.get("AGENTGYM_PG_DSN"), os.environ.get("AGENTGYM_PG_ADMIN_DSN")


class PostgresBackend:
    """Read-only PostgreSQL: one schema per generated database.

    Args:
        dsn: Connection string of the read-only role (default ``$AGENTGYM_PG_DSN``).
        admin_dsn: Connection string allowed to create schemas (default
            ``$AGENTGYM_PG_ADMIN_DSN``); needed only for databases not built yet.
        time_limit_s: ``statement_timeout`` per query.
    """

    name = "postgres"
    dialect: Dialect = "postgres"

    def __init__(self, dsn: str | None = None, admin_dsn: str | None = None,
                 time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> None:
        env_dsn, env_admin = pg_dsn_from_env()
        self.admin_dsn = admin_dsn or env_admin
        found = dsn or env_dsn
        if not found:
            raise ConfigError(
                "backend='postgres' needs a server: run `source <(bash scripts/start_postgres.sh --print-env)` "
                "(sets AGENTGYM_PG_DSN) or pass dsn=."
            )
        self.dsn: str = found
        self.time_limit_s = float(time_limit_s)
        self._conn: Any = None
        self._schema: str | None = None
        self._ready: set[str] = set()

    def _reader_role(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(self.dsn).get("user") or "")

    def prepare(self, db: DbRef) -> None:
        """Make sure the database's schema exists (build it through the admin DSN)."""
        if db.schema in self._ready:
            return
        conn = self._connection(db)
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (db.schema,)).fetchone() is None:
            if not self.admin_dsn:
                raise ConfigError(
                    f"PostgreSQL schema {db.schema} does not exist and no admin DSN was given to build it: "
                    "set AGENTGYM_PG_ADMIN_DSN (scripts/start_postgres.sh --print-env prints it) or pass admin_dsn=."
                )
            ensure_pg_schema(db, self.admin_dsn, self._reader_role())
        self._ready.add(db.schema)

    def _connection(self, db: DbRef) -> Any:
        """The backend's one session, its search_path on ``db``'s schema. The
        agent cannot move it (SET and set_config() are rejected before they run)."""
        import psycopg

        if self._conn is None or self._conn.closed:
            ms = int(self.time_limit_s * 1000)
            options = (f"-c statement_timeout={ms} -c default_transaction_read_only=on "
                       "-c idle_in_transaction_session_timeout=60000")
            try:
                # psycopg's default auto-prepare (a query seen 5 times gets a server-side
                # plan, at most 100 kept) pays off: RL repeats tasks, and rewards re-run queries.
                self._conn = psycopg.connect(self.dsn, autocommit=True, options=options, connect_timeout=10)
            except psycopg.OperationalError as e:
                raise ConfigError(f"cannot connect to PostgreSQL ({e}); start it with scripts/start_postgres.sh.") from e
            self._schema = None
        if self._schema != db.schema:
            self._conn.execute(f"SET search_path TO {db.schema}")
            self._schema = db.schema
        return self._conn

    def run(self, db: DbRef, query: str, max_rows: int) -> QueryResult:
        """Run one read-only query; at most ``max_rows`` rows come back."""
        import psycopg

        try:
            query = check_query(query)
        except QueryRejected as e:
            raise QueryError(str(e), "rejected" if e.forbidden else "error") from None
        self.prepare(db)
        conn = self._connection(db)
        # The newline before ')' ends a trailing '--' comment. binary=True forces the
        # extended protocol, in which PostgreSQL itself refuses a second statement.
        wrapped = f"SELECT * FROM (\n{query}\n) AS agentgym_q LIMIT {max_rows + 1}"
        try:
            with conn.cursor() as cur:
                cur.execute(wrapped, binary=True)
                rows = cur.fetchall()
                columns = [d.name for d in cur.description or ()]
        except psycopg.errors.QueryCanceled:
            raise QueryError(
                f"Query stopped: it ran past the time limit of {self.time_limit_s:g} s. "
                "Simplify it (join on keys, filter early, avoid cross joins).", "timeout") from None
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
            raise QueryError("Not allowed: the database is read-only; only SELECT queries run.", "rejected") from None
        except psycopg.OperationalError as e:
            conn.close()  # a broken session: the next query reconnects
            raise QueryError(f"PostgreSQL error: {_pg_message(e)}") from None
        except (psycopg.Error, ValueError) as e:
            raise QueryError(f"PostgreSQL error: {_pg_message(e)}") from None
        return QueryResult(columns, rows[:max_rows], len(rows) > max_rows)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _pg_message(e: Exception) -> str:
    diag = getattr(e, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return primary or str(e).strip().splitlines()[0]


def make_backend(name: str, **kwargs: Any) -> SQLiteBackend | PostgresBackend:
    """``"sqlite"`` or ``"postgres"`` with the constructor's keyword arguments."""
    if name == "sqlite":
        return SQLiteBackend(**{k: v for k, v in kwargs.items() if k in ("cache_dir", "time_limit_s")})
    if name in ("postgres", "postgresql"):
        return PostgresBackend(**{k: v for k, v in kwargs.items() if k in ("dsn", "admin_dsn", "time_limit_s")})
    raise ConfigError(f"unknown SQL backend {name!r}; choose 'sqlite' or 'postgres'.")
