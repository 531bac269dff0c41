"""Make ``accelerate launch --num_processes N --cpu scripts/train.py`` start N processes.

accelerate's CPU launcher (``--cpu``) starts a *single* process unless MPI is
configured (it expects ``mpirun`` with a host file for multi-CPU runs); it only
exports ``ACCELERATE_USE_CPU`` and, when more than one process was asked for,
``MASTER_ADDR``/``MASTER_PORT``. :func:`relaunch_cpu_processes` notices that
situation, reads the process count from the launcher's command line and
re-executes the script under ``torch.distributed.run`` (torchrun), which starts
the N processes; ``Accelerator(cpu=True)`` then sets up gloo (``MULTI_CPU``).

``accelerate launch --multi_gpu --num_processes N scripts/train.py --cpu true``
reaches the same state without the re-exec.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["relaunch_cpu_processes", "requested_processes", "script_main"]

logger = logging.getLogger(__name__)


def requested_processes(cmdline: list[str]) -> int | None:
    """The ``--num_processes`` value of an ``accelerate launch`` command line.

    >>> requested_processes(["accelerate", "launch", "--num_processes", "2", "--cpu", "x.py"])
    2
    >>> requested_processes(["accelerate", "launch", "--num_processes=3", "x.py"])
    3
    """
    for i, arg in enumerate(cmdline):
        for flag in ("--num_processes", "--num-processes"):
            if arg == flag and i + 1 < len(cmdline):
                return int(cmdline[i + 1])
            if arg.startswith(flag + "="):
                return int(arg.split("=", 1)[1])
    return None


def _parent_cmdline() -> list[str]:
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def relaunch_cpu_processes(argv: list[str]) -> None:
    """Re-exec under torchrun when ``accelerate launch --cpu`` asked for several
    processes but started one; returns (doing nothing) otherwise."""
    env = os.environ
    asked_cpu = env.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    distributed = any(k in env for k in ("WORLD_SIZE", "RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE"))
    if not asked_cpu or distributed or "MASTER_ADDR" not in env:
        return
    n = requested_processes(_parent_cmdline())
    if not n or n < 2:
        return
    logger.info("accelerate's CPU launcher started one process; starting %d with torch.distributed.run", n)
    env.setdefault("OMP_NUM_THREADS", "1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n),
           "--master_addr", env["MASTER_ADDR"], "--master_port", env.get("MASTER_PORT", "29500"), *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, cmd)


def script_main(prog: str, description: str | None, add_arguments: Any, run: Any, argv: list[str] | None) -> int:
    """The body of ``scripts/train.py`` and ``scripts/sft.py``: re-exec under torchrun
    where ``accelerate launch --cpu`` asked for several processes, parse the command's
    flags, log with timestamps, one progress bar (the main process's), and a clean
    error line for a user error."""
    import argparse

    from agentgym.cli import configure_logging
    from agentgym.errors import AgentGymError

    relaunch_cpu_processes([sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_arguments(parser)
    args = parser.parse_args(argv)
    configure_logging(args.verbose, fmt="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if int(os.environ.get("RANK", "0")) > 0 and hasattr(args, "no_progress"):
        args.no_progress = True  # one progress bar: the main process's
    try:
        return int(run(args) or 0)
    except AgentGymError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
