"""The command-line dispatcher: help, typos, per-command arguments."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agentgym.cli import COMMANDS, main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentgym.cli", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    assert main([]) == 2


def test_typo_suggests_the_command() -> None:
    out = _run("trian")
    assert out.returncode == 2 and "Did you mean 'train'?" in out.stderr


def test_command_help_shows_its_own_arguments() -> None:
    out = _run("train", "--help")
    assert out.returncode == 0 and "--estimator" in out.stdout and "--group_size" in out.stdout
    out = _run("eval", "--help")
    assert out.returncode == 0 and "--suite" in out.stdout


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ids = {e["id"]: e for e in data["envs"]}
    assert ids["agentgym/GuessNumber-v0"]["tools"] == ["guess(number: integer)"]
    assert "core-v0" in {s["name"] for s in data["suites"]}


def test_user_errors_exit_1_with_a_message() -> None:
    out = _run("eval", "--suite", "no-such-suite", "--policy", "oracle", "--out", "/tmp/agentgym-cli-test")
    assert out.returncode == 1 and out.stderr.startswith("error:") and "No suite" in out.stderr
