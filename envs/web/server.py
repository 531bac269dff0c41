"""Site servers shared by every env of a process: one server process per site.

:func:`acquire` returns a running :class:`SiteServer` for ``(site, database)``,
starting it on first use; :func:`release` stops it when its last env lets go
(envs release on ``close()`` and when garbage-collected; every server is also
stopped at interpreter exit). The server is a separate process
(:mod:`~agentgym.envs.web.sites` under uvicorn) that serves many sessions at
once; it listens on a loopback port the parent binds first and hands over (no
port race), and it exits by itself when its parent dies (it watches its stdin).

>>> from agentgym.envs.web.shop_data import shop_db
>>> srv = acquire("shop", shop_db(0))
>>> srv.base_url.startswith("http://127.0.0.1:")
True
>>> release(srv)
>>> srv.running
False
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from agentgym.errors import AgentGymError

__all__ = ["SiteServer", "SiteServerError", "acquire", "release", "running_servers"]

logger = logging.getLogger(__name__)
START_TIMEOUT_S = float(os.environ.get("AGENTGYM_WEB_START_TIMEOUT", "120"))
"""Seconds a site server may take to answer (a loaded machine can take tens of seconds to import)."""


class SiteServerError(AgentGymError, RuntimeError):
    """A site server did not start (the message carries its stderr)."""


class SiteServer:
    """One site's server process (see the module docstring)."""

    def __init__(self, site: str, db: Path) -> None:
        self.site, self.db = site, Path(db)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        self.port = sock.getsockname()[1]
        cmd = [sys.executable, "-m", "agentgym.envs.web.sites", "--site", self.site, "--db", str(self.db),
               "--fd", str(sock.fileno()), "--watch-stdin"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     pass_fds=[sock.fileno()])
        sock.close()  # the child holds the listening socket now
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise SiteServerError(f"the {self.site} server exited at start (code {self.proc.returncode}):\n{err[-2000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SiteServerError(f"the {self.site} server did not answer within {START_TIMEOUT_S:.0f} s.")
            time.sleep(0.05)
        logger.info("%s server on %s (pid %d)", self.site, self.base_url, self.proc.pid)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()  # the server exits on EOF
            proc.terminate()
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        finally:
            if proc.stderr:
                proc.stderr.close()


_LOCK = threading.Lock()
_SERVERS: dict[tuple[str, str], SiteServer] = {}
_REFS: dict[tuple[str, str], int] = {}


def acquire(site: str, db: Path | str) -> SiteServer:
    """A running server for ``site`` over ``db``, shared with the other envs of this process."""
    key = (site, str(Path(db).resolve()))
    with _LOCK:
        srv = _SERVERS.get(key)
        if srv is None or not srv.running:  # first use, or it died: (re)start it
            if srv is not None:
                srv.stop()
            srv = _SERVERS[key] = SiteServer(site, Path(key[1]))
            srv.start()
        _REFS[key] = _REFS.get(key, 0) + 1
        return srv


def release(srv: SiteServer) -> None:
    """Let go of ``srv``; the last release stops it."""
    key = (srv.site, str(srv.db))
    with _LOCK:
        if key not in _REFS:
            return
        _REFS[key] -= 1
        if _REFS[key] <= 0:
            del _REFS[key]
            _SERVERS.pop(key, srv).stop()


def running_servers() -> list[SiteServer]:
    """The servers of this process that are up (for tests and diagnostics)."""
    with _LOCK:
        return [s for s in _SERVERS.values() if s.running]


@atexit.register
def _stop_all() -> None:
    with _LOCK:
        for srv in _SERVERS.values():
            srv.stop()
        _SERVERS.clear()
        _REFS.clear()
