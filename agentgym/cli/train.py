"""``agentgym train``: RL training from a TOML config and/or flags.

    agentgym train --config configs/asktoact_easy_gigpo.toml --iterations 30
    accelerate launch --num_processes 2 --cpu scripts/train.py --config ...   # data parallel

Every ``TrainConfig`` field is a flag (``--help`` lists them with their docs).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from agentgym.train.config import TrainConfig, add_config_arguments, config_from_namespace

SHOWN = ("rollout/success", "val/success", "rollout/return", "loss/pg", "loss/kl", "time/iteration")
# Their short names on the progress bar.
LABELS = {"rollout/success": "success", "val/success": "val", "rollout/return": "return", "loss/pg": "pg",
          "loss/kl": "kl", "time/iteration": "s/it"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, TrainConfig)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from agentgym.cli import progress_logging
    from agentgym.train import train
    from agentgym.train.setup import use_cpu

    config = config_from_namespace(TrainConfig, args)
    main = PartialState(cpu=use_cpu(config)).is_main_process
    bar: Any = None
    if main and not args.no_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.iterations, desc=f"{config.estimator} {config.env}", unit="it", dynamic_ncols=True)

    def progress(iteration: int, metrics: dict[str, float]) -> None:
        if bar is None:
            return
        if bar.n == 0 and iteration > 0:
            bar.update(iteration)  # resumed run
        bar.set_postfix({LABELS[k]: round(metrics[k], 3) for k in SHOWN if k in metrics})
        bar.update(1)

    with progress_logging(bar):
        result = train(config, progress=progress)
    if bar is not None:
        bar.close()
    if main:
        last = result.metrics[-1] if result.metrics else {}
        summary = {"out_dir": str(result.out_dir), "final": str(result.final_dir), "curve": str(result.curve),
                   **{k: last[k] for k in SHOWN if k in last}}
        print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``scripts/train.py`` (same flags as ``agentgym train``)."""
    from agentgym.train.launch import script_main

    return script_main("train.py", TrainConfig.__doc__, add_arguments, run, argv)
