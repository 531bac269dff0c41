"""Step overhead against GEM (``gem-llm``), side by side in one run, on a null environment.

A *null* environment's step does nothing, so what is measured is the framework's
own cost per env step:

* **GEM sync vector** — ``gem.vector.sync_vector_env.SyncVectorEnv`` over ``--envs``
  copies of a ``gem.Env`` whose ``step`` returns ``("", 0.0, False, False, {})``;
  one ``vec.step(actions)`` steps every env. (GEM's bare ``env.step`` loop beside
  it, for reference.)
* **agentgym env.step** — ``AgentEnv.step`` with a Hermes action,
  ``<tool_call>{"name": "noop", "arguments": {}}</tool_call>``, on an
  ``AgentEnv`` whose one tool ``noop()`` returns ``""``: parsing the call, finding
  and binding the tool, calling it, building observation, reward, anchor and info.
  ``--envs`` instances stepped in a loop, as GEM's vector env loops over its envs.
* **agentgym engine** — ``agentgym.rollout.collect`` on a pool of ``--envs`` null
  envs with a scripted policy that answers the same action to every conversation:
  everything the rollout engine does per turn (building each conversation, the
  policy call, the ``Turn`` record, the step, the bookkeeping), resets and episode
  ends included (episodes of ``--turns`` turns).

Each figure is µs per env step (per turn for the engine) of CPU time (the
process's; wall time beside it, noisier on a shared machine): the best of
``--repeats`` passes, every path measured in turn within each pass; the ratios are
to GEM sync. Objects that exist before the passes (GEM's imports among them) are
frozen out of garbage collection (``gc.freeze``), so no path pays for another's
imports. ``--breakdown`` splits collect()'s cost; ``--sql`` adds the SQL env's query path.

    pip install -e '.[bench]'       # gem-llm (see pyproject's bench extra)
    python scripts/bench_peers.py --cpu 0

Without ``gem-llm`` the agentgym figures are still printed (no ratios).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from typing import Any

import agentgym
from agentgym.policy import Completion
from agentgym.rollout import collect
from agentgym.tasks import Task

ACTION = '<tool_call>{"name": "noop", "arguments": {}}</tool_call>'


class NullEnv(agentgym.AgentEnv):
    """An agentgym env whose one tool does nothing and whose episodes never end
    on their own (the engine's ``max_turns`` ends them)."""

    family = "null"
    default_max_turns = 1 << 30

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("tasks", [Task(id="null/0", prompt="Call noop().", answer="")])
        super().__init__(**kwargs)

    def on_reset(self, task: Task) -> str:
        return task.prompt

    @agentgym.tool
    def noop(self) -> str:
        """Do nothing."""
        return ""


class ConstantPolicy:
    """Answers ``ACTION`` to every conversation (a fresh Completion each, as a real policy would)."""

    def act(self, conversations: Any, tools: Any) -> list[Completion]:
        return [Completion(text=ACTION) for _ in conversations]


def _gem_envs(n: int) -> tuple[Any, Any] | None:
    try:
        import gem
        from gem.vector.sync_vector_env import SyncVectorEnv
    except ImportError:
        return None

    class GemNullEnv(gem.Env):
        def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
            return "", 0.0, False, False, {}

        def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
            return "", {}

    vec = SyncVectorEnv(env_ids=["null"] * n, env_fns=[GemNullEnv] * n)
    vec.reset()
    single = [GemNullEnv() for _ in range(n)]
    return vec, single


def _time(fn: Any, *args: Any) -> tuple[float, float, Any]:
    """(CPU seconds of this process, wall seconds, result) of ``fn(*args)``."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    return time.process_time() - c0, time.perf_counter() - t0, out


def _gem_vector_pass(vec: Any, steps: int) -> None:
    actions = [ACTION] * vec.num_envs
    for _ in range(steps):
        vec.step(actions)


def _loop_pass(envs: list[Any], steps: int) -> None:
    for _ in range(steps):
        for e in envs:
            e.step(ACTION)


def _engine_pass(envs: list[NullEnv], episodes: int, turns: int) -> int:
    trajs = collect(envs, ConstantPolicy(), tasks=episodes, max_turns=turns)
    return sum(len(t.turns) for t in trajs)


def _sql_figures(repeats: int) -> dict[str, float]:
    """µs per call on the SQL env's query path (SQLite), over the gold queries of
    20 SQL-v0 val tasks: the safety check without and with its cache, setting and
    clearing a progress handler (what every query did before the handler stayed
    installed), and a whole ``SQLiteBackend.run``."""
    import sqlite3

    from agentgym.envs.sql import safety
    from agentgym.envs.sql.backends import SQLiteBackend
    from agentgym.envs.sql.database import DbRef

    env = agentgym.make("SQL-v0", split="val")
    metas = [env.unwrapped.task_at(i).meta for i in range(20)]
    env.close()
    queries = [m["gold"] for m in metas]
    refs = [DbRef(m["domain"], int(m["db_seed"]), 0) for m in metas]
    n = len(queries)
    rounds = 200
    uncached = getattr(safety, "_verdict", None)  # absent before the cache existed
    if uncached is None:
        uncached = lambda q, limit: safety.check_query(q, limit)  # noqa: E731
    conn = sqlite3.connect(":memory:")
    handler = lambda: 0  # noqa: E731
    backend = SQLiteBackend()
    for r in refs:
        backend.prepare(r)
    out: dict[str, float] = {}

    def best(name: str, fn: Any, count: int) -> None:
        times = []
        for _ in range(repeats):
            c0 = time.process_time()
            fn()
            times.append(time.process_time() - c0)
        out[name] = min(times) / count * 1e6

    best("check_query, not cached", lambda: [uncached(q, safety.MAX_QUERY_CHARS) for _ in range(rounds) for q in queries],
         rounds * n)
    best("check_query", lambda: [safety.check_query(q) for _ in range(rounds) for q in queries], rounds * n)
    best("set + clear a progress handler",
         lambda: [(conn.set_progress_handler(handler, 2000), conn.set_progress_handler(None, 0)) for _ in range(rounds * n)],
         rounds * n)
    best("SQLiteBackend.run", lambda: [backend.run(r, q, 50) for _ in range(20) for r, q in zip(refs, queries, strict=True)],
         20 * n)
    backend.close()
    conn.close()
    print("| SQL query path (SQLite, 20 gold queries) | µs per call (CPU) |")
    print("|---|---:|")
    for name, us in out.items():
        print(f"| {name} | {us:.2f} |")
    return out


class ConstantEnv:
    """reset/step return constants: what collect() costs around an env that costs nothing."""

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        return "o", {"task_id": "const", "system": "s", "tools": [], "anchor": "a"}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return "", 0.0, False, False, {"anchor": "", "action_valid": True, "reward_parts": {}}

    def close(self) -> None:
        pass


def _breakdown(n: int, repeats: int) -> dict[str, float]:
    """Where collect()'s time goes on the null env: per episode, per turn around a
    free env, and the reset (with and without a seed: gymnasium's np_random)."""
    null, const, one = [NullEnv() for _ in range(n)], [ConstantEnv() for _ in range(n)], NullEnv()
    out: dict[str, float] = {}

    def best(name: str, fn: Any, count: int) -> None:
        times = []
        for _ in range(repeats):
            gc.collect()
            c0 = time.process_time()
            fn()
            times.append(time.process_time() - c0)
        out[name] = min(times) / count * 1e6

    episodes = 100 * n
    best("collect() per episode, 1-turn episodes (null env)",
         lambda: collect(null, ConstantPolicy(), tasks=episodes, max_turns=1), episodes)
    best("collect() per turn, 100-turn episodes, constant env",
         lambda: collect(const, ConstantPolicy(), tasks=n, max_turns=100), 100 * n)
    best("NullEnv.reset(seed=...)", lambda: [one.reset(seed=7, options={"task_index": 0}) for _ in range(2000)], 2000)
    best("NullEnv.reset()", lambda: [one.reset(options={"task_index": 0}) for _ in range(2000)], 2000)
    print("| where collect() goes (null env) | µs (CPU) |")
    print("|---|---:|")
    for name, us in out.items():
        print(f"| {name} | {us:.2f} |")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", type=int, default=64, help="envs stepped together (vector width / rollout pool)")
    ap.add_argument("--steps", type=int, default=200, help="steps per env in one pass")
    ap.add_argument("--turns", type=int, nargs="+", default=[10, 100], help="turns per engine episode (one row each)")
    ap.add_argument("--repeats", type=int, default=5, help="passes; the best is kept")
    ap.add_argument("--cpu", type=int, default=None, help="pin the process to this core")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    ap.add_argument("--breakdown", action="store_true", help="also split collect()'s cost (episodes, engine, reset)")
    ap.add_argument("--sql", action="store_true", help="also time the SQL env's safety check and query path")
    args = ap.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})

    n, k = args.envs, args.steps
    gem_envs = _gem_envs(n)
    ours = [NullEnv() for _ in range(n)]
    for e in ours:
        e.reset(seed=0)
    pool = [NullEnv() for _ in range(n)]
    # A sanity check that the measured step is the valid call it is meant to be.
    info = ours[0].step(ACTION)[4]
    assert info["action_valid"] and info["tool_calls"] == ["noop"], info

    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}

    def keep(name: str, timed: tuple[float, float, Any], count: int) -> None:
        cpu[name] = min(cpu.get(name, float("inf")), timed[0] / count * 1e6)
        wall[name] = min(wall.get(name, float("inf")), timed[1] / count * 1e6)

    # Importing GEM (reasoning_gym, sympy, nltk, ...) leaves ~100,000 objects that
    # every full garbage collection would scan, and collect() keeps what it records:
    # frozen here, collections scan only what the measured code allocates.
    gc.collect()
    gc.freeze()
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        if gem_envs is not None:
            vec, single = gem_envs
            keep("GEM SyncVectorEnv.step", _time(_gem_vector_pass, vec, k), n * k)
            keep("GEM env.step (loop)", _time(_loop_pass, single, k), n * k)
        keep("agentgym env.step", _time(_loop_pass, ours, k), n * k)
        for turns in args.turns:
            timed = _time(_engine_pass, pool, max(1, n * k // turns), turns)
            keep(f"agentgym collect() per turn, {turns}-turn episodes", timed, timed[2])
    load_after = os.getloadavg()
    gc.unfreeze()

    print(f"null env, {n} envs x {k} steps, collect() episodes of {'/'.join(map(str, args.turns))} turns; best of {args.repeats}; "
          f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}")
    ref = cpu.get("GEM SyncVectorEnv.step")
    print("| path | µs per env step (CPU) | µs (wall) | × GEM sync (CPU) |")
    print("|---|---:|---:|---:|")
    for name, us in cpu.items():
        ratio = f"{us / ref:.2f}" if ref else "-"
        print(f"| {name} | {us:.2f} | {wall[name]:.2f} | {ratio} |")
    result: dict[str, Any] = {"cpu_us_per_step": cpu, "wall_us_per_step": wall, "load": [load_before[0], load_after[0]],
                              "envs": n, "steps": k, "turns": args.turns, "repeats": args.repeats}
    if args.breakdown:
        gc.freeze()
        result["breakdown"] = _breakdown(n, args.repeats)
        gc.unfreeze()
    if args.sql:
        result["sql"] = _sql_figures(args.repeats)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
