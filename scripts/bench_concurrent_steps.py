"""collect() wall time with sequential vs concurrent env steps, in one run.

    python scripts/bench_concurrent_steps.py                # 32 episodes, 50 ms steps, 4 turns
    python scripts/bench_concurrent_steps.py --episodes 128 --delay 0.05 --turns 4

The env (tests/core/sleep_env.py) sleeps ``--delay`` seconds per step: it stands
for an env that waits on I/O (a browser, a sandbox, a database server). The
policy is scripted (no model), so the figures are the engine's alone. Both
modes run in the same process, one after the other, repeated ``--repeats`` times
(best of each kept): the machine may be shared and noisy, the ratio is what to read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentgym.rollout import collect  # noqa: E402
from tests.core.sleep_env import HashPolicy, SleepEnv  # noqa: E402


def run(episodes: int, delay: float, turns: int, **kw) -> tuple[float, list]:
    envs = [SleepEnv(delay=delay, max_turns=turns) for _ in range(episodes)]
    t0 = time.perf_counter()
    trajs = collect(envs, HashPolicy(seed=1), tasks=episodes, max_turns=turns, seed=0, **kw)
    return time.perf_counter() - t0, trajs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--delay", type=float, default=0.05)
    p.add_argument("--turns", type=int, default=4)
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    best: dict[str, float] = {}
    ref = None
    modes = {"sequential": {"step_threads": 1}, "concurrent": {"step_threads": a.threads},
             "concurrent, no barrier": {"step_threads": a.threads, "barrier": False}}
    for _ in range(a.repeats):
        for name, kw in modes.items():
            seconds, trajs = run(a.episodes, a.delay, a.turns, **kw)
            dump = [t.to_dict() for t in trajs]
            ref = ref or dump
            assert dump == ref, f"{name}: trajectories differ from the sequential run"
            best[name] = min(best.get(name, float("inf")), seconds)
    steps = sum(len(t["turns"]) for t in ref)
    print(f"{a.episodes} episodes, {steps} env steps of {a.delay * 1000:.0f} ms, {a.turns} turns max, "
          f"{a.threads} threads; best of {a.repeats}")
    for name, seconds in best.items():
        print(f"  {name:24s} {seconds:7.2f} s  {steps / seconds:8.1f} steps/s  "
              f"x{best['sequential'] / seconds:.1f} vs sequential")
    print("trajectories identical in all modes: yes")


if __name__ == "__main__":
    main()
