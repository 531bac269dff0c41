"""Starting a local Ray node on a small, busy machine, and saying why when it cannot.

A local node is four Python helpers besides the C++ GCS and raylet: the dashboard
(API server, started even with ``include_dashboard=False``), the dashboard agent,
the runtime-env agent and the log monitor. The raylet waits for the dashboard
agent to write its port files and aborts when one is missing after ~15 s (Ray 2.60;
``RAY_agent_register_timeout_ms`` does not change that wait), and ``ray.init`` gives
the raylet 30 s to register (a constant in ``ray/_private/node.py``). On 2 cores at
a load of ~30 the agent's imports alone take longer, so the node never comes up
(reproduced here by delaying the agent's start by 45 s: "the raylet aborted after
15 s waiting for the dashboard agent's metrics_agent port file"). What this module
does about it: start a *new* node (``address="local"``: never join someone else's
cluster by accident), without usage-stats reporting, with the caller's import path
in the environment the raylet hands to its workers (no ``runtime_env``, so the
workers Ray starts ahead of time can host the first actors), once more if the first
try fails (the second finds Ray's files in the page cache), and, when both fail, an
error that says what the node's own logs show.

    >>> from agentgym.distributed.cluster import start_local            # doctest: +SKIP
    >>> ray = start_local(num_cpus=2, pythonpath=["/path/to/repo"])     # doctest: +SKIP
    >>> ray.shutdown()                                                  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agentgym.errors import AgentGymError

__all__ = ["RayStartError", "start_local", "diagnose_start"]


class RayStartError(AgentGymError, RuntimeError):
    """A local Ray node did not start; the message says what its logs show."""


# "[2026-12-03 07:56:32,209 I 8417 8455] (raylet) ..." and "2026-12-03 07:56:21,917\tINFO ..."
_STAMP = re.compile(r"^\[?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})")
_PORT_WAIT = re.compile(r"Timed out waiting for file \S*/(\w+?)_port")


def _stamp(line: str) -> float | None:
    m = _STAMP.match(line)
    if m is None:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


def _first(lines: Sequence[str], needle: str = "") -> tuple[float | None, str]:
    for line in lines:
        if needle in line and _stamp(line) is not None:
            return _stamp(line), line
    return None, ""


def diagnose_start(session_dir: str | os.PathLike[str] | None) -> str:
    """What a Ray session's logs say about why its node did not come up (one
    paragraph, for an error message or a test's skip reason).

    >>> diagnose_start(None).startswith("no Ray session directory")
    True
    """
    if session_dir is None or not Path(session_dir).is_dir():
        return f"no Ray session directory to read ({session_dir})"
    logs = Path(session_dir) / "logs"
    found: list[str] = []
    gcs_t, _ = _first(_lines(logs / "gcs_server.out"))
    dash_t, _ = _first(_lines(logs / "dashboard.log"))
    raylet = _lines(logs / "raylet.out") + _lines(logs / "raylet.err")
    raylet_t, _ = _first(raylet)
    agent_t, _ = _first(raylet, "Monitor agent process with name dashboard_agent")
    if gcs_t is None:
        found.append("the GCS server wrote no log line")
    if gcs_t is not None and raylet_t is not None:
        found.append(f"the raylet started {raylet_t - gcs_t:.0f} s after the GCS (Ray first waits for its "
                     f"dashboard process{'' if dash_t is None else f', whose first log line came {dash_t - gcs_t:.0f} s after the GCS'})")
    elif gcs_t is not None:
        found.append("the raylet never started (Ray was still waiting for its dashboard process)")
    crash_t, crash = _first(raylet, "Timed out waiting for file")
    if crash:
        m = _PORT_WAIT.search(crash)
        what = m.group(1) if m else "an agent"
        waited = f" after {crash_t - agent_t:.0f} s" if crash_t is not None and agent_t is not None else ""
        found.append(f"the raylet aborted{waited} waiting for the dashboard agent's {what} port file "
                     "(the raylet's fixed wait for it)")
    else:
        fatal_t, fatal = _first([ln for ln in raylet if re.match(r"^\[[^]]* [CF] ", ln)])
        if fatal:
            found.append(f"the raylet failed: {fatal[fatal.find(')') + 1:].strip()[:200]}")
    agent_log = _lines(logs / "dashboard_agent.log")
    if agent_t is not None:
        if not agent_log:
            found.append("the dashboard agent wrote no log line (still importing its modules)")
        else:
            first_t, _ = _first(agent_log)
            if first_t is not None:
                found.append(f"the dashboard agent's first log line came {first_t - agent_t:.0f} s after it was launched")
    up, _ = _first(raylet, "Raylet of id")
    if up is not None and not crash:
        found.append("the raylet did start (Ray's 30 s limit for it to register ran out first)")
    return "; ".join(found) or f"nothing conclusive in {logs}"


def _own_session(temp_dir: str, since: float) -> str | None:
    """The newest session directory this process created since ``since``
    (Ray names them ``session_<date>_<time>_<pid>``)."""
    root = Path(temp_dir)
    mine = [p for p in root.glob(f"session_*_{os.getpid()}") if p.is_dir() and p.stat().st_mtime >= since - 1]
    return str(max(mine, key=lambda p: p.stat().st_mtime)) if mine else None


def _stop_leftovers(session: str | None) -> None:
    """Stop what a failed ``ray.init`` of this process left running: Ray does not
    track a node whose start raised, so its GCS, raylet and helpers would go on
    competing for the CPUs the next try needs. Only this process's descendants
    that name the session (and their own children: the agents and workers)."""
    if session is None:
        return
    try:
        import psutil
    except ImportError:  # ray[default] depends on psutil; without it the reaper stops them at exit
        return
    name = Path(session).name
    victims: dict[int, Any] = {}
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if name in " ".join(p.cmdline()):
                victims[p.pid] = p
                for c in p.children(recursive=True):
                    victims[c.pid] = c
    for p in victims.values():
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(list(victims.values()), timeout=10)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_local(
    num_cpus: int = 2,
    *,
    pythonpath: Sequence[str] = (),
    attempts: int = 2,
    temp_dir: str | None = None,
    **init_kwargs: Any,
) -> Any:
    """Start a new local Ray node (``ray.init(address="local", ...)``) and return
    the ``ray`` module; raise :class:`RayStartError` saying what the node's logs
    show when ``attempts`` tries fail.

    Args:
        num_cpus: CPUs the node offers to actors.
        pythonpath: Directories the node's workers import from (prepended to
            ``PYTHONPATH`` in the environment the raylet inherits).
        attempts: Tries before giving up.
        temp_dir: Ray's temp dir (default ``/tmp/ray``), where the logs are read.
        init_kwargs: More ``ray.init`` keywords.
    """
    from agentgym.distributed.pool import _ray

    ray = _ray()
    if ray.is_initialized():
        return ray
    path = os.pathsep.join(p for p in (*pythonpath, os.environ.get("PYTHONPATH", "")) if p)
    env = {"RAY_USAGE_STATS_ENABLED": "0", **({"PYTHONPATH": path} if path else {})}
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **init_kwargs}
    if temp_dir is not None:
        kwargs["_temp_dir"] = temp_dir
    tries: list[str] = []
    for attempt in range(1, max(1, attempts) + 1):
        since = time.time()
        try:
            with _environ(env):
                ray.init(address="local", num_cpus=num_cpus, **kwargs)
            return ray
        except Exception as e:  # Ray raises bare Exception on a start timeout
            session = _own_session(temp_dir or "/tmp/ray", since)
            ray.shutdown()
            _stop_leftovers(session)
            tries.append(f"try {attempt} ({time.time() - since:.0f} s, {type(e).__name__}: "
                         f"{str(e).strip().splitlines()[0][:160] if str(e).strip() else ''}): {diagnose_start(session)}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    raise RayStartError(
        f"a local Ray node did not start (load average {load} on {os.cpu_count()} CPUs). " + " | ".join(tries)
        + ". Ray's helper processes import slowly on a busy machine: run again when the load is lower, or "
        "start a node once with `ray start --head --num-cpus N` and pass its address.")
