#!/usr/bin/env python
"""A first training from a script: behaviour cloning, then GiGPO, on AskToAct
(easy), with greedy validation of the untrained model, the warm start and the
trained agent on the same tasks and the paired test of each gain.

    python scripts/first_training.py                                   # from scratch (~12 min on 2 cores)
    python scripts/first_training.py --warm-start runs/quickstart/sft  # RL and evaluation only (~4 min)

What it does, with agentgym's public API (the same calls a user script makes):

1. ``agentgym.train.sft`` with the shipped config ``asktoact_easy_sft``: a randomly
   initialised tiny model (150 k parameters) imitates 3,000 episodes of the
   non-privileged scripted expert. Skipped with ``--warm-start DIR``.
2. ``agentgym.train.train`` with the shipped config ``asktoact_easy_gigpo``:
   ``--iterations`` GiGPO iterations from that warm start, trained on success.
3. ``agentgym.evaluate`` on the same validation tasks (greedy), then
   ``agentgym.evaluation.compare.compare_results``: success with 95% intervals and
   the paired permutation test of each step's gain.

Smaller behaviour cloning does not do: with 1,000 demonstrations x 8 epochs the
tiny model still never succeeds (0/100), so the from-scratch path costs what the
quickstart's behaviour cloning costs (BENCHMARKS.md, "The quickstart re-measured").
Every step writes under ``--out``; rerunning reuses what is there.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ENV, ENV_KWARGS = "AskToAct-v0", {"difficulty": "easy"}  # as in the shipped configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/first_training", help="output folder (reused when it exists)")
    parser.add_argument("--warm-start", default=None, metavar="DIR",
                        help="a behaviour-cloned policy to start from (skips step 1), e.g. runs/quickstart/sft")
    parser.add_argument("--iterations", type=int, default=10, help="GiGPO iterations")
    parser.add_argument("--tasks-per-iter", type=int, default=16, help="tasks per GiGPO iteration")
    parser.add_argument("--group-size", type=int, default=8, help="rollouts per task")
    parser.add_argument("--val-tasks", type=int, default=100, help="validation tasks (greedy, the same for every model)")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch CPU threads")
    args = parser.parse_args()

    import agentgym
    from agentgym.evaluation.compare import compare_results
    from agentgym.suites import SuiteEntry
    from agentgym.train import SFTConfig, TrainConfig, sft, train

    out = Path(args.out)
    suite = [SuiteEntry(ENV, "val", args.val_tasks, ENV_KWARGS)]
    clock = time.perf_counter()

    def evaluate(name: str, policy: str):
        greedy = agentgym.load_policy(policy, temperature=0.0, max_new_tokens=24)
        return agentgym.evaluate(greedy, suite, out=out / "eval" / name, max_turns=12, chunk_tasks=50,
                                 policy_label=name)

    def say(what: str) -> None:
        print(f"[{time.perf_counter() - clock:5.0f} s] {what}", flush=True)

    say("1/3 behaviour cloning")
    sft_dir = Path(args.warm_start) if args.warm_start else out / "sft"
    if not (sft_dir / "model.safetensors").is_file():
        if args.warm_start:
            raise SystemExit(f"--warm-start {sft_dir}: no model.safetensors there")
        sft(SFTConfig.from_toml("asktoact_easy_sft").replace(out_dir=str(sft_dir), threads=args.threads))
    say("2/3 GiGPO from the warm start")
    rl_dir = out / "rl"
    if not (rl_dir / "final" / "model.safetensors").is_file():
        train(TrainConfig.from_toml("asktoact_easy_gigpo").replace(
            policy=f"hf:{sft_dir}", out_dir=str(rl_dir), iterations=args.iterations, threads=args.threads,
            tasks_per_iter=args.tasks_per_iter, group_size=args.group_size,
            eval_every=0, checkpoint_every=0, resume=rl_dir.exists(),
        ))
    say("3/3 evaluation on the same validation tasks (greedy)")
    results = [evaluate("untrained", "tiny"), evaluate("warm_start", f"hf:{sft_dir}"),
               evaluate("trained", f"hf:{rl_dir / 'final'}")]
    print()
    print("| policy | success [95% CI] |")
    print("|---|---|")
    for r in results:
        s = r.overall.success
        print(f"| {r.policy} | {100 * s.mean:.1f}% [{100 * s.low:.1f}, {100 * s.high:.1f}] |")
    print()
    for base, cand in ((0, 1), (1, 2)):
        row = compare_results([results[base], results[cand]])[-1]
        print(f"{row.candidate} vs {row.baseline}: {100 * row.diff:+.1f} points "
              f"[{100 * row.low:+.1f}, {100 * row.high:+.1f}], paired p = {row.p_value:.3g}")
    say("done")


if __name__ == "__main__":
    main()
