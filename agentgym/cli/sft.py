"""``agentgym sft``: behaviour-cloning warm start on saved or scripted trajectories.

    agentgym sft --env AskToAct-v0 --env_kwargs '{"difficulty": "easy"}' --tasks 200 --out_dir runs/sft
    agentgym sft --data runs/x/rollouts.jsonl --policy hf:runs/sft --out_dir runs/sft2
    agentgym train --policy hf:runs/sft ...          # then RL from the warm start
"""

from __future__ import annotations

import argparse
import json

from agentgym.train.config import SFTConfig, add_config_arguments, config_from_namespace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, SFTConfig)


def run(args: argparse.Namespace) -> int:
    from agentgym.train.sft import sft

    config = config_from_namespace(SFTConfig, args)
    result = sft(config, progress=lambda epoch, m: print(f"epoch {epoch}: nll {m['sft/nll']:.4f}", flush=True))
    print(json.dumps({"out_dir": str(result.out_dir), "examples": result.examples,
                      "policy": f"hf:{result.out_dir}", "nll": result.metrics[-1]["sft/nll"]}, indent=2))
    return 0
