"""``docker``: one container per call (docker SDK), used wherever an engine answers.

The work directory is mounted at ``/workspace``; no network unless
``Limits.network``; memory, CPU, pids limits; the container is removed after
the call and killed at the deadline. The image (default ``python:3.11-slim``)
must already be present or pullable by the engine. The container runs as uid
65534 (nobody) when agentgym runs as root — the work directory is given to that
user first — and as the calling user otherwise; with every capability dropped
and ``no-new-privileges``.

Not run on the machine where this backend was written (no engine answers there):
its tests and attack-suite rows skip with the engine's error as the reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

from agentgym.sandbox import ExecResult, Limits
from agentgym.sandboxes._common import SANDBOX_GID, SANDBOX_UID, CappedBuffer, give_tree

WORKSPACE = "/workspace"


class DockerSandbox:
    name = "docker"

    def __init__(self, limits: Limits | None = None, image: str = "python:3.11-slim") -> None:
        import docker

        self.limits = limits or Limits()
        self.image = image
        self.client = docker.from_env()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import docker
        except ImportError:
            return "the docker SDK is not installed (pip install 'agentgym[sandbox]')"
        try:
            client = docker.from_env(timeout=3)
            client.ping()
        except Exception as e:
            return f"no docker engine answers ({type(e).__name__}: {str(e)[:120]})"
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
        if stdin is not None:
            # The SDK has no simple stdin for detached runs: pass it as a file.
            with open(os.path.join(workdir, ".stdin"), "w") as f:
                f.write(stdin)
            argv = ["sh", "-c", '"$@" < .stdin', "sh", *argv]
        workdir = os.path.abspath(os.fspath(workdir))
        if os.geteuid() == 0:
            give_tree(workdir)  # the container's user must write the bind-mounted workspace
            user = f"{SANDBOX_UID}:{SANDBOX_GID}"
        else:
            user = f"{os.getuid()}:{os.getgid()}"
        start = time.monotonic()
        container = self.client.containers.run(
            self.image,
            list(argv),
            detach=True,
            working_dir=WORKSPACE,
            volumes={workdir: {"bind": WORKSPACE, "mode": "rw"}},
            environment=dict(env or {}),
            network_disabled=not lim.network,
            mem_limit=f"{lim.memory_mb}m",
            pids_limit=lim.max_processes,
            nano_cpus=1_000_000_000,
            user=user,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
        )
        timed_out = False
        try:
            status = container.wait(timeout=lim.timeout_s)
            code = int(status.get("StatusCode", -1))
        except Exception:
            timed_out = True
            container.kill()
            code = -9
        try:
            out = _capped_logs(container, lim.max_output_bytes, stdout=True, stderr=False)
            err = _capped_logs(container, lim.max_output_bytes, stdout=False, stderr=True)
        finally:
            container.remove(force=True)
        return ExecResult(
            returncode=code,
            stdout=out.text(),
            stderr=err.text(),
            duration_s=time.monotonic() - start,
            timed_out=timed_out,
            truncated=out.truncated or err.truncated,
        )


def _capped_logs(container, cap: int, **which: bool) -> CappedBuffer:
    """One output stream of a finished container, streamed from the engine and
    capped while reading (never the whole log in memory)."""
    buf = CappedBuffer(cap)
    for chunk in container.logs(stream=True, follow=False, **which):
        buf.write(chunk)
    return buf
