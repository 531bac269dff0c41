"""The sandbox contract: run untrusted code with time, memory and output limits.

Backends live in ``sandboxes/`` (imported as ``agentgym.sandboxes``) and are
found through the ``agentgym.sandboxes`` entry-point group, so the core never
imports one:

* ``docker`` — a container per call (docker SDK); used wherever an engine answers.
* ``bwrap``  — bubblewrap: fresh mount/pid/net/user namespaces, read-only system,
  the work directory the only writable place, uid 65534, no network.
* ``process`` — a child process with rlimits only. **Not a security boundary**;
  for trusted code and for machines with neither of the above.

``load_sandbox("auto")`` picks the first available of docker, bwrap, process.

>>> sb = load_sandbox("auto")                                    # doctest: +SKIP
>>> sb.run(["python3", "-c", "print(1 + 1)"], workdir="/tmp/x").stdout  # doctest: +SKIP
'2\\n'
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agentgym.errors import ConfigError, SandboxUnavailableError, did_you_mean

__all__ = ["ExecResult", "Limits", "Sandbox", "load_sandbox", "available_sandboxes", "SANDBOX_ENTRY_POINT_GROUP"]

logger = logging.getLogger(__name__)

SANDBOX_ENTRY_POINT_GROUP = "agentgym.sandboxes"
AUTO_ORDER = ("docker", "bwrap", "process")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one call.

    Args:
        timeout_s: Wall-clock limit; the whole process tree is killed after it.
        memory_mb: Address-space (or container memory) limit.
        max_output_bytes: stdout and stderr are each cut to this size.
        max_file_mb: Largest file the code may write.
        max_processes: Process/thread cap (where the backend supports one).
        network: Allow network access (off by default; ignored by ``process``).
    """

    timeout_s: float = 10.0
    memory_mb: int = 1024
    max_output_bytes: int = 1 << 20
    max_file_mb: int = 64
    max_processes: int = 64
    network: bool = False

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.memory_mb <= 0 or self.max_output_bytes <= 0:
            raise ConfigError(f"sandbox limits must be positive, got {self}.")


@dataclass(frozen=True)
class ExecResult:
    """What a sandboxed call did. ``returncode`` is negative (−signal) when the
    process was killed; ``timed_out`` says the wall-clock limit did it."""

    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@runtime_checkable
class Sandbox(Protocol):
    """A sandbox backend: anything with ``name``, ``unavailable_reason`` and
    ``run`` is one (test doubles need no inheritance).

    >>> class Echo:
    ...     name = "echo"
    ...     @classmethod
    ...     def unavailable_reason(cls): return None
    ...     def run(self, argv, *, workdir, limits=None, env=None, stdin=None):
    ...         return ExecResult(0, " ".join(argv), "", 0.0)
    >>> isinstance(Echo(), Sandbox)
    True
    """

    name: str

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why the backend cannot run on this machine (``"no docker engine
        answers"``, ``"bubblewrap is not installed"``), or ``None`` when it can.

        Called on the *class*, before any instance is built: :func:`load_sandbox`
        skips (``"auto"``) or refuses a backend that gives a reason, and
        :func:`available_sandboxes` lists the reasons. It must be cheap and must
        not raise for an ordinary absence (return the reason instead).
        """
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        workdir: str | os.PathLike[str],
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> ExecResult:
        """Run ``argv`` with ``workdir`` as the current (and only writable) directory,
        within ``limits``: the whole process tree is killed at the deadline
        (``timed_out``), and each output stream keeps at most
        ``limits.max_output_bytes`` (``truncated``), the rest read and discarded."""
        ...


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=SANDBOX_ENTRY_POINT_GROUP)}


def _backend(name: str, ep: importlib.metadata.EntryPoint) -> type:
    """The backend class behind an entry point, checked against the protocol."""
    cls = ep.load()
    missing = [m for m in ("unavailable_reason", "run") if not callable(getattr(cls, m, None))]
    if missing:
        raise ConfigError(
            f"sandbox backend {name!r} ({ep.value}) does not implement the Sandbox protocol: it lacks "
            f"{' and '.join(missing)}(). A backend class needs a `name`, a classmethod `unavailable_reason()` "
            "(None when usable here, else why not) and `run(argv, *, workdir, limits, env, stdin)`; "
            "see agentgym.sandbox.Sandbox."
        )
    return cls


def available_sandboxes() -> dict[str, str]:
    """Each installed backend -> ``""`` if usable here, else the reason it is not."""
    out = {}
    for name, ep in sorted(_entry_points().items()):
        try:
            out[name] = _backend(name, ep).unavailable_reason() or ""
        except Exception as e:  # a backend that cannot even import is unavailable
            out[name] = f"cannot load: {e}"
    return out


def load_sandbox(kind: str = "auto", **kwargs: object) -> Sandbox:
    """Build the sandbox backend ``kind`` (``"auto"``, ``"docker"``, ``"bwrap"``,
    ``"process"``, or a third-party one). Raises :class:`SandboxUnavailableError`
    with the reason when the backend cannot run here."""
    eps = _entry_points()
    if kind == "auto":
        reasons = []
        for name in AUTO_ORDER:
            if name not in eps:
                continue
            cls = _backend(name, eps[name])
            reason = cls.unavailable_reason()
            if not reason:
                if name == "process":
                    logger.warning("no isolating sandbox (docker, bwrap) is available: using rlimits only")
                return cls(**kwargs)
            reasons.append(f"{name}: {reason}")
        raise SandboxUnavailableError("no sandbox backend is usable here: " + "; ".join(reasons))
    if kind not in eps:
        raise ConfigError(f"unknown sandbox {kind!r}.{did_you_mean(kind, eps)} Installed: {', '.join(sorted(eps))}.")
    cls = _backend(kind, eps[kind])
    reason = cls.unavailable_reason()
    if reason:
        raise SandboxUnavailableError(f"sandbox {kind!r} is not usable here: {reason}")
    return cls(**kwargs)
