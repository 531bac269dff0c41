"""Pieces shared by the subprocess-based backends (process, bwrap)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

from agentgym.sandbox import ExecResult, Limits

# What untrusted code sees of the environment: nothing of ours (tokens, paths).
SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}


def clean_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {**SAFE_ENV, **(extra or {})}


# The host user sandboxed code runs as when agentgym runs as root: "nobody", which every
# Linux has, so nothing needs creating. Never root: the kernel exempts root's processes
# from RLIMIT_NPROC, and root owns (so may write) every system file bound into a sandbox.
SANDBOX_UID = SANDBOX_GID = 65534


def give_tree(root: str | os.PathLike[str], uid: int = SANDBOX_UID, gid: int = SANDBOX_GID) -> None:
    """Make ``root`` and everything under it owned by ``uid:gid`` (the work directory a
    sandbox that drops to that user must be able to write). Entries already owned are
    left alone (a call costs one ``lstat`` each); symlinks are changed themselves,
    never followed, so a link the sandboxed code planted cannot hand it a host file.

    >>> import tempfile; d = tempfile.mkdtemp()
    >>> give_tree(d, os.getuid(), os.getgid())  # already owned: nothing to do
    """
    for path in _walk_entries(os.fspath(root)):
        st = os.lstat(path)
        if st.st_uid != uid or st.st_gid != gid:
            os.lchown(path, uid, gid)


def _walk_entries(root: str):
    yield root
    for dirpath, dirnames, filenames in os.walk(root):  # never descends into a symlink
        for name in (*dirnames, *filenames):
            yield os.path.join(dirpath, name)


class CappedBuffer:
    """Keeps the first ``cap`` bytes written to it and counts the rest, which it
    drops: what one output stream of a sandboxed call holds in memory.

    >>> b = CappedBuffer(4)
    >>> b.write(b"abc"); b.write(b"def")
    >>> bytes(b.data), b.dropped, b.truncated
    (b'abcd', 2, True)
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    def write(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


_READ_CHUNK = 1 << 16
# After a kill at the deadline, how long to drain what the killed processes left
# in the pipes (a process that escaped the group may hold them open for ever).
_DRAIN_AFTER_KILL_S = 2.0


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
    deadline; cap each output stream at ``limits.max_output_bytes`` *while
    reading*: the pipes are drained to the end (so the child never blocks on a
    full pipe) but at most the cap of each is kept in memory."""
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
    out, err = CappedBuffer(limits.max_output_bytes), CappedBuffer(limits.max_output_bytes)
    deadline = start + limits.timeout_s
    try:
        timed_out = _pump(proc, stdin.encode() if stdin is not None else None, out, err, deadline)
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # it closed its output but runs on
            timed_out = True
            _kill_group(proc)
            proc.wait()
    finally:
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                f.close()
        if proc.returncode is None:  # an exception of ours: leave nothing running
            _kill_group(proc)
            proc.wait()
    return ExecResult(
        returncode=proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        truncated=out.truncated or err.truncated,
    )


def _pump(proc: subprocess.Popen, data: bytes | None, out: CappedBuffer, err: CappedBuffer, deadline: float) -> bool:
    """Feed ``data`` to the child's stdin and read its stdout/stderr into the
    capped buffers until both reach end of file; kill the group at the deadline.
    True if the deadline killed it."""
    assert proc.stdout is not None and proc.stderr is not None
    sinks = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    sel = selectors.DefaultSelector()
    for fd in sinks:
        sel.register(fd, selectors.EVENT_READ)
    pending = memoryview(data or b"")
    stdin_fd = None
    if proc.stdin is not None:
        if pending:
            stdin_fd = proc.stdin.fileno()
            os.set_blocking(stdin_fd, False)
            sel.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
    timed_out = False
    try:
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if timed_out:
                    break  # the pipes are held open by a process outside the group: stop reading
                timed_out = True
                _kill_group(proc)
                deadline = time.monotonic() + _DRAIN_AFTER_KILL_S
                continue
            for key, _ in sel.select(remaining):
                fd = key.fd
                if fd == stdin_fd:
                    try:
                        pending = pending[os.write(fd, pending[:_READ_CHUNK]):]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:  # the child stopped reading its input
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(fd)
                        proc.stdin.close()  # type: ignore[union-attr]
                    continue
                chunk = os.read(fd, _READ_CHUNK)
                if chunk:
                    sinks[fd].write(chunk)
                else:  # end of file
                    sel.unregister(fd)
    finally:
        sel.close()
    return timed_out


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
