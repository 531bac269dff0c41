#!/usr/bin/env python
"""Added cost per iteration of the issue-19 methods (BENCHMARKS.md).

Runs the same few training iterations (same seed, tasks and rollouts) with
GRPO and with each added method, and prints the median per-iteration times the
trainer logs: rollout, advantages, the no-grad passes before the update
(``time/precompute``: EMPG's step-entropy pass lives there), the update, and the
whole iteration. EPO records the step entropies in that pre-update pass (its
loss terms ride on the update's own forward); SPA's progress-estimator pass
(hidden states at the turn ends, the head's prediction and fit) is
``time/spa``, part of ``time/scoring``.

    python scripts/bench_methods.py                      # tiny model, AskToAct easy
    python scripts/bench_methods.py --policy hf:runs/asktoact_easy_sft --iterations 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile

from agentgym.train import TrainConfig, train

METHODS: dict[str, dict[str, object]] = {
    "grpo": {"estimator": "grpo"},
    "grpo + empg": {"estimator": "grpo", "empg": True},
    "grpo + empg (2 epochs)": {"estimator": "grpo", "empg": True, "ppo_epochs": 2},
    "grpo (2 epochs)": {"estimator": "grpo", "ppo_epochs": 2},
    "reinforce_rej": {"estimator": "reinforce_rej"},
    "raft": {"estimator": "raft"},
    "stratified": {"estimator": "stratified"},
    "grpo + curriculum": {"estimator": "grpo", "curriculum": True},
    "grpo + epo": {"estimator": "grpo", "epo": True},
    "spa": {"estimator": "spa"},
}
KEYS = ("time/rollout", "time/spa", "time/advantages", "time/precompute", "time/update", "time/iteration")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", default="tiny")
    ap.add_argument("--env", default="AskToAct-v0")
    ap.add_argument("--difficulty", default="easy")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--tasks_per_iter", type=int, default=4)
    ap.add_argument("--group_size", type=int, default=4)
    ap.add_argument("--max_turns", type=int, default=4)
    ap.add_argument("--methods", default=";".join(METHODS), help="';'-separated names from the table")
    args = ap.parse_args()
    rows = {}
    for name in args.methods.split(";"):
        with tempfile.TemporaryDirectory() as out:
            cfg = TrainConfig(
                out_dir=out, policy=args.policy, env=args.env, env_kwargs={"difficulty": args.difficulty},
                iterations=args.iterations, tasks_per_iter=args.tasks_per_iter, group_size=args.group_size,
                max_turns=args.max_turns, eval_every=0, checkpoint_every=0, eval_tasks=1, tensorboard=False,
                threads=1, **METHODS[name],  # type: ignore[arg-type]
            )
            metrics = train(cfg).metrics
        rows[name] = {k: statistics.median(m.get(k, 0.0) for m in metrics) for k in KEYS}
        rows[name]["turns"] = statistics.median(m["rollout/env_steps"] for m in metrics)
        print(json.dumps({name: rows[name]}), flush=True)
    print("| method | turns | rollout | progress estimator | advantages | pre-update passes | update | iteration |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['turns']:.0f} | {r['time/rollout']:.2f} s | {r['time/spa']:.2f} s | "
              f"{r['time/advantages'] * 1e3:.1f} ms | {r['time/precompute']:.2f} s | {r['time/update']:.2f} s | "
              f"{r['time/iteration']:.2f} s |")


if __name__ == "__main__":
    main()
