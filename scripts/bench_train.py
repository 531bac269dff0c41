#!/usr/bin/env python
"""Cost of credit assignment inside a training iteration (BENCHMARKS.md).

Runs a few real training iterations (GiGPO over IGPO rewards, so both the
step-grouping and the information-gain scoring run) and prints, per iteration,
the time split and the two ratios the project tracks:

* GiGPO's advantage computation as a fraction of the iteration;
* IGPO scoring (one batched teacher-forced pass) as a fraction of rollout time.

Then times each estimator alone on a large synthetic batch.

    python scripts/bench_train.py                      # tiny model, AskToAct easy
    python scripts/bench_train.py --policy hf:runs/sft --iterations 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time

from agentgym.credit import compute_advantages, score_information_gain  # noqa: F401
from agentgym.train import TrainConfig, train
from agentgym.trajectory import Trajectory, Turn


def synthetic(groups: int, group_size: int, turns: int, states: int, seed: int = 0) -> list[Trajectory]:
    """Random trajectories whose anchors repeat (a few states per turn index)."""
    rng = random.Random(seed)
    out = []
    for g in range(groups):
        for _ in range(group_size):
            n = rng.randint(1, turns)
            ts = [Turn("a", "o", rng.choice([0.0, 0.0, -0.1]), f"t{t}s{rng.randrange(states)}",
                       info_gain=rng.gauss(0, 0.1)) for t in range(n)]
            ts[-1].reward = float(rng.random() < 0.4)
            out.append(Trajectory(f"task{g}", f"g{g}", turns=ts))
    return out


def bench_estimators(groups: int, group_size: int, turns: int) -> dict[str, float]:
    trajs = synthetic(groups, group_size, turns, states=3)
    n_turns = sum(len(t.turns) for t in trajs)
    out = {"turns": float(n_turns)}
    for name, params in [("grpo", {}), ("rloo", {}), ("gigpo", {}), ("igpo", {}),
                         ("gigpo+igpo", {"rewards": "igpo"})]:
        est = "gigpo" if name.startswith("gigpo") else name
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            compute_advantages(est, trajs, **params)
            times.append(time.perf_counter() - t0)
        out[f"{name}_ms"] = 1000 * statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="tiny")
    ap.add_argument("--env", default="AskToAct-v0")
    ap.add_argument("--difficulty", default="easy")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--tasks_per_iter", type=int, default=8)
    ap.add_argument("--group_size", type=int, default=8)
    ap.add_argument("--max_turns", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    cfg = TrainConfig(
        out_dir=tempfile.mkdtemp(prefix="bench_train_"), policy=args.policy, env=args.env,
        env_kwargs={"difficulty": args.difficulty}, iterations=args.iterations, tasks_per_iter=args.tasks_per_iter,
        group_size=args.group_size, max_turns=args.max_turns, history=2, max_new_tokens=40,
        estimator="gigpo", step_rewards="igpo", eval_every=0, eval_tasks=1, checkpoint_every=0,
        tensorboard=False, threads=args.threads, lr=1e-4,
    )
    result = train(cfg)
    keys = ("time/rollout", "time/scoring", "time/advantages", "time/update", "time/iteration")
    print(f"{'iter':>4} " + " ".join(f"{k.split('/')[1]:>11}" for k in keys) + "   adv/iter  score/rollout  turns")
    for m in result.metrics:
        turns = m["rollout/turns"] * m["rollout/episodes"]
        print(f"{m['iteration']:>4} " + " ".join(f"{m[k]:>10.3f}s" for k in keys)
              + f"   {m['time/advantages'] / m['time/iteration']:>7.4%}  {m['time/scoring'] / m['time/rollout']:>12.2%}"
              + f"  {turns:>5.0f}")
    adv = sum(m["time/advantages"] for m in result.metrics) / sum(m["time/iteration"] for m in result.metrics)
    score = sum(m["time/scoring"] for m in result.metrics) / sum(m["time/rollout"] for m in result.metrics)
    print(f"overall: advantages {adv:.4%} of iteration time; IGPO scoring {score:.2%} of rollout time")
    print("synthetic batch, median of 5:", json.dumps(bench_estimators(64, 8, 20)))


if __name__ == "__main__":
    main()
