"""``agentgym sft``: behaviour-cloning warm start on saved or scripted trajectories.

    agentgym sft --env AskToAct-v0 --env_kwargs '{"difficulty": "easy"}' --tasks 200 --out_dir runs/sft
    agentgym sft --data runs/x/rollouts.jsonl --policy hf:runs/sft --out_dir runs/sft2
    agentgym train --policy hf:runs/sft ...          # then RL from the warm start

Data parallel over N processes (each takes every N-th row of each step; gradients summed):

    accelerate launch --num_processes 2 --cpu scripts/sft.py --config configs/asktoact_easy_sft.toml
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from agentgym.train.config import SFTConfig, add_config_arguments, config_from_namespace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, SFTConfig)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")


def run(args: argparse.Namespace) -> int:
    from agentgym.cli import progress_logging
    from agentgym.train.sft import sft

    config = config_from_namespace(SFTConfig, args)
    bar: Any = None
    if not args.no_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs, desc=f"sft {config.data or config.env}", unit="epoch", dynamic_ncols=True)

    def progress(epoch: int, metrics: dict[str, float]) -> None:
        # Each epoch's line is logged by sft() itself; the bar only moves.
        if bar is not None:
            bar.set_postfix({"nll": round(metrics["sft/nll"], 4)})
            bar.update(1)

    with progress_logging(bar):
        result = sft(config, progress=progress)
    if bar is not None:
        bar.close()
    if int(os.environ.get("RANK", "0")) > 0:
        return 0  # the main process reports
    print(json.dumps({"out_dir": str(result.out_dir), "examples": result.examples,
                      "policy": f"hf:{result.out_dir}", "nll": result.metrics[-1]["sft/nll"]}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``scripts/sft.py`` (same flags as ``agentgym sft``)."""
    from agentgym.train.launch import script_main

    return script_main("sft.py", SFTConfig.__doc__, add_arguments, run, argv)
