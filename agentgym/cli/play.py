"""``agentgym play ENV_ID``: play an environment yourself in the terminal.

You see what a model would see — the instructions, the tools, each
observation — and type the actions (see :mod:`agentgym.policies.human` for the
shorthand). The episode runs through the same rollout engine as a model's, so
what you check by hand is what training sees; at the end the reward of each
turn, the metrics and the task's ground truth are shown::

    agentgym play GuessNumber-v0 --difficulty easy --task-index 3
    agentgym play AskToAct-v0 --split val --save my_episode.jsonl
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("env_id", help="environment id, e.g. GuessNumber-v0 (see `agentgym list`)")
    p.add_argument("--split", default="train", choices=["train", "val", "test"], help="task split (default: train)")
    p.add_argument("--difficulty", default=None, help="difficulty level (default: the env's first)")
    p.add_argument("--task-index", type=int, default=0, help="which task of the split (default: 0)")
    p.add_argument("--seed", type=int, default=0, help="episode seed (default: 0)")
    p.add_argument("--max-turns", type=int, default=None, help="turn limit (default: the env's)")
    p.add_argument("--save", default=None, metavar="PATH", help="append the trajectory to this JSONL file")


def run(args: argparse.Namespace) -> int:
    import logging

    import agentgym
    from agentgym.rollout import collect
    from agentgym.trajectory import append_jsonl

    kwargs = {"split": args.split}
    if args.difficulty:
        kwargs["difficulty"] = args.difficulty
    if args.max_turns:
        kwargs["max_turns"] = args.max_turns
    logging.getLogger("agentgym.rollout").setLevel(logging.WARNING)  # the summary below says it all
    env = agentgym.make(args.env_id, **kwargs)
    base: Any = env.unwrapped
    task = base.generator.task(args.split, args.task_index, base.difficulty)
    traj = collect(env, agentgym.load_policy("human"), tasks=[task], seed=args.seed, max_turns=args.max_turns)[0]
    print("\n--- episode over ---")
    for i, turn in enumerate(traj.turns, 1):
        parts = ", ".join(f"{k} {v:+g}" for k, v in turn.reward_parts.items())
        print(f"turn {i}: reward {turn.reward:+g}" + (f" ({parts})" if parts else ""))
    if traj.failed:
        print(f"the environment failed: {traj.error}")
    end = "terminated" if traj.terminated else "truncated (turn limit)" if traj.truncated else "stopped"
    print(f"{end}; return {traj.episode_return:+g}; success {traj.success}")
    print("metrics: " + ", ".join(f"{k}={v:g}" for k, v in sorted(traj.metrics.items())))
    print(f"ground truth: {traj.answer}")
    if args.save:
        append_jsonl(args.save, [traj])
        print(f"saved to {args.save}")
    env.close()
    return 0
