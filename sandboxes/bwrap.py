"""``bwrap``: bubblewrap namespaces + rlimits (the sandbox on machines without docker).

Each call gets new pid, net, ipc, uts and mount namespaces; an empty read-only
root with the system directories and the Python installation bound read-only;
the work directory bound read-write at ``/workspace`` (the current directory); a
private, size-capped ``/tmp``; no network (unless ``Limits.network``); a clean
environment; and ``prlimit`` for CPU, address space, file size and process
count. The process dies with its parent.

The sandboxed code never runs as the host's root:

* **agentgym run by an ordinary user**: bwrap makes an unprivileged user
  namespace in which the code is uid 65534, which is the calling user on the host.
* **agentgym run by root** (containers, CI): bwrap itself must be privileged to
  bind paths only root may reach (a Python under ``/root``), but mapping the
  sandbox's user to the caller would make it the host's root — exempt from
  ``RLIMIT_NPROC`` (a fork bomb ran 100 processes under a limit of 64) and owner
  of every system file a bind exposes. So an outer bwrap builds the namespaces
  and mounts as root, keeping only the capabilities to change user; ``setpriv``
  makes the process the host's ``nobody`` (uid/gid 65534, no groups, no
  capabilities, ``no_new_privs``); and an inner, unprivileged bwrap gives it a
  user namespace of its own, so that the process-count limit counts this call's
  processes only (every call runs as the same host user), and no further user
  namespaces can be made inside (``--disable-userns``). The work directory is
  given to uid 65534 before each call
  (:func:`~agentgym.sandboxes._common.give_tree`).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

from agentgym.sandbox import ExecResult, Limits
from agentgym.sandboxes._common import SANDBOX_GID, SANDBOX_UID, clean_env, give_tree, run_capped

logger = logging.getLogger(__name__)

WORKSPACE = "/workspace"
# /proc entries that act on the whole machine, not the sandbox's namespaces (a pipe in
# kernel/core_pattern runs a program as root on the next crash; sysrq-trigger reboots).
# Bound read-only over the sandbox's /proc, as Docker masks them.
_PROC_READ_ONLY = [a for p in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")
                   for a in ("--ro-bind-try", p, p)]  # fmt: skip
_BASE = [
    "--ro-bind", "/usr", "/usr",
    "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
    "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
]  # fmt: skip
# Root mode: become the host's nobody (setpriv), then a user namespace of one's own.
_DROP_ROOT = [
    "setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}", "--clear-groups",
    "--inh-caps=-all", "--bounding-set=-all", "--nnp", "--",
]  # fmt: skip
_ROOT_NAMESPACES = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
# What the outer bwrap keeps when run by root, until setpriv drops everything: changing
# user, and entering the work directory (owned by nobody, mode 0700) for --chdir.
_ROOT_CAPS = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
              "--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_DAC_READ_SEARCH"]  # fmt: skip
# The unprivileged user's own bwrap: the outer sandbox's tree as it is, the /proc knobs
# read-only only now (--disable-userns writes the namespace's own user/max_user_namespaces).
_IDENTITY = ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID), "--cap-drop", "ALL"]
_INNER = [
    # --dev-bind: a plain --bind would add nodev and break /dev/null (the outer mounts keep their flags).
    "bwrap", "--unshare-user", "--disable-userns", "--die-with-parent", "--dev-bind", "/", "/",
    *_PROC_READ_ONLY, *_IDENTITY, "--chdir", WORKSPACE, "--",
]  # fmt: skip


def _as_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def _probe() -> tuple[str | None, bool]:
    """(why bwrap cannot run here, or None; whether root mode can give each call
    its own user namespace)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap; scripts/setup.sh does it)", False
    for tool in ("prlimit", *(("setpriv", "unshare") if _as_root() else ())):
        if shutil.which(tool) is None:
            return f"{tool} (util-linux) is not installed", False
    base = [exe, "--tmpfs", "/", *_BASE, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", WORKSPACE]
    if not _as_root():
        err = _try([*base[:1], "--unshare-all", "--unshare-user", *base[1:], "--", "/bin/true"])
        return (f"bubblewrap cannot create namespaces here: {err}" if err else None), False
    head = [*base[:1], *_ROOT_NAMESPACES, "--unshare-net", *base[1:], "--chdir", "/", *_ROOT_CAPS,
            "--", *_DROP_ROOT]  # fmt: skip
    err = _try([*head, "/bin/true"])
    if err:
        return f"bubblewrap cannot create namespaces and drop root here: {err}", False
    err = _try([*head, *_INNER, "/bin/true"])
    if err:
        logger.warning(
            "bwrap: no user namespace for the unprivileged sandbox user (%s); the process limit "
            "then counts every sandbox's processes together (all run as host uid %d), and nested "
            "user namespaces are not disabled", err, SANDBOX_UID,
        )
    return None, err is None


def _try(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if out.returncode == 0:
        return None
    return out.stderr.decode(errors="replace").strip()[:200] or f"exit code {out.returncode}"


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
        return _probe()[0]

    def _ro_binds(self) -> list[str]:
        # The running Python (and its site-packages) so sandboxed code can use it.
        paths = {sys.base_prefix, sys.prefix, *self.extra_ro_binds}
        paths |= {"/etc/alternatives", "/etc/ssl", "/etc/ld.so.cache", "/etc/localtime"}
        paths = sorted(p for p in paths if os.path.exists(p) and not p.startswith("/usr"))
        # bwrap creates a bind's missing parents with the host's modes: /root (0700) would
        # stop the unprivileged user on its way to a Python under /root/.pyenv.
        parents = sorted({a for p in paths for a in _ancestors(p)}, key=lambda a: (a.count("/"), a))
        args: list[str] = []
        for a in parents:
            args += ["--perms", "0755", "--dir", a]
        for p in paths:
            args += ["--ro-bind", p, p]
        return args

    def command(self, argv: Sequence[str], workdir: str, lim: Limits, env: Mapping[str, str]) -> list[str]:
        root = _as_root()
        inner = root and _probe()[1]
        cmd = [
            "bwrap", *(_ROOT_NAMESPACES if root else ["--unshare-all", "--unshare-user", "--disable-userns"]),
            "--die-with-parent", "--new-session",
            "--tmpfs", "/", *_BASE,
            # /tmp first: binds below it (a virtualenv in /tmp) must stay visible. tmpfs is
            # memory: what its files hold is capped (the address-space limit does not see it).
            "--proc", "/proc", *([] if inner else _PROC_READ_ONLY), "--dev", "/dev",
            "--perms", "1777", "--size", str(lim.memory_mb << 20), "--tmpfs", "/tmp",
            "--perms", "1777", "--size", str(lim.max_file_mb << 20), "--tmpfs", "/dev/shm",
            *self._ro_binds(),
            "--bind", workdir, WORKSPACE, "--chdir", WORKSPACE, "--remount-ro", "/",
            "--clearenv",
        ]  # fmt: skip
        if lim.network:
            cmd.insert(1, "--share-net")
        elif root:
            cmd.insert(1, "--unshare-net")
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        cmd += [*_ROOT_CAPS, "--", *_DROP_ROOT, *(_INNER if inner else [])] if root else [*_IDENTITY, "--"]
        cpu = max(1, int(lim.timeout_s) + 1)
        cmd += [
            "prlimit", f"--cpu={cpu}", f"--as={lim.memory_mb << 20}",
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
        workdir = os.path.abspath(os.fspath(workdir))
        if _as_root():
            give_tree(workdir)  # the sandbox's user (host nobody) must write its workspace
        cmd = self.command(argv, workdir, lim, env_)
        return run_capped(cmd, cwd=None, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, limits=lim, stdin=stdin)


def _ancestors(path: str) -> list[str]:
    """The directories above ``path`` that the sandbox's empty root lacks.

    >>> _ancestors("/root/.pyenv/versions/3.11.7")
    ['/root', '/root/.pyenv', '/root/.pyenv/versions']
    >>> _ancestors("/tmp/a/venv"), _ancestors("/etc/ssl"), _ancestors("/usr/local/x")
    (['/tmp/a'], ['/etc'], [])
    """
    parts = path.strip("/").split("/")[:-1]
    out = ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
    # /tmp is there already (a writable tmpfs); /usr is read-only, its directories real.
    return [a for a in out if a != "/tmp" and a != "/usr" and not a.startswith("/usr/")]


def _resolve(argv: Sequence[str]) -> list[str]:
    """``python``/``python3`` mean the interpreter running agentgym (bound read-only)."""
    argv = list(argv)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv
