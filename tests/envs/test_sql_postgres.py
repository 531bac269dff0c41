"""SQL-v0 on a real PostgreSQL server (``source <(bash scripts/start_postgres.sh --print-env)``).

Marked ``postgres``; skipped with the reason when ``AGENTGYM_PG_DSN`` is unset
or the server does not answer.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest

import agentgym
from agentgym.envs.sql.backends import PostgresBackend, SQLiteBackend
from agentgym.envs.sql.database import DbRef
from agentgym.envs.sql.env import SQLEnv
from agentgym.envs.sql.reward import normalize_rows, results_match
from agentgym.tools import ToolCall

pytestmark = pytest.mark.postgres

LEVELS = ("easy", "medium", "hard")


def _server_or_skip() -> tuple[str, str | None]:
    dsn = os.environ.get("AGENTGYM_PG_DSN")
    if not dsn:
        pytest.skip("AGENTGYM_PG_DSN is not set: run `source <(bash scripts/start_postgres.sh --print-env)`")
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=3).close()
    except Exception as e:  # any failure to connect means: no server to test against
        pytest.skip(f"PostgreSQL at AGENTGYM_PG_DSN is unreachable ({type(e).__name__}: {e})")
    return dsn, os.environ.get("AGENTGYM_PG_ADMIN_DSN")


@pytest.fixture(scope="module")
def pg_envs() -> dict[str, SQLEnv]:
    _server_or_skip()
    return {d: SQLEnv(split="val", difficulty=d, backend="postgres") for d in LEVELS}


@pytest.fixture(scope="module")
def lite_envs() -> dict[str, SQLEnv]:
    return {d: SQLEnv(split="val", difficulty=d) for d in LEVELS}


def _episode(env: SQLEnv, index: int, policy: str) -> tuple[list[str], dict]:
    env.reset(options={"task_index": index})
    actions, done, info = [], False, {}
    while not done:
        action = env.scripted_action(policy)
        actions.append(action)
        *_, term, trunc, info = env.step(action)
        done = term or trunc
    return actions, info


def _submit(query: str) -> str:
    return ToolCall("submit", {"query": query}).render()


def _execute(query: str) -> str:
    return ToolCall("execute", {"query": query}).render()


def test_oracle_scores_one_on_every_val_task(pg_envs: dict[str, SQLEnv]) -> None:
    for entry in agentgym.get_suite("sql-v0"):
        env = pg_envs[entry.kwargs["difficulty"]]
        for i in range(entry.n_tasks):
            _, info = _episode(env, i, "oracle")
            assert info["metrics"]["success"] == 1.0 and info["reward_parts"] == {"execution": 1.0}, env.task.id


def test_same_tasks_same_rewards_on_both_backends(pg_envs: dict[str, SQLEnv], lite_envs: dict[str, SQLEnv]) -> None:
    for entry in agentgym.get_suite("sql-v0"):
        d = entry.kwargs["difficulty"]
        for i in range(entry.n_tasks):
            for policy in ("oracle", "near_miss"):
                pg_actions, pg = _episode(pg_envs[d], i, policy)
                lite_actions, lite = _episode(lite_envs[d], i, policy)
                assert pg_envs[d].task == lite_envs[d].task and pg_actions == lite_actions
                assert pg["reward_parts"] == lite["reward_parts"], (pg_envs[d].task.id, policy)
                assert pg["metrics"]["exec_match_main"] == lite["metrics"]["exec_match_main"]


def test_gold_results_are_identical_on_every_database(lite_envs: dict[str, SQLEnv]) -> None:
    dsn, admin = _server_or_skip()
    pg, lite = PostgresBackend(dsn, admin), SQLiteBackend()
    for d in LEVELS:
        for task in lite_envs[d].generator.tasks("val", 20, d):
            m = task.meta
            for v in range(m["n_variants"] + 1):
                db = DbRef(m["domain"], m["db_seed"], v)
                for query in [m["gold"], *m["near_misses"]]:
                    a, b = pg.run(db, query, 5000).rows, lite.run(db, query, 5000).rows
                    assert results_match(a, b, ordered=m["ordered"]), (task.id, v, query)
                    if m["ordered"] and query == m["gold"]:
                        assert normalize_rows(a) == normalize_rows(b)


def _table_digest(dsn: str, schema: str) -> str:
    import psycopg

    h = hashlib.sha256()
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,))]
        for t in tables:
            h.update(repr(conn.execute(f"SELECT * FROM {schema}.{t} ORDER BY 1").fetchall()).encode())
    return h.hexdigest()


def test_bad_input_is_rejected_and_nothing_changes(pg_envs: dict[str, SQLEnv]) -> None:
    dsn, _ = _server_or_skip()
    env = SQLEnv(split="val", difficulty="easy", backend="postgres", max_turns=100)
    env.reset(options={"task_index": 0})
    table = env.domain.tables[-1].name
    before = _table_digest(dsn, env.db.schema)
    bad = [f"DROP TABLE {table}", f"DELETE FROM {table}", f"UPDATE {table} SET {env.domain.tables[-1].pk.name} = 0",
           f"INSERT INTO {table} SELECT * FROM {table}", "SELECT 1; DROP TABLE x", f"TRUNCATE {table}",
           "SET statement_timeout = 0", "SELECT set_config('statement_timeout', '0', false)",
           f"COPY {table} TO '/tmp/agentgym-leak.csv'", f"CREATE TABLE {env.db.schema}.x (a int)",
           f"WITH d AS (DELETE FROM {table} RETURNING *) SELECT * FROM d"]
    for query in bad:
        obs, reward, term, _, info = env.step(_execute(query))
        assert obs.startswith("Error"), (query, obs)
        assert not term
    assert _table_digest(dsn, env.db.schema) == before
    # The role itself cannot write, whatever gets past the checks.
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for stmt in (f"DELETE FROM {env.db.schema}.{table}", f"CREATE TABLE {env.db.schema}.y (a int)",
                     "CREATE TABLE public.y (a int)", "SET default_transaction_read_only = off; CREATE TEMP TABLE z (a int)"):
            with pytest.raises(psycopg.Error):
                conn.execute(stmt)
    assert _table_digest(dsn, env.db.schema) == before


def test_statement_timeout_and_non_utf8(pg_envs: dict[str, SQLEnv]) -> None:
    env = pg_envs["easy"]
    env.reset(options={"task_index": 0})
    for query in ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT MAX(n) FROM r",
                  "SELECT COUNT(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b",
                  "SELECT pg_sleep(10)"):
        t = time.perf_counter()
        obs, *_, info = env.step(_execute(query))
        assert "time limit of 2 s" in obs and time.perf_counter() - t < 3.0, obs
    obs, *_ = env.step(_execute("SELECT 'caf\udce9' AS x"))
    assert "UTF-8" in obs
    obs, *_ = env.step(_execute("SELECT " + "1 + " * 250_000 + "1"))
    assert "characters long" in obs
    obs, *_ = env.step(_execute("SELECT COUNT(*) AS n FROM generate_series(1, 10); -- done"))
    assert "10" in obs and "(1 row)" in obs
    # Billions of rows: only the first ones cross the wire (the LIMIT is the server's).
    t = time.perf_counter()
    big = env.domain.tables[-1].name
    obs, *_ = env.step(_execute(f"SELECT * FROM {big} a, {big} b, {big} c"))
    assert "(first 20 rows shown; the query returns more)" in obs and time.perf_counter() - t < 1.0
