"""Benchmark SQL-v0: steps/s, and the env's overhead over the raw driver call.

    python scripts/bench_sql.py                       # SQLite, and PostgreSQL if AGENTGYM_PG_DSN is set
    source <(bash scripts/start_postgres.sh --print-env) && python scripts/bench_sql.py --tasks 60

For each backend it takes the gold queries of ``--tasks`` val tasks (every
difficulty) and times, on the same database and in the same process:

* raw: the driver alone — ``sqlite3`` on the same read-only file /
  ``psycopg`` on the same schema — ``execute`` + ``fetchall``;
* env: ``env.step(<tool_call> execute(query) </tool_call>)`` — parsing the
  call, the safety checks, the limits, the query, rendering the table,
  the state key.

It prints the per-query medians, their ratio, and the steps/s of whole
oracle episodes (reset, exploration, execute, submit on K+1 databases).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from agentgym.envs.sql.env import SQLEnv
from agentgym.tools import ToolCall

LEVELS = ("easy", "medium", "hard")


def _paired(a: Callable[[], object], b: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median seconds per call of ``a`` and of ``b``, timed alternately so that
    both see the same machine load (the development machine is shared)."""
    a(), b()  # warm
    ta, tb = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return statistics.median(ta), statistics.median(tb)


def _raw_runner(env: SQLEnv) -> Callable[[str], list]:
    if env.backend.name == "sqlite":
        import sqlite3

        path = env.backend.path(env.db)
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, isolation_level=None)
        return lambda q: conn.execute(q).fetchall()
    import psycopg

    conn = psycopg.connect(env.backend.dsn, autocommit=True)
    state = {"schema": None}

    def run(q: str) -> list:
        if state["schema"] != env.db.schema:
            conn.execute(f"SET search_path TO {env.db.schema}")
            state["schema"] = env.db.schema
        with conn.cursor() as cur:
            cur.execute(q)
            return cur.fetchall()

    return run


def bench_overhead(backend: str, n_tasks: int, repeat: int) -> tuple[float, float, int]:
    raw_t, env_t = [], []
    for d in LEVELS:
        env = SQLEnv(split="val", difficulty=d, backend=backend, max_turns=10_000)
        for i in range(n_tasks // len(LEVELS)):
            env.reset(options={"task_index": i})
            query = env.task.meta["gold"]
            raw = _raw_runner(env)
            action = ToolCall("execute", {"query": query}).render()
            r, e = _paired(lambda q=query, f=raw: f(q), lambda a=action, en=env: en.step(a), repeat)
            raw_t.append(r)
            env_t.append(e)
        env.close()
    # Ratio of the summed medians: the cost of the same workload through each path.
    return sum(raw_t) / len(raw_t), sum(env_t) / len(env_t), len(raw_t)


def bench_episodes(backend: str, n_tasks: int) -> tuple[float, float]:
    steps, episodes, elapsed = 0, 0, 0.0
    for d in LEVELS:
        env = SQLEnv(split="val", difficulty=d, backend=backend)
        tasks = [env.generator.task("val", i, d) for i in range(n_tasks // len(LEVELS))]  # generation not timed
        for task in tasks:  # warm the database caches (files / schemas / gold results)
            env.reset(options={"task": task})
        t = time.perf_counter()
        for task in tasks:
            env.reset(options={"task": task})
            done = False
            while not done:
                *_, term, trunc, _ = env.step(env.scripted_action("oracle"))
                steps += 1
                done = term or trunc
            episodes += 1
        elapsed += time.perf_counter() - t
        env.close()
    return steps / elapsed, episodes / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=60, help="val tasks (split over the difficulties)")
    ap.add_argument("--repeat", type=int, default=30, help="timed repetitions per query")
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args()
    for backend in args.backends.split(","):
        if backend == "postgres" and not os.environ.get("AGENTGYM_PG_DSN"):
            print("postgres: skipped (AGENTGYM_PG_DSN unset; source <(bash scripts/start_postgres.sh --print-env))")
            continue
        raw, env, n = bench_overhead(backend, args.tasks, args.repeat)
        sps, eps = bench_episodes(backend, args.tasks)
        print(f"{backend}: {n} gold queries, mean of per-query medians: raw driver {raw * 1e6:.0f} us, "
              f"env.step(execute) {env * 1e6:.0f} us, overhead x{env / raw:.2f} (+{(env - raw) * 1e6:.0f} us); "
              f"oracle episodes: {sps:.0f} steps/s, {eps:.1f} episodes/s")


if __name__ == "__main__":
    main()
