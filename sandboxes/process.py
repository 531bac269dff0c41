"""``process``: a child process with rlimits. NOT a security boundary.

Limits CPU time, address space, file size and open files, runs in its own
session (the whole tree is killed at the deadline) with a clean environment.
It runs as the calling user — as root where agentgym runs as root, so the
kernel's process-count limit does not bind it (none is set) and every file root
may write, it may write. It does not hide the file system, the network or the
host's processes: use it for trusted code (the task builder's own test runs), or
where neither docker nor bubblewrap is available, knowing that nothing is contained
but time, memory, file size and output.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping, Sequence

from agentgym.sandbox import ExecResult, Limits
from agentgym.sandboxes._common import clean_env, run_capped


class ProcessSandbox:
    """Rlimits only (see the module docstring).

    >>> ProcessSandbox().run(["echo", "hi"], workdir="/tmp").stdout
    'hi\\n'
    """

    name = "process"

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def run(
        self,
        argv: Sequence[str],
        *,
        workdir: str | os.PathLike[str],
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> ExecResult:
        lim = limits or self.limits

        def set_limits() -> None:  # runs in the child, before exec
            cpu = max(1, int(lim.timeout_s) + 1)
            mem = lim.memory_mb << 20
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_FSIZE, (lim.max_file_mb << 20, lim.max_file_mb << 20))
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        return run_capped(argv, cwd=os.fspath(workdir), env=clean_env(env), limits=lim, stdin=stdin, preexec_fn=set_limits)
