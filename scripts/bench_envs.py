"""Environment throughput: steps per second with each env's oracle.

For every registered environment with an ``oracle`` scripted policy (or the
ones named with ``--envs``) and each of its difficulties, run oracle episodes
on pre-generated ``val`` tasks and print one Markdown row:

* ``env steps/s`` — ``env.step`` alone (parsing the action, running the tool,
  building the observation, anchor and info): the cost a rollout pays per turn;
* ``+oracle steps/s`` — the same, plus computing the oracle's action;
* ``episodes/s`` — whole episodes, resets included;
* oracle success rate and mean turns, as a sanity check.

Usage::

    python scripts/bench_envs.py                       # every env with an oracle
    python scripts/bench_envs.py --envs AskToAct-v0 --episodes 500 --cpu 0
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import agentgym


@dataclass
class Row:
    env_id: str
    difficulty: str
    episodes: int
    steps: int
    step_s: float
    policy_s: float
    total_s: float
    success: float

    def markdown(self) -> str:
        return (
            f"| {self.env_id} | {self.difficulty} | {self.episodes} | {self.steps} "
            f"| {self.steps / self.step_s:,.0f} | {self.steps / (self.step_s + self.policy_s):,.0f} "
            f"| {self.episodes / self.total_s:,.0f} | {self.success:.3f} | {self.steps / self.episodes:.2f} |"
        )


HEADER = (
    "| env | difficulty | episodes | steps | env steps/s | +oracle steps/s | episodes/s | oracle success | turns |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|"
)


def bench(env_id: str, difficulty: str, episodes: int, repeats: int) -> Row:
    """Best of ``repeats`` passes over the same ``episodes`` tasks (the machine is shared)."""
    env = agentgym.make(env_id, split="val", difficulty=difficulty)
    tasks = env.generator.tasks("val", episodes, difficulty)
    best: Row | None = None
    for _ in range(repeats):
        steps = successes = 0
        step_s = policy_s = 0.0
        start = time.perf_counter()
        for k, task in enumerate(tasks):
            env.reset(seed=k, options={"task": task})
            done = False
            while not done:
                t0 = time.perf_counter()
                action = env.scripted_action("oracle")
                t1 = time.perf_counter()
                _, _, terminated, truncated, info = env.step(action)
                t2 = time.perf_counter()
                policy_s += t1 - t0
                step_s += t2 - t1
                steps += 1
                done = terminated or truncated
            successes += int(info["metrics"]["success"])
        row = Row(env_id, difficulty, episodes, steps, step_s, policy_s, time.perf_counter() - start,
                  successes / episodes)
        if best is None or row.step_s < best.step_s:
            best = row
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="*", help="env ids (default: every registered env with an oracle)")
    parser.add_argument("--episodes", type=int, default=300, help="episodes per env and difficulty")
    parser.add_argument("--repeats", type=int, default=3, help="passes; the fastest is reported")
    parser.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU core")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    ids = args.envs or [e.id for e in agentgym.list_envs()]
    print(HEADER)
    for env_id in ids:
        try:
            probe = agentgym.make(env_id)
        except Exception as e:  # a family whose service is missing must not stop the others
            print(f"<!-- {env_id}: skipped, cannot be built ({type(e).__name__}: {e}) -->")
            continue
        if "oracle" not in getattr(probe, "scripted_policies", {}):
            continue
        for difficulty in probe.generator.difficulties:
            try:
                row = bench(env_id, difficulty, args.episodes, args.repeats)
            except Exception as e:
                print(f"<!-- {env_id} {difficulty}: failed ({type(e).__name__}: {e}) -->")
                continue
            print(row.markdown(), flush=True)
        probe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
