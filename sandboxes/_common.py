"""Pieces shared by the subprocess-based backends (process, bwrap)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

from agentgym.sandbox import ExecResult, Limits

# What untrusted code sees of the environment: nothing of ours (tokens, paths).
SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}


def clean_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {**SAFE_ENV, **(extra or {})}


def run_capped(
    argv: Sequence[str],
    *,
    cwd: str | None,
    env: Mapping[str, str],
    limits: Limits,
    stdin: str | None,
    preexec_fn=None,
) -> ExecResult:
    """Run ``argv`` in its own session; kill the whole process group at the
    deadline; cap each output stream at ``limits.max_output_bytes``."""
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group we can kill as a whole
        preexec_fn=preexec_fn,
    )
    timed_out = False
    try:
        out, err = proc.communicate(stdin.encode() if stdin is not None else None, timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        out, err = proc.communicate()
    cap = limits.max_output_bytes
    truncated = len(out) > cap or len(err) > cap
    return ExecResult(
        returncode=proc.returncode,
        stdout=out[:cap].decode("utf-8", "replace"),
        stderr=err[:cap].decode("utf-8", "replace"),
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        truncated=truncated,
    )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
