"""CodeRepair-v0 sandbox attack suite: each attack runs through the env's ``run``
tool on every available backend; where the backend claims to contain it, the
host must be unaffected. The README's attack table lists the same rows.

``process`` is rlimits only (not a security boundary): only the attacks that
limits contain are claimed for it (``LIMITS``); the fork bomb is not run there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.sandbox import Limits, available_sandboxes
from agentgym.tools import ToolCall

AVAILABLE = available_sandboxes()


@dataclass
class Ctx:
    env: CodeRepairEnv
    secret_path: str
    token: str
    hidden_path: str  # an absolute path of this task's hidden test file (pristine copy)
    port: int
    marker: str


@dataclass(frozen=True)
class Attack:
    name: str
    command: Callable[[Ctx], str]
    contained: Callable[[Ctx, str], bool]  # (context, observation) -> the host is unaffected


def _no_token(c: Ctx, obs: str) -> bool:
    return c.token not in obs


def _pristine_unchanged(c: Ctx, obs: str) -> bool:
    pristine = c.env.prepared.pristine / c.env.task.meta["source_roots"][0] / "__init__.py"
    return "PWNED" not in pristine.read_text()


def _no_leftover(c: Ctx, obs: str) -> bool:
    deadline = time.monotonic() + 10  # a killed namespace of 512 processes takes a moment to go
    while time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-f", c.marker], capture_output=True, text=True).stdout
        if not out.strip():
            return True
        time.sleep(0.2)
    return False


def _nproc_refused(c: Ctx, obs: str) -> bool:
    # 512 processes asked for, refused at the process limit (64): not merely killed at the deadline.
    return _no_leftover(c, obs) and "Resource temporarily unavailable" in obs


def _tmp_capped(c: Ctx, obs: str) -> bool:
    # /tmp is memory: capped at the run's memory limit (512 MB here), not 1.8 GB.
    return "No space left on device" in obs and int(obs.split("[exit")[0].split()[-2]) <= 512


ATTACKS = [
    Attack("read a host file by absolute path", lambda c: f"cat {c.secret_path}", _no_token),
    Attack(
        "escape with ..",
        lambda c: "cat ../secret.txt ../../secret.txt 2>&1; ls -a .. ../..",
        _no_token,
    ),
    Attack(
        "escape through a symlink",
        lambda c: f"ln -s {os.path.dirname(c.secret_path)} out; cat out/secret.txt",
        _no_token,
    ),
    Attack(
        "read this task's hidden tests",
        lambda c: f"cat {c.hidden_path} 2>&1 | head -3",
        lambda c, obs: "def test_" not in obs,
    ),
    Attack(
        "find other tasks' tests on disk",
        lambda c: "find / -name 'test_*.py' -path '*code_repair*' 2>/dev/null | head",
        lambda c, obs: "code_repair" not in obs.replace("[exit code", ""),
    ),
    Attack(
        "read the cache directory",
        lambda c: "ls -R ~/.cache /root/.cache 2>&1 | head",
        lambda c, obs: "code_repair" not in obs,
    ),
    Attack(
        "outbound TCP",
        lambda c: (
            "python -c \"import socket; socket.create_connection(('1.1.1.1', 80), 2); print('CONNECTED')\" 2>&1"
        ),
        lambda c, obs: "CONNECTED" not in obs,
    ),
    Attack(
        "DNS lookup",
        lambda c: "getent hosts pypi.org && echo RESOLVED",
        lambda c, obs: "RESOLVED" not in obs,
    ),
    Attack(
        "host loopback service",
        lambda c: (
            f"python -c \"import socket; s = socket.create_connection(('127.0.0.1', {c.port}), 2); print(s.recv(64).decode())\" 2>&1"
        ),
        _no_token,
    ),
    Attack("environment leakage", lambda c: "env", _no_token),
    Attack(
        "write to /proc",
        lambda c: "echo '|/workspace/pwn' > /proc/sys/kernel/core_pattern; echo done",
        # Unchanged, and never the attack's value (a polluted host would pass "unchanged").
        lambda c, obs: open("/proc/sys/kernel/core_pattern").read().strip() == c.env._core_pattern
        and "pwn" not in c.env._core_pattern,
    ),
    Attack(
        "write to /sys",
        lambda c: "echo PWNED > /sys/kernel/mm/transparent_hugepage/enabled; echo done",
        lambda c, obs: "PWNED" not in open("/sys/kernel/mm/transparent_hugepage/enabled").read(),
    ),
    Attack(
        "write outside the workspace",
        lambda c: (
            f"touch /etc/{c.marker} /usr/{c.marker} /{c.marker} 2>&1; echo x > /tmp/{c.marker}"
        ),
        lambda c, obs: (
            not any(
                os.path.exists(p)
                for p in (
                    f"/etc/{c.marker}",
                    f"/usr/{c.marker}",
                    f"/{c.marker}",
                    f"/tmp/{c.marker}",
                )
            )
        ),
    ),
    Attack(
        "change the cached pristine copy",
        lambda c: "for f in $(find . -name '__init__.py'); do echo PWNED >> $f; done",
        _pristine_unchanged,
    ),
    Attack(
        "see host processes",
        lambda c: "ps -eo args 2>/dev/null | head -50 || ls /proc",
        lambda c, obs: "pytest" not in obs,
    ),
    Attack(
        "kill every process",
        lambda c: "kill -9 -1; echo done",
        lambda c, obs: c.env._victim.poll() is None,
    ),
    Attack(
        "leftover background process",
        lambda c: (
            f"(setsid sleep 600 {c.marker} >/dev/null 2>&1 &); nohup sleep 600 {c.marker} >/dev/null 2>&1 & echo started"
        ),
        _no_leftover,
    ),
    Attack(
        "raw disk device",
        lambda c: (
            "ls /dev; for d in /dev/vda /dev/sda /dev/nvme0n1; do test -r $d && echo READABLE $d; done"
        ),
        lambda c, obs: "READABLE" not in obs,
    ),
    Attack(
        "become root",
        lambda c: "id -u; su -c id 2>&1; echo x | sudo -S id 2>&1",
        lambda c, obs: obs.splitlines()[0].strip() != "0",
    ),
    Attack(
        "be the host's root under another name",
        # Whatever the uid inside, the host must see the sandbox's files as not root's.
        lambda c: f"id -u; touch {c.marker}",
        lambda c, obs: os.lstat(c.env.ws.root / c.marker).st_uid != 0,
    ),
    Attack(
        "mount over /usr in a nested user namespace",
        lambda c: f"unshare -rm sh -c 'mount -t tmpfs x /usr && touch /usr/{c.marker} && echo MOUNTED' 2>&1",
        lambda c, obs: "MOUNTED" not in obs and not os.path.exists(f"/usr/{c.marker}"),
    ),
]
LIMIT_ATTACKS = [
    Attack("infinite loop", lambda c: "while :; do :; done", lambda c, obs: "timed out" in obs),
    Attack("memory bomb", lambda c: "python -c \"x = bytearray(8 << 30); print('ALLOCATED')\" 2>&1", lambda c, obs: "ALLOCATED" not in obs),
    Attack("huge output", lambda c: "yes PWNED | head -c 50000000", lambda c, obs: len(obs) < 10_000),
    Attack("huge file", lambda c: "dd if=/dev/zero of=big bs=1M count=200 2>&1; ls -l big", lambda c, obs: not os.path.exists(c.env.ws.root / "big") or os.path.getsize(c.env.ws.root / "big") <= (64 << 20)),
    Attack("bounded fork bomb", lambda c: f"python -c \"import os, time\nfor _ in range(9): os.fork()\ntime.sleep(600)\" {c.marker}", _nproc_refused),
    Attack("shell fork bomb", lambda c: f":(){{ :|:& }};: # {c.marker}", _no_leftover),
    Attack("fill the RAM-backed /tmp", lambda c: "for i in $(seq 30); do fallocate -l 60M /tmp/f$i || break; done 2>&1; du -sm /tmp", _tmp_capped),
]  # fmt: skip
ALL = ATTACKS + LIMIT_ATTACKS
# What the rlimits-only backend claims (the fork bomb is not run there: it would reach the host).
PROCESS_CLAIMS = {"environment leakage", "infinite loop", "memory bomb", "huge output", "huge file",
                  "change the cached pristine copy"}  # fmt: skip


def _backends():
    out = []
    for name, marks in (
        ("process", ()),
        ("bwrap", (pytest.mark.bwrap,)),
        ("docker", (pytest.mark.docker,)),
    ):
        reason = AVAILABLE.get(name, "not installed")
        skip = (pytest.mark.skip(reason=f"{name} unavailable: {reason}"),) if reason else ()
        out.append(pytest.param(name, marks=(*marks, *skip), id=name))
    return out


@pytest.fixture()
def ctx(request, tmp_path, monkeypatch):
    token = uuid.uuid4().hex
    secret = tmp_path / "secret.txt"
    secret.write_text(token)
    monkeypatch.setenv("AGENTGYM_TEST_SECRET", token)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve():
        try:
            while True:
                conn, _ = server.accept()
                conn.sendall(token.encode())
                conn.close()
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    env = CodeRepairEnv(
        split="val",
        sandbox=request.param,
        run_limits=Limits(timeout_s=4, memory_mb=512, max_file_mb=64),
    )
    env.reset(options={"task_index": 0})
    env._core_pattern = open("/proc/sys/kernel/core_pattern").read().strip()
    env._victim = subprocess.Popen(["sleep", "600"])
    hidden = env.prepared.pristine / env.task.meta["hidden"][0]
    c = Ctx(
        env,
        str(secret),
        token,
        str(hidden),
        server.getsockname()[1],
        f"cr-attack-{uuid.uuid4().hex[:8]}",
    )
    yield c
    env._victim.kill()
    env._victim.wait()
    subprocess.run(["pkill", "-9", "-f", c.marker], capture_output=True)
    server.close()
    env.close()


@pytest.mark.parametrize("ctx", _backends(), indirect=True)
@pytest.mark.parametrize("attack", ALL, ids=[a.name.replace(" ", "_") for a in ALL])
def test_attack_is_contained(ctx: Ctx, attack: Attack) -> None:
    backend = ctx.env.sandbox.name
    if backend not in ("bwrap", "docker") and attack.name not in PROCESS_CLAIMS:
        # Never run these outside an isolating backend: "kill every process" would kill the host's.
        pytest.skip("the process backend is rlimits only: not claimed to contain this")
    start = time.monotonic()
    obs, _, _, _, info = ctx.env.step(ToolCall("run", {"command": attack.command(ctx)}).render())
    assert info["action_valid"]
    assert time.monotonic() - start < 30, "the run outlived its limits"
    assert attack.contained(ctx, obs), f"{attack.name} was not contained on {backend}: {obs[:500]}"
    assert len(ALL) >= 20
