"""collect() wall time with sequential vs concurrent env steps, in one run.

    python scripts/bench_concurrent_steps.py                # 32 episodes, 50 ms steps, 4 turns
    python scripts/bench_concurrent_steps.py --episodes 128 --delay 0.05 --turns 4
    source <(bash scripts/start_postgres.sh --print-env)
    python scripts/bench_concurrent_steps.py --env sql-postgres --episodes 24 --threads 24

The env (tests/core/sleep_env.py) sleeps ``--delay`` seconds per step: it stands
for an env that waits on I/O (a browser, a sandbox, a database server). The
policy is scripted (no model), so the figures are the engine's alone. Both
modes run in the same process, one after the other, repeated ``--repeats`` times
(best of each kept): the machine may be shared and noisy, the ratio is what to read.

``--env sql-postgres`` runs SQL-v0 on the PostgreSQL server of
``scripts/start_postgres.sh`` instead (``AGENTGYM_PG_DSN`` set), played by its
oracle (``OraclePolicy``): a step sends a query to the server and waits for it.
Each env holds one connection and the server's read-only role allows 32: keep
``--episodes`` at 24 or fewer. An untimed warm-up run comes first (connections,
schemas, task generation). With ``--tasks`` above ``--episodes`` envs play tasks
they have not generated before (SQL-v0 generates a task at its first reset on an
env instance, ~0.35 s here, pure Python), and with ``barrier=False`` which env gets
which task depends on timing: those resets then dominate the wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentgym.rollout import collect  # noqa: E402
from tests.core.sleep_env import HashPolicy, SleepEnv  # noqa: E402


def make_envs(env: str, episodes: int, delay: float, turns: int) -> tuple[list, object]:
    if env == "sql-postgres":
        from agentgym.policies.scripted import OraclePolicy
        from agentgym.registry import make

        return [make("SQL-v0", split="val", backend="postgres", max_turns=turns) for _ in range(episodes)], OraclePolicy()
    return [SleepEnv(delay=delay, max_turns=turns) for _ in range(episodes)], HashPolicy(seed=1)


def run(envs: list, policy: object, turns: int, tasks: int = 0, **kw) -> tuple[float, list]:
    t0 = time.perf_counter()
    trajs = collect(envs, policy, tasks=tasks or len(envs), max_turns=turns, seed=0, **kw)
    return time.perf_counter() - t0, trajs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", choices=("sleep", "sql-postgres"), default="sleep")
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--tasks", type=int, default=0, help="episodes to run on the --episodes envs (default: as many)")
    p.add_argument("--delay", type=float, default=0.05)
    p.add_argument("--turns", type=int, default=4)
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    best: dict[str, float] = {}
    ref = None
    modes = {"sequential": {"step_threads": 1}, "concurrent": {"step_threads": a.threads},
             "concurrent, no barrier": {"step_threads": a.threads, "barrier": False}}
    envs, policy = make_envs(a.env, a.episodes, a.delay, a.turns)
    if a.env == "sql-postgres":
        # Untimed: each env's first reset opens its connection (SCRAM authentication,
        # ~0.2 s here) and the first run creates the task databases' schemas.
        cold, _ = run(envs, policy, a.turns, a.tasks, step_threads=a.threads)
        print(f"warm-up (first resets connect; not counted): {cold:.2f} s")
    for _ in range(a.repeats):
        for name, kw in modes.items():
            seconds, trajs = run(envs, policy, a.turns, a.tasks, **kw)
            dump = [t.to_dict() for t in trajs]
            ref = ref or dump
            assert dump == ref, f"{name}: trajectories differ from the sequential run"
            best[name] = min(best.get(name, float("inf")), seconds)
    steps = sum(len(t["turns"]) for t in ref)
    what = "SQL-v0 on PostgreSQL, oracle policy" if a.env == "sql-postgres" else f"sleeping env, {a.delay * 1000:.0f} ms steps"
    print(f"{what}: {a.tasks or a.episodes} episodes on {a.episodes} envs, {steps} env steps, {a.turns} turns max, "
          f"{a.threads} threads; best of {a.repeats}; load {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, seconds in best.items():
        print(f"  {name:24s} {seconds:7.2f} s  {steps / seconds:8.1f} steps/s  "
              f"x{best['sequential'] / seconds:.1f} vs sequential")
    print("trajectories identical in all modes: yes")
    for e in envs:
        e.close()


if __name__ == "__main__":
    main()
