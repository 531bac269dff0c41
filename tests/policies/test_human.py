"""The human policy and `agentgym play`, driven by scripted keyboard input."""

from __future__ import annotations

import io

import agentgym
from agentgym.cli import main
from agentgym.policies.human import QUIT, HumanPolicy, expand_shorthand, shorthand_usage
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
    quit_ = HumanPolicy(lambda p: ":quit", out).act([[{"role": "user", "content": "go"}]], [tools])[0]
    assert (quit_.finish_reason, quit_.error) == ("error", QUIT)


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


def test_play_quit_or_end_of_input_still_summarises_and_saves(monkeypatch, capsys, tmp_path) -> None:
    """`:quit` (or end of input) ends the episode with a summary, and --save keeps it."""
    for last in (":quit", None):  # None: end of input (Ctrl-D)
        lines = iter(["guess 1", last])

        def keyboard(prompt: str = "", lines=lines) -> str:
            line = next(lines)
            if line is None:
                raise EOFError
            return line

        monkeypatch.setattr("builtins.input", keyboard)
        save = tmp_path / f"quit-{last}.jsonl"
        assert main(["play", "GuessNumber-v0", "--task-index", "4", "--save", str(save)]) == 0
        captured = capsys.readouterr()
        assert "you quit after 1 turn;" in captured.out and "turn 1: reward" in captured.out
        task = agentgym.make("GuessNumber-v0").unwrapped.task_at(4)
        assert f"ground truth: {task.answer}" in captured.out and "interrupted" not in captured.err
        (traj,) = load_jsonl(save)
        assert len(traj.turns) == 1 and traj.task_id == task.id
        assert traj.failed and traj.error.endswith(QUIT) and not traj.success


def test_shorthand_takes_brackets_and_several_arguments() -> None:
    """AskToAct names objects `red bottle (2)`, and `place` takes two arguments."""
    env = agentgym.make("AskToAct-v0")
    obs, _ = env.reset(seed=0)
    assert "red bottle (2)" in obs and "desk" in obs
    tools = env.tools
    pick = expand_shorthand("pick red bottle (2)", tools)
    assert pick == '<tool_call>{"name": "pick", "arguments": {"object": "red bottle (2)"}}</tool_call>'
    place = expand_shorthand("place red bottle (2), desk", tools)
    assert place == ('<tool_call>{"name": "place", "arguments": {"object": "red bottle (2)", '
                     '"receptacle": "desk"}}</tool_call>')
    for action in (pick, place):
        assert env.step(action)[4]["action_valid"], action
    assert expand_shorthand("pick(object='red bottle (2)')", tools) == "pick(object='red bottle (2)')"
    assert expand_shorthand("place (object='a', receptacle='b')", tools) == "place (object='a', receptacle='b')"
    assert expand_shorthand("ask which one, the red or the blue?", tools).endswith(
        '{"question": "which one, the red or the blue?"}}</tool_call>')
    # A shorthand that does not fit is not sent: the usage is shown and the line asked again.
    assert shorthand_usage("place red bottle (2)", tools) is not None
    assert shorthand_usage("look around", tools) == "look takes no arguments: type `look`."
    lines = iter(["place red bottle (2)", "place red bottle (2), desk"])
    out = io.StringIO()
    c = HumanPolicy(lambda p: next(lines), out).act([[{"role": "user", "content": "go"}]], [tools])[0]
    assert c.text == place
    assert "place takes object, receptacle: type `place OBJECT, RECEPTACLE`" in out.getvalue()


def test_play_maps_the_task_index_as_the_env_does(monkeypatch, capsys) -> None:
    """`--task-index` goes through AgentEnv.task_at: an env with a fixed tasks= list plays its own tasks."""
    from agentgym.tasks import Task

    fixed = [Task("fixed/0", "Guess a number in [3, 5].", "guess(4)", {"low": 3, "high": 5, "secret": 4}),
             Task("fixed/1", "Guess a number in [7, 9].", "guess(8)", {"low": 7, "high": 9, "secret": 8})]
    agentgym.register("TestFixedGuess-v0", "agentgym.envs.guess_number.env:GuessNumberEnv", tasks=fixed,
                      description="test double: GuessNumber on two fixed tasks", override=True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "guess 8")
    assert main(["play", "TestFixedGuess-v0", "--task-index", "3"]) == 0  # 3 % 2 -> fixed/1
    out = capsys.readouterr().out
    assert "Guess a number in [7, 9]." in out and "success True" in out and "ground truth: guess(8)" in out
