"""``bwrap``: bubblewrap namespaces + rlimits (the sandbox on machines without docker).

Each call gets new user, pid, net, ipc, uts and mount namespaces; an empty root
with the system directories and the Python installation bound read-only; the
work directory bound read-write at ``/workspace`` (the current directory); a
private ``/tmp``; uid/gid 65534; no network (unless ``Limits.network``); a
clean environment; and ``prlimit`` for CPU, address space, file size and
process count. The process dies with its parent.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

from agentgym.sandbox import ExecResult, Limits
from agentgym.sandboxes._common import clean_env, run_capped

WORKSPACE = "/workspace"
# /proc entries that act on the whole machine, not the sandbox's namespaces: written as
# the host's root they would change it (a pipe in kernel/core_pattern runs a program
# as root on the next crash; sysrq-trigger reboots). Bound read-only over the sandbox's /proc.
_PROC_READ_ONLY = [a for p in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")
                   for a in ("--ro-bind-try", p, p)]


@functools.cache
def _probe() -> str | None:
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap; scripts/setup.sh does it)"
    if shutil.which("prlimit") is None:
        return "prlimit (util-linux) is not installed"
    try:
        out = subprocess.run(
            [exe, "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--", "/bin/true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap does not start: {e}"
    if out.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {out.stderr.decode(errors='replace').strip()[:200]}"
    return None


class BwrapSandbox:
    """>>> BwrapSandbox().run(["python3", "-c", "print(6 * 7)"], workdir="/tmp/w").stdout  # doctest: +SKIP
    '42\\n'
    """

    name = "bwrap"

    def __init__(self, limits: Limits | None = None, extra_ro_binds: Sequence[str] = ()) -> None:
        self.limits = limits or Limits()
        self.extra_ro_binds = tuple(extra_ro_binds)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _probe()

    def _ro_binds(self) -> list[str]:
        # The running Python (and its site-packages) so sandboxed code can use it.
        paths = {sys.base_prefix, sys.prefix, *self.extra_ro_binds}
        paths |= {"/etc/alternatives", "/etc/ssl", "/etc/ld.so.cache", "/etc/localtime"}
        args: list[str] = []
        for p in sorted(paths):
            if os.path.exists(p) and not p.startswith("/usr"):
                args += ["--ro-bind", p, p]
        return args

    def command(self, argv: Sequence[str], workdir: str, lim: Limits, env: Mapping[str, str]) -> list[str]:
        # Started by root, bwrap maps the sandbox's user 65534 to the host's root in its
        # user namespace: files the host's root owns stay writable to it unless bound
        # read-only. The kernel's global knobs under /proc are (as Docker masks them).
        cmd = [
            "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--tmpfs", "/",
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            # /tmp first: binds below it (a virtualenv in /tmp) must stay visible.
            "--proc", "/proc", *_PROC_READ_ONLY, "--dev", "/dev", "--tmpfs", "/tmp",
            *self._ro_binds(),
            "--bind", workdir, WORKSPACE, "--chdir", WORKSPACE,
            "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
            "--clearenv",
        ]  # fmt: skip
        if lim.network:
            cmd.insert(2, "--share-net")
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        cpu = max(1, int(lim.timeout_s) + 1)
        cmd += [
            "--", "prlimit", f"--cpu={cpu}", f"--as={lim.memory_mb << 20}",
            f"--fsize={lim.max_file_mb << 20}", f"--nproc={lim.max_processes}", "--core=0", "--",
        ]  # fmt: skip
        return cmd + _resolve(argv)

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
        env_ = clean_env(env)
        env_["PATH"] = f"{os.path.dirname(sys.executable)}:{env_['PATH']}"
        cmd = self.command(argv, os.path.abspath(os.fspath(workdir)), lim, env_)
        return run_capped(cmd, cwd=None, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, limits=lim, stdin=stdin)


def _resolve(argv: Sequence[str]) -> list[str]:
    """``python``/``python3`` mean the interpreter running agentgym (bound read-only)."""
    argv = list(argv)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv
