"""The human policy and `agentgym play`, driven by scripted keyboard input."""

from __future__ import annotations

import io

import pytest

import agentgym
from agentgym.cli import main
from agentgym.policies.human import HumanPolicy, expand_shorthand
from agentgym.rollout import collect
from agentgym.trajectory import load_jsonl


def test_human_policy_plays_an_episode_through_the_rollout() -> None:
    env = agentgym.make("GuessNumber-v0")
    out = io.StringIO()

    def keyboard(prompt: str) -> str:  # a person doing binary search from what is on screen
        return f"guess {(env.low + env.high) // 2}"

    traj = collect(env, HumanPolicy(keyboard, out), tasks=1, max_turns=8)[0]
    assert traj.success and not traj.failed
    shown = out.getvalue()
    assert shown.count("--- instructions ---") == 1 and "guess(number: integer)" in shown
    assert traj.initial_observation in shown and traj.turns[0].observation in shown


def test_shorthand_and_commands() -> None:
    tools = agentgym.make("GuessNumber-v0").tools
    assert expand_shorthand("guess 5", tools) == '<tool_call>{"name": "guess", "arguments": {"number": "5"}}</tool_call>'
    assert expand_shorthand("guess(number=5)", tools) == "guess(number=5)"
    assert expand_shorthand("hello there", tools) == "hello there"
    lines = iter([":tools", "", "guess 1"])
    out = io.StringIO()
    c = HumanPolicy(lambda p: next(lines), out).act([[{"role": "user", "content": "go"}]], [tools])[0]
    assert c.text.startswith('<tool_call>{"name": "guess"') and out.getvalue().count("--- tools ---") == 2
    with pytest.raises(KeyboardInterrupt):
        HumanPolicy(lambda p: ":quit", out).act([[{"role": "user", "content": "go"}]], [tools])


def test_play_command(monkeypatch, capsys, tmp_path) -> None:
    env = agentgym.make("GuessNumber-v0", split="val", difficulty="medium")
    secret = env.generator.task("val", 2, "medium").meta["secret"]
    answers = iter(["guess -5", f"guess {secret}"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    save = tmp_path / "played.jsonl"
    rc = main(["play", "GuessNumber-v0", "--split", "val", "--difficulty", "medium", "--task-index", "2",
               "--save", str(save)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "turn 1: reward -0.1 (invalid_action -0.1)" in out and "turn 2: reward +1 (success +1)" in out
    assert "success True" in out and f'"number": {secret}' in out
    assert load_jsonl(save)[0].success


def test_play_quits_cleanly(monkeypatch, capsys) -> None:
    def eof(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    assert main(["play", "GuessNumber-v0"]) == 130
