"""Env steps/s through Ray actors (agentgym.distributed.RayEnvPool) vs local envs,
and the per-step overhead Ray adds, in one run.

    python scripts/bench_ray.py --env AskToAct-v0 --episodes 64
    source <(bash scripts/start_postgres.sh --print-env)
    python scripts/bench_ray.py --env SQL-v0 --env-kwargs '{"backend": "postgres"}' --episodes 24

What is timed is the envs alone, not a policy: each episode's actions are first
recorded with the env's oracle on local envs, then replayed turn by turn

* locally, one ``env.step`` after another (what ``collect`` does for envs that
  declare no ``step_threads``), and a turn's steps in ``--threads`` threads (what
  ``collect(..., step_threads=N)`` does);
* through a pool of ``--workers`` actors, each turn's actions in one
  ``pool.step_many`` call (one batched call per actor; the actors run at once);
* one env at a time through the pool (a batch of one: the round-trip a lone step pays).

Resets are done before the clock starts. The Ray replay's observations, rewards
and ends are checked against the local ones. The script starts its own local Ray
node (``--cpus``, default the machine's) and stops it; the node's start-up time is
printed but not counted. Each figure is the best of ``--repeats``: the machine may
be shared, read the ratios and the load printed next to them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import agentgym  # noqa: E402


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def record(env_id: str, kwargs: dict[str, Any], split: str, episodes: int, max_turns: int) -> list[dict[str, Any]]:
    """Each episode's oracle actions and what the env answered."""
    out = []
    env = agentgym.make(env_id, split=split, **kwargs)
    try:
        for i in range(episodes):
            env.reset(seed=i, options={"task_index": i})
            actions, results = [], []
            for _ in range(max_turns):
                a = env.unwrapped.scripted_action("oracle")
                obs, r, term, trunc, _ = env.step(a)
                actions.append(a)
                results.append((obs, r, term, trunc))
                if term or trunc:
                    break
            out.append({"actions": actions, "results": results})
    finally:
        env.close()
    return out


def replay_local(envs: list[Any], eps: list[dict[str, Any]], threads: int = 1) -> tuple[float, int]:
    for i, env in enumerate(envs):
        env.reset(seed=i, options={"task_index": i})
    steps = 0
    ex = ThreadPoolExecutor(threads) if threads > 1 else None
    t0 = time.perf_counter()
    for t in range(max(len(e["actions"]) for e in eps)):
        live = [(env, e["actions"][t]) for env, e in zip(envs, eps, strict=True) if t < len(e["actions"])]
        if ex is None:
            for env, action in live:
                env.step(action)
        else:
            list(ex.map(lambda x: x[0].step(x[1]), live))
        steps += len(live)
    seconds = time.perf_counter() - t0
    if ex is not None:
        ex.shutdown()
    return seconds, steps


def replay_ray(pool: Any, eps: list[dict[str, Any]], batched: bool) -> tuple[float, int]:
    envs = pool.envs[: len(eps)]
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda i: envs[i].reset(seed=i, options={"task_index": i}), range(len(eps))))
    steps = 0
    t0 = time.perf_counter()
    for t in range(max(len(e["actions"]) for e in eps)):
        live = [i for i, e in enumerate(eps) if t < len(e["actions"])]
        if batched:
            out = pool.step_many([envs[i] for i in live], [eps[i]["actions"][t] for i in live])
        else:
            out = [pool.step_many([envs[i]], [eps[i]["actions"][t]])[0] for i in live]
        for i, r in zip(live, out, strict=True):
            if isinstance(r, BaseException):
                raise r
            want = eps[i]["results"][t]
            if (r[0], r[1], r[2], r[3]) != want:
                raise AssertionError(f"episode {i} turn {t}: Ray gave {r[:4]!r}, local {want!r}")
        steps += len(live)
    return time.perf_counter() - t0, steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="AskToAct-v0")
    p.add_argument("--env-kwargs", default="{}", help="JSON constructor keywords")
    p.add_argument("--split", default="val")
    p.add_argument("--episodes", type=int, default=64)
    p.add_argument("--max-turns", type=int, default=12)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the local Ray node")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=16, help="threads of the local concurrent replay")
    a = p.parse_args()
    kwargs = json.loads(a.env_kwargs)
    kwargs.setdefault("max_turns", a.max_turns)

    eps = record(a.env, kwargs, a.split, a.episodes, a.max_turns)
    total = sum(len(e["actions"]) for e in eps)
    local_envs = [agentgym.make(a.env, split=a.split, **kwargs) for _ in range(a.episodes)]
    best_local = best_threads = math.inf
    for _ in range(a.repeats):
        best_local = min(best_local, replay_local(local_envs, eps)[0])
        best_threads = min(best_threads, replay_local(local_envs, eps, threads=a.threads)[0])
    for env in local_envs:
        env.close()  # a PostgreSQL env holds a connection: give them back before the actors open theirs
    load_local = load()

    from agentgym.distributed import RayEnvPool
    from agentgym.distributed.cluster import start_local

    t0 = time.perf_counter()
    ray = start_local(num_cpus=a.cpus)
    node_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        per = math.ceil(a.episodes / a.workers)
        with RayEnvPool(a.env, workers=a.workers, envs_per_worker=per, env_kwargs=kwargs, split=a.split,
                        num_cpus=a.cpus / a.workers) as pool:
            pool_s = time.perf_counter() - t0
            best_batched = best_single = math.inf
            for _ in range(a.repeats):
                best_batched = min(best_batched, replay_ray(pool, eps, batched=True)[0])
                best_single = min(best_single, replay_ray(pool, eps, batched=False)[0])
            load_ray = load()
    finally:
        ray.shutdown()

    local_us = best_local / total * 1e6
    print(f"{a.env} {kwargs}: {a.episodes} episodes, {total} oracle steps; best of {a.repeats}; "
          f"Ray node started in {node_s:.1f} s, pool of {a.workers} actors x {per} envs in {pool_s:.1f} s")
    print(f"  {'mode':44s} {'steps/s':>9s} {'us/step':>9s}  load (1/5/15 min)")
    print(f"  {'local, sequential':44s} {total / best_local:9.0f} {local_us:9.0f}  {load_local}")
    print(f"  {f'local, {a.threads} threads (collect step_threads)':44s} {total / best_threads:9.0f} "
          f"{best_threads / total * 1e6:9.0f}  {load_local}")
    for name, s in (("Ray, one batched call per actor per turn", best_batched),
                    ("Ray, one env per call", best_single)):
        us = s / total * 1e6
        print(f"  {name:44s} {total / s:9.0f} {us:9.0f}  {load_ray}   ({us - local_us:+.0f} us/step vs local)")
    print("Ray replay identical to the local one: yes")


if __name__ == "__main__":
    main()
