"""Environment throughput: steps per second with each env's oracle.

For every registered environment with an ``oracle`` scripted policy (or the
ones named with ``--envs``) and each of its difficulties, run oracle episodes
on pre-generated ``val`` tasks and print one Markdown row:

* ``env steps/s`` — ``env.step`` alone (parsing the action, running the tool,
  building the observation, anchor and info), replaying the oracle's recorded
  actions: the cost a rollout pays per turn. Per CPU-second of this one
  process (the figure to quote on a shared machine) and per wall-second;
* ``oracle episodes`` — whole oracle episodes (reset, computing the oracle's
  action, step), as steps and episodes per CPU-second;
* oracle success rate and mean turns, as a sanity check.

Single-threaded pure Python: one process uses one core (``--cpu`` pins it).

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
from typing import Any

import agentgym


@dataclass
class Row:
    env_id: str
    difficulty: str
    episodes: int
    steps: int
    step_cpu: float  # CPU seconds in env.step (replay of the oracle's actions)
    step_wall: float  # wall seconds, same
    oracle_cpu: float  # CPU seconds of whole oracle episodes: resets, policy and steps
    success: float

    def markdown(self) -> str:
        return (
            f"| {self.env_id} | {self.difficulty} | {self.episodes} | {self.steps} "
            f"| {self.steps / self.step_cpu:,.0f} | {self.steps / self.step_wall:,.0f} "
            f"| {self.steps / self.oracle_cpu:,.0f} | {self.episodes / self.oracle_cpu:,.0f} "
            f"| {self.success:.3f} | {self.steps / self.episodes:.2f} |"
        )


HEADER = (
    "| env | difficulty | episodes | steps | env steps/s (CPU) | env steps/s (wall) "
    "| oracle episodes: steps/s | episodes/s | oracle success | turns |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _oracle_pass(env: Any, tasks: list[Any]) -> tuple[list[list[str]], float, int]:
    """Whole oracle episodes (reset + policy + step); the actions, CPU seconds, successes."""
    actions: list[list[str]] = []
    successes = 0
    start = time.process_time()
    for k, task in enumerate(tasks):
        env.reset(seed=k, options={"task": task})
        episode: list[str] = []
        done = False
        while not done:
            action = env.scripted_action("oracle")
            _, _, terminated, truncated, info = env.step(action)
            episode.append(action)
            done = terminated or truncated
        actions.append(episode)
        successes += int(info["metrics"]["success"])
    return actions, time.process_time() - start, successes


def _replay_pass(env: Any, tasks: list[Any], actions: list[list[str]]) -> tuple[float, float]:
    """``env.step`` alone over the recorded actions (same seeds, so the same episodes)."""
    cpu = wall = 0.0
    for k, (task, episode) in enumerate(zip(tasks, actions, strict=True)):
        env.reset(seed=k, options={"task": task})
        c0, w0 = time.process_time(), time.perf_counter()
        for action in episode:
            env.step(action)
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
    return cpu, wall


def bench(env_id: str, difficulty: str, episodes: int, repeats: int) -> Row:
    """Best of ``repeats`` passes over the same ``episodes`` val tasks (the machine is shared)."""
    env = agentgym.make(env_id, split="val", difficulty=difficulty)
    tasks = env.generator.tasks("val", episodes, difficulty)
    actions, oracle_cpu, successes = _oracle_pass(env, tasks)
    best_cpu, best_wall = _replay_pass(env, tasks, actions)
    for _ in range(repeats - 1):
        _, cpu, _ = _oracle_pass(env, tasks)
        oracle_cpu = min(oracle_cpu, cpu)
        cpu, wall = _replay_pass(env, tasks, actions)
        best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
    steps = sum(len(e) for e in actions)
    return Row(env_id, difficulty, episodes, steps, best_cpu, best_wall, oracle_cpu, successes / episodes)


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
