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
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from agentgym.errors import AgentGymError, did_you_mean

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


# Libraries that log at INFO for every routine event: httpx writes one line per HTTP
# request (an `openai:` policy's evaluation printed one per turn). Shown with -v.
QUIET_LOGGERS = ("httpx", "httpcore")


def configure_logging(verbose: bool = False, *, fmt: str = "%(levelname)s %(name)s: %(message)s") -> None:
    """The commands' logging: INFO (DEBUG with ``-v``) to stderr, and the chatty
    HTTP client libraries at WARNING unless ``verbose``.

    >>> configure_logging()
    >>> logging.getLogger("httpx").isEnabledFor(logging.INFO)
    False
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)


def progress_logging(bar: Any) -> AbstractContextManager[Any]:
    """While ``bar`` (a tqdm bar, or None) is drawn, log lines are written above it
    instead of through it."""
    if bar is None:
        return nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm(tqdm_class=type(bar))


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser (used for ``agentgym --help``; each command's own
    arguments are added when it runs, so its module is imported only then)."""
    parser = argparse.ArgumentParser(prog="agentgym", description="Train and evaluate tool-using LLM agents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, description=help_, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The command is the first argument that is not a global flag.
    position = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if position is None or argv[position] not in COMMANDS:
        parser = build_parser()
        if position is not None:
            parser.error(f"unknown command {argv[position]!r}.{did_you_mean(argv[position], COMMANDS)}")
        parser.print_help()
        return 0 if {"-h", "--help"} & set(argv) else 2
    command = argv[position]
    module_name, help_ = COMMANDS[command]
    module = importlib.import_module(module_name)
    full = argparse.ArgumentParser(prog=f"agentgym {command}", description=module.__doc__ or help_,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    full.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    module.add_arguments(full)
    args = full.parse_args(argv[:position] + argv[position + 1 :])
    configure_logging(args.verbose)
    try:
        return int(module.run(args) or 0)
    except AgentGymError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `agentgym list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
