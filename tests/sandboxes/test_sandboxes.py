"""Sandboxes: limits enforced, isolation where the backend promises it."""

from __future__ import annotations

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


def test_auto_and_errors() -> None:
    assert load_sandbox("auto").name in ("docker", "bwrap", "process")
    with pytest.raises(ConfigError, match="Did you mean 'bwrap'"):
        load_sandbox("bwarp")
    if AVAILABLE.get("docker"):
        with pytest.raises(SandboxUnavailableError, match="docker"):
            load_sandbox("docker")
    with pytest.raises(ConfigError):
        Limits(timeout_s=0)
