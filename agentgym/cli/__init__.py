"""The ``agentgym`` command line.

Each sub-command lives in its own module of this package and exposes
``add_arguments(parser)`` and ``run(args) -> int``; this module only
dispatches, importing a sub-command's module when it is used (so
``agentgym list`` does not import torch).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("agentgym.cli.list_cmd", "list registered environments and suites"),
    "play": ("agentgym.cli.play", "play an environment yourself in the terminal"),
    "eval": ("agentgym.cli.eval_cmd", "evaluate a policy on a suite"),
    "compare": ("agentgym.cli.compare", "compare several evaluation results"),
    "train": ("agentgym.cli.train", "train a policy with RL (GRPO/RLOO/GiGPO/IGPO)"),
    "sft": ("agentgym.cli.sft", "behaviour-cloning warm start on saved trajectories"),
    "serve": ("agentgym.cli.serve", "serve an environment over HTTP"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentgym", description="Train and evaluate tool-using LLM agents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        # Arguments are added lazily in main() once the command is known.
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # First pass: find the command; second pass: parse its own arguments.
    known, _ = parser.parse_known_args(argv)
    if known.command is None:
        parser.print_help()
        return 2
    module_name, help_ = COMMANDS[known.command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            print(f"agentgym {known.command}: not available in this installation.", file=sys.stderr)
            return 2
        raise
    full = argparse.ArgumentParser(prog=f"agentgym {known.command}", description=help_)
    full.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    module.add_arguments(full)
    args = full.parse_args(argv[argv.index(known.command) + 1 :])
    logging.basicConfig(
        level=logging.DEBUG if (args.verbose or known.verbose) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from agentgym.errors import AgentGymError

    try:
        return int(module.run(args) or 0)
    except AgentGymError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
