"""``agentgym play ENV_ID``: play an environment yourself in the terminal.

You see what a model would see — the instructions, the tools, each
observation — and type the actions (see :mod:`agentgym.policies.human` for the
shorthand: ``guess 42``, ``pick yellow plate (1)``, ``place cup (1), table``).
The episode runs through the same rollout engine as a model's, so what you
check by hand is what training sees; at the end — or when you type ``:quit`` or
end the input — the reward of each turn, the metrics and the task's ground
truth are shown, and ``--save`` appends the trajectory (a quit one is marked
failed, as unfinished)::

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
    logging.getLogger("agentgym.rollout").setLevel(logging.ERROR)  # the summary below says it all
    env = agentgym.make(args.env_id, **kwargs)
    try:
        base: Any = env.unwrapped
        task = base.task_at(args.task_index)  # the one index -> task rule (a fixed tasks= list too)
        human = agentgym.load_policy("human")  # through its entry point: the core never imports policies
        traj = collect(env, human, tasks=[task], seed=args.seed, max_turns=args.max_turns)[0]
    finally:
        env.close()
    quit_ = traj.failed and (traj.error or "").endswith(getattr(human, "quit_error", "the player quit"))
    print("\n--- episode over ---")
    for i, turn in enumerate(traj.turns, 1):
        parts = ", ".join(f"{k} {v:+g}" for k, v in turn.reward_parts.items())
        print(f"turn {i}: reward {turn.reward:+g}" + (f" ({parts})" if parts else ""))
    if quit_:
        end = f"you quit after {len(traj.turns)} turn{'s' if len(traj.turns) != 1 else ''}"
    elif traj.failed:
        end = f"the environment failed: {traj.error}"
    else:
        end = "terminated" if traj.terminated else "truncated (turn limit)" if traj.truncated else "stopped"
    print(f"{end}; return {traj.episode_return:+g}; success {traj.success}")
    print("metrics: " + ", ".join(f"{k}={v:g}" for k, v in sorted(traj.metrics.items())))
    print(f"ground truth: {traj.answer if traj.answer else '(not known here)'}")
    if args.save:
        append_jsonl(args.save, [traj])
        print(f"saved to {args.save}" + (" (an unfinished episode: failed=True)" if quit_ else ""))
    return 0
