"""The command-line dispatcher: help, typos, per-command arguments."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from agentgym.cli import COMMANDS, QUIET_LOGGERS, main


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


@pytest.fixture
def _undescribed_suite():
    from agentgym.suites import _SUITES, SuiteEntry, register_suite

    register_suite("undescribed-test-v0", [SuiteEntry("GuessNumber-v0", "val", 3)])
    yield
    _SUITES.pop("undescribed-test-v0", None)


@pytest.mark.usefixtures("_undescribed_suite")
def test_list_says_when_a_suite_has_no_description(capsys: pytest.CaptureFixture[str]) -> None:
    """No blank where the description goes (issue 13, item 12)."""
    assert main(["list", "--no-tools"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "undescribed-test-v0" in ln)
    assert line.split("undescribed-test-v0", 1)[1].strip() == "(no description) 1 env, 1 entry, 3 tasks: GuessNumber-v0."


def test_user_errors_exit_1_with_a_message() -> None:
    out = _run("eval", "--suite", "no-such-suite", "--policy", "oracle", "--out", "/tmp/agentgym-cli-test")
    assert out.returncode == 1 and out.stderr.startswith("error:") and "No suite" in out.stderr


@pytest.fixture
def _restore_http_loggers():
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("_restore_http_loggers")
def test_commands_keep_per_request_http_logs_quiet(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    # httpx logs every request at INFO: `agentgym eval --policy openai:...` printed one line a turn.
    request = 'HTTP Request: POST http://127.0.0.1:8000/v1/chat/completions "HTTP/1.1 200 OK"'
    assert main(["list", "--json"]) == 0
    capsys.readouterr()
    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").info(request)
    logging.getLogger("httpx").warning("connection refused")
    logging.getLogger("agentgym.evaluation").info("our own line")
    assert "HTTP Request" not in caplog.text
    assert "connection refused" in caplog.text and "our own line" in caplog.text
    # -v (debug logging) shows them again.
    assert main(["-v", "list", "--json"]) == 0
    logging.getLogger("httpx").info(request)
    assert "HTTP Request" in caplog.text
