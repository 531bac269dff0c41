"""Sandboxes: limits enforced, isolation where the backend promises it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agentgym.errors import ConfigError, SandboxUnavailableError
from agentgym.sandbox import Limits, Sandbox, available_sandboxes, load_sandbox

AVAILABLE = available_sandboxes()


def _backend(name: str):
    if AVAILABLE.get(name, "not installed"):
        pytest.skip(f"sandbox {name!r} unavailable: {AVAILABLE.get(name, 'not installed')}")
    return load_sandbox(name)


BACKENDS = [
    pytest.param("process", id="process"),
    pytest.param("bwrap", id="bwrap", marks=pytest.mark.bwrap),
    pytest.param("docker", id="docker", marks=pytest.mark.docker),
]


@pytest.mark.parametrize("name", BACKENDS)
def test_runs_python_in_the_workdir(name: str, tmp_path: Path) -> None:
    sb = _backend(name)
    assert isinstance(sb, Sandbox)
    (tmp_path / "in.txt").write_text("21")
    res = sb.run(["python3", "-c", "n = int(open('in.txt').read()); open('out.txt', 'w').write(str(2 * n)); print('ok')"], workdir=tmp_path)
    assert res.ok, res.stderr
    assert res.stdout == "ok\n" and (tmp_path / "out.txt").read_text() == "42"


@pytest.mark.parametrize("name", BACKENDS)
def test_wall_clock_limit_kills_the_tree(name: str, tmp_path: Path) -> None:
    sb = _backend(name)
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\ntime.sleep(60)"
    res = sb.run(["python3", "-c", code], workdir=tmp_path, limits=Limits(timeout_s=1.0))
    assert res.timed_out and not res.ok and res.duration_s < 10


@pytest.mark.parametrize("name", BACKENDS)
def test_memory_limit(name: str, tmp_path: Path) -> None:
    sb = _backend(name)
    res = sb.run(["python3", "-c", "x = bytearray(800 * 1024 * 1024); print('allocated')"], workdir=tmp_path, limits=Limits(memory_mb=256))
    assert not res.ok and "allocated" not in res.stdout


@pytest.mark.parametrize("name", BACKENDS)
def test_output_is_capped_and_env_is_clean(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTGYM_SECRET_TOKEN", "s3cret")
    sb = _backend(name)
    res = sb.run(["python3", "-c", "import os; print(os.environ.get('AGENTGYM_SECRET_TOKEN')); print('x' * 100000)"], workdir=tmp_path, limits=Limits(max_output_bytes=1000))
    assert res.stdout.startswith("None\n") and res.truncated and len(res.stdout) <= 1000


@pytest.mark.bwrap
def test_bwrap_isolates_filesystem_network_and_user(tmp_path: Path) -> None:
    sb = _backend("bwrap")
    outside = Path("/tmp") / f"agentgym-outside-{tmp_path.name}"
    code = (
        "import os, socket, pathlib\n"
        f"p = pathlib.Path({str(outside)!r})\n"
        "try:\n    p.write_text('escaped'); print('wrote-outside')\nexcept OSError: print('no-write')\n"
        "try:\n    open('/usr/bin/python3', 'ab'); print('wrote-usr')\nexcept OSError: print('ro-usr')\n"
        "print('root-home', os.path.exists('/root/.bashrc'))\n"
        "s = socket.socket()\ns.settimeout(1)\n"
        "try:\n    s.connect(('127.0.0.1', 22)); print('net')\nexcept OSError: print('no-net')\n"
        "print('uid', os.getuid())\n"
    )
    res = sb.run(["python3", "-c", code], workdir=tmp_path)
    assert res.ok, res.stderr
    lines = res.stdout.split("\n")
    assert not outside.exists()  # the sandbox's /tmp is private: nothing escapes
    assert lines[1] == "ro-usr" and lines[2] == "root-home False" and lines[3] == "no-net" and lines[4] == "uid 65534"


@pytest.mark.bwrap
def test_bwrap_keeps_the_kernels_global_knobs_read_only(tmp_path: Path) -> None:
    """An attack once wrote a pipe into /proc/sys/kernel/core_pattern from inside (run
    as the host's root, that runs a program as root on the next crash). Checked by the
    mounts and the process's privileges, never by writing."""
    sb = _backend("bwrap")
    res = sb.run(["sh", "-c", "grep -E '^(CapPrm|CapEff|CapAmb|NoNewPrivs)' /proc/self/status; "
                              "awk '{print $5, $6}' /proc/self/mountinfo"], workdir=tmp_path)
    assert res.ok, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:4] == ["CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
                         "CapAmb:\t0000000000000000", "NoNewPrivs:\t1"]
    mounts = dict(line.split(" ", 1) for line in lines[4:] if " " in line)
    for knob in ("/proc/sys", "/proc/irq", "/proc/bus"):
        assert mounts[knob].startswith("ro,"), (knob, mounts.get(knob))
    assert mounts["/"].startswith("ro,") and mounts["/tmp"].startswith("rw,")


def _host_uid() -> int:
    return 65534 if os.geteuid() == 0 else os.geteuid()


@pytest.mark.bwrap
def test_bwrap_code_runs_as_an_unprivileged_host_user(tmp_path: Path) -> None:
    """Started by root, bwrap used to map the sandbox's uid 65534 to the host's root.
    Now the host sees the sandbox's files and processes as nobody's (or, for a
    non-root caller, as the caller's)."""
    sb = _backend("bwrap")
    (tmp_path / "given.txt").write_text("host wrote this\n")  # a host file the sandbox must be able to edit
    res = sb.run(["sh", "-c", "cat /proc/self/uid_map; echo more >> given.txt; echo new > made.txt"], workdir=tmp_path)
    assert res.ok, res.stderr
    inner, _, count = res.stdout.split()  # the middle column is the parent namespace's view, not the host's
    assert (inner, count) == ("65534", "1")
    assert (tmp_path / "made.txt").stat().st_uid == _host_uid() != 0  # the host's view
    assert (tmp_path / "given.txt").read_text() == "host wrote this\nmore\n"


@pytest.mark.bwrap
def test_bwrap_refuses_writes_to_root_owned_files_even_bound_read_write(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make root-owned files (for another user they are unwritable anyway)")
    sb = _backend("bwrap")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "f").write_text("root's")
    work = tmp_path / "work"
    work.mkdir()
    lim = Limits(timeout_s=10)
    cmd = sb.command(["sh", "-c", "echo PWNED >> /victim/f; echo PWNED > /victim/new; rm -f /victim/f; "
                                  "chmod 777 /victim/f; echo tried"],
                     str(work), lim, {"PATH": "/usr/bin:/bin"})
    i = cmd.index("--chdir")
    cmd[i:i] = ["--bind", str(victim), "/victim"]  # a read-write bind of root's directory
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert out.stdout == "tried\n", out.stderr
    assert out.stderr.count("Permission denied") >= 3 or "Operation not permitted" in out.stderr, out.stderr
    assert sorted(os.listdir(victim)) == ["f"] and (victim / "f").read_text() == "root's"
    assert (victim / "f").stat().st_mode & 0o777 == 0o644


FORK_COUNT = (
    "import os, sys, time\n"
    "n = 0\n"
    "while n < 200:\n"
    "    try:\n"
    "        pid = os.fork()\n"
    "    except OSError:\n"
    "        break\n"
    "    if pid == 0:\n"
    "        time.sleep(60)\n"
    "        os._exit(0)\n"
    "    n += 1\n"
    "me = sys.argv[1]\n"
    "open(me, 'w').write(str(n))\n"
    "other = 'b' if me == 'a' else 'a'\n"
    "deadline = time.time() + 20\n"
    "while len(sys.argv) > 2 and not os.path.exists(other) and time.time() < deadline:\n"
    "    time.sleep(0.05)\n"
    "print(n, os.path.exists(other))\n"
)


@pytest.mark.bwrap
def test_bwrap_process_limit_stops_a_fork_bomb(tmp_path: Path) -> None:
    """Under the old root mapping the kernel exempted the sandbox from RLIMIT_NPROC:
    100 forks under a limit of 64. The sleeping children die with the namespace."""
    sb = _backend("bwrap")
    res = sb.run(["python3", "-c", FORK_COUNT, "a"], workdir=tmp_path, limits=Limits(timeout_s=20, max_processes=16))
    assert res.ok, res.stderr
    forked = int(res.stdout.split()[0])
    assert 8 <= forked < 16, res.stdout  # refused at the limit (the python itself is one)


@pytest.mark.bwrap
def test_bwrap_process_limit_counts_each_call_alone(tmp_path: Path) -> None:
    """Every call runs as the same host user; its own user namespace keeps one call's
    processes from counting against another's limit (a fork bomb in one episode must
    not make the others' forks fail)."""
    import threading

    from agentgym.sandboxes import bwrap

    sb = _backend("bwrap")
    if os.geteuid() == 0 and not bwrap._probe()[1]:
        pytest.skip("no user namespace for the sandbox user here: the limit counts all calls together")
    results: dict[str, str] = {}
    lim = Limits(timeout_s=30, max_processes=12)

    def one(me: str) -> None:
        res = sb.run(["python3", "-c", FORK_COUNT, me, "wait"], workdir=tmp_path, limits=lim)
        results[me] = res.stdout if res.ok else f"failed: {res.stderr}"

    threads = [threading.Thread(target=one, args=(me,)) for me in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = {me: out.split() for me, out in results.items()}
    assert all(c[1] == "True" for c in counts.values()), results  # both were forked out at once
    assert all(6 <= int(c[0]) < 12 for c in counts.values()), results  # each up to its own limit


def test_auto_and_errors() -> None:
    assert load_sandbox("auto").name in ("docker", "bwrap", "process")
    with pytest.raises(ConfigError, match="Did you mean 'bwrap'"):
        load_sandbox("bwarp")
    if AVAILABLE.get("docker"):
        with pytest.raises(SandboxUnavailableError, match="docker"):
            load_sandbox("docker")
    with pytest.raises(ConfigError):
        Limits(timeout_s=0)


# ---------------------------------------------------------------------------
# The contract: unavailable_reason() is part of the protocol; output is capped
# while it is read (issue 12, item 10)
# ---------------------------------------------------------------------------
class _NoReason:
    name = "no-reason"

    def run(self, argv, *, workdir, limits=None, env=None, stdin=None):
        raise AssertionError("never run")


class _FakeEntryPoint:
    def __init__(self, cls) -> None:
        self.cls, self.value = cls, f"tests:{cls.__name__}"

    def load(self):
        return self.cls


def test_unavailable_reason_is_part_of_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentgym import sandbox as sandbox_mod
    from agentgym.sandboxes.process import ProcessSandbox

    assert isinstance(ProcessSandbox(), Sandbox)
    assert not isinstance(_NoReason(), Sandbox)  # a run() alone is not the contract
    assert "unavailable_reason" in Sandbox.__dict__ and Sandbox.unavailable_reason.__doc__
    monkeypatch.setattr(sandbox_mod, "_entry_points", lambda: {"no-reason": _FakeEntryPoint(_NoReason)})
    with pytest.raises(ConfigError, match="lacks unavailable_reason"):
        load_sandbox("no-reason")
    assert "lacks unavailable_reason" in available_sandboxes()["no-reason"]


def _peak_bytes(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


MB = 1 << 20
FIFTY_MB = "import sys\nb = b'x' * (1 << 20)\nfor _ in range(50):\n    sys.stdout.buffer.write(b)\n    sys.stderr.buffer.write(b[:1000])\nprint('end', file=sys.stderr)"


def test_output_is_capped_while_reading(tmp_path: Path) -> None:
    from agentgym.sandboxes._common import clean_env, run_capped

    limits = Limits(max_output_bytes=MB, timeout_s=60)
    res, peak = _peak_bytes(lambda: run_capped(["python3", "-c", FIFTY_MB], cwd=str(tmp_path), env=clean_env(None),
                                               limits=limits, stdin=None))
    assert res.ok and not res.timed_out  # the child was never blocked on a full pipe
    assert res.truncated and res.stdout == "x" * MB and res.stderr == "x" * 50_000 + "end\n"
    assert peak < 4 * MB, f"{peak / MB:.1f} MB held for a 50 MB output capped at 1 MB"


def test_a_child_that_writes_for_ever_is_capped_and_killed(tmp_path: Path) -> None:
    sb = load_sandbox("process")
    res, peak = _peak_bytes(lambda: sb.run(["python3", "-c", "while True: print('y' * 4096)"], workdir=tmp_path,
                                           limits=Limits(timeout_s=1.5, max_output_bytes=MB)))
    assert res.timed_out and res.truncated and len(res.stdout) == MB and res.duration_s < 8
    assert peak < 4 * MB


def test_stdin_and_stdout_flow_together(tmp_path: Path) -> None:
    sb = load_sandbox("process")
    # cat echoes as it reads: writing all of stdin before reading stdout would deadlock.
    res = sb.run(["cat"], workdir=tmp_path, stdin="z" * (3 * MB), limits=Limits(max_output_bytes=MB, timeout_s=30))
    assert res.ok and res.truncated and res.stdout == "z" * MB
    res = sb.run(["python3", "-c", "import sys; print(len(sys.stdin.read()))"], workdir=tmp_path, stdin="abc")
    assert res.ok and res.stdout == "3\n" and not res.truncated
    # A child that exits without reading its input is not an error of ours.
    res = sb.run(["python3", "-c", "print('no read')"], workdir=tmp_path, stdin="q" * (4 * MB))
    assert res.ok and res.stdout == "no read\n"


def test_capped_buffer() -> None:
    from agentgym.sandboxes._common import CappedBuffer

    b = CappedBuffer(5)
    for chunk in (b"ab", b"cdef", b"", b"gh"):
        b.write(chunk)
    assert bytes(b.data) == b"abcde" and b.dropped == 3 and b.truncated
    exact = CappedBuffer(3)
    exact.write(b"abc")
    assert not exact.truncated and exact.text() == "abc"
