"""The lean step's fast paths give what the general paths give (issue 18, item 2).

Each fast path is checked against the general path it short-cuts, on hand-picked
edge cases and on generated input: the parser's one-block Hermes path, binding
keyword-only calls, the single-call dispatch, the info dict, and the rollout
engine's running conversation.
"""

from __future__ import annotations

import dataclasses
import json
import string
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agentgym
from agentgym.errors import ActionError, ArgumentError
from agentgym.parsing import parse_tool_calls
from agentgym.policy import Completion
from agentgym.rollout import collect, messages_before_turn
from agentgym.tasks import Task
from agentgym.tools import ToolCall, tool, tool_specs
from agentgym.trajectory import Trajectory, Turn


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except ActionError as e:
        return type(e).__name__, str(e)


def _both_paths(text: str) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """The parse of ``text`` and of ``" " + text``: a leading blank changes nothing
    a model means but keeps the action off the one-block fast path."""
    return _outcome(parse_tool_calls, text, ["go", "look"]), _outcome(parse_tool_calls, " " + text, ["go", "look"])


EDGE_CASES = [
    '<tool_call>{"name": "go", "arguments": {"room": "kitchen"}}</tool_call>',
    '<tool_call>{"name": " go ", "arguments": {}}</tool_call>',
    '<tool_call>{"name": "   ", "arguments": {}}</tool_call>',
    '<tool_call>{"name": "go"}</tool_call>',
    '<tool_call>{"name": "go", "arguments": null}</tool_call>',
    '<tool_call>{"name": "go", "arguments": "{\\"room\\": \\"hall\\"}"}</tool_call>',
    '<tool_call>{"name": "go", "arguments": "not json"}</tool_call>',
    '<tool_call>{"name": "go", "arguments": [1, 2]}</tool_call>',
    '<tool_call>{"name": "go", "parameters": {"room": "hall"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {}, "parameters": {"room": "hall"}}</tool_call>',
    '<tool_call>{"function": {"name": "go", "arguments": {"room": "hall"}}}</tool_call>',
    '<tool_call>{"name": 3, "arguments": {}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {}} trailing}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "a<b"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "</tool_call><tool_call>"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "```"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "a < b and c <= d"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "<think>x</think>"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "<THINK>x"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "x</think>"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "x</thin\u212a>"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "x</thinK>"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "<tool_call>"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "</TOOL_CALL>"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "</tool_call"}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "<tool"}}</tool_call>',
    '<tool_call><think>{"name": "go", "arguments": {}}</tool_call>',
    '<tool_call>{"name": "go", "arguments": {}}</think></tool_call>',
    '<tool_call>{"name": "go", "arguments": {"room": "\\u00e9\\ud800"}}</tool_call>',
    '<tool_call>{"name": "go" "arguments": {}}</tool_call>',
    "<tool_call>{}</tool_call>",
    "<tool_call>{ }</tool_call>",
    "<tool_call>{</tool_call>",
    "<tool_call>}</tool_call>",
    "<tool_call> </tool_call>",
    "<tool_call></tool_call>",
    '<tool_call>[{"name": "go", "arguments": {}}, {"name": "look", "arguments": {}}]</tool_call>',
    "<tool_call>go(room='hall')</tool_call>",
    "<tool_call>{'name': 'go'}</tool_call>",
    '<tool_call>{"name": "go", "arguments": {"a": ' + "[" * 5000 + "]" * 5000 + "}}</tool_call>",
    '<TOOL_CALL>{"name": "go", "arguments": {}}</TOOL_CALL>',
    '<tool_call>{"name": "go", "arguments": {}}</tool_call><tool_call>{"name": "look", "arguments": {}}</tool_call>',
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_one_block_fast_path_parses_as_the_general_path(text: str) -> None:
    fast, general = _both_paths(text)
    assert fast == general


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.text(max_size=8), st.sampled_from(["go", " go", "look "]), _json),
    st.one_of(st.dictionaries(st.sampled_from(["room", "x", ""]), _json, max_size=3), _json),
    st.sampled_from(["arguments", "parameters", "args"]),
    st.booleans(),
)
def test_fast_path_matches_general_path_on_generated_calls(name: Any, args: Any, key: str, compact: bool) -> None:
    body = json.dumps({"name": name, key: args}, separators=(",", ":") if compact else None)
    fast, general = _both_paths(f"<tool_call>{body}</tool_call>")
    assert fast == general


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "é\u212a\u017f{}[]\"'<>", max_size=60))
def test_fast_path_matches_general_path_on_generated_text(inner: str) -> None:
    for text in (f"<tool_call>{inner}</tool_call>", f"<tool_call>{{{inner}}}</tool_call>"):
        fast, general = _both_paths(text)
        assert fast == general


_FRAGMENTS = ["<think>", "</think>", "<THINK>", "</thin\u212a>", "<tool_call>", "</tool_call>", "</TOOL_CALL>",
              "<tool", "<", ">", "/", '{"name": "go", "arguments": {}}', '"room": "a<b"', '"', "{", "}", ",", " ",
              "\n", "x", "go(room='a')", "```"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map("".join))
def test_fast_path_matches_general_path_around_tags(inner: str) -> None:
    for text in (f"<tool_call>{inner}</tool_call>", f"<tool_call>{{{inner}}}</tool_call>",
                 '<tool_call>{"name": "go", "arguments": {"room": ' + json.dumps(inner) + "}}</tool_call>"):
        fast, general = _both_paths(text)
        assert fast == general


# ----------------------------------------------------------------------
# Binding
# ----------------------------------------------------------------------
class _Tools:
    @tool
    def look(self) -> str:
        """Look around."""
        return ""

    @tool
    def go(self, room: str, steps: int = 1, fast: bool = False) -> str:
        """Walk.

        Args:
            room: Where.
            steps: How far.
            fast: Run.
        """
        return ""

    @tool
    def pick(self, what: Literal["a", "b"], n: float | None = None, tags: list[str] | None = None) -> str:
        """Pick one.

        Args:
            what: Which.
            n: How many.
            tags: Labels.
        """
        return ""


SPECS = tool_specs(_Tools)


def _bind(fn: Any, call: ToolCall) -> tuple[str, Any]:
    try:
        return "ok", fn(call)
    except ArgumentError as e:
        return "error", str(e)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(SPECS)),
    st.dictionaries(st.sampled_from(["room", "steps", "fast", "what", "n", "tags", "other"]), _json, max_size=4),
    st.lists(_json, max_size=2).map(tuple),
)
def test_bind_fast_path_matches_the_general_path(name: str, arguments: dict[str, Any], positional: tuple[Any, ...]) -> None:
    spec = SPECS[name]
    for call in (ToolCall(name, arguments), ToolCall(name, arguments, positional), ToolCall(name, {})):
        assert _bind(spec.bind, call) == _bind(spec._bind_general, call)


def test_bind_of_a_tool_without_parameters() -> None:
    spec = SPECS["look"]
    assert spec.bind(ToolCall("look")) == {}
    assert spec.bind(ToolCall("look")) is not spec.bind(ToolCall("look"))  # a fresh dict each time
    with pytest.raises(ArgumentError, match="unexpected argument"):
        spec.bind(ToolCall("look", {"x": 1}))
    with pytest.raises(ArgumentError, match="must be an object"):
        spec.bind(ToolCall("look", []))  # type: ignore[arg-type]


def test_tool_call_is_still_a_frozen_value() -> None:
    a, b = ToolCall("go"), ToolCall("go")
    assert a == b and hash(a) == hash(b) and a.arguments == {} and a.arguments is not b.arguments
    assert ToolCall("go", {"room": "x"}) == ToolCall(name="go", arguments={"room": "x"}, positional=())
    assert hash(ToolCall("go", {"room": "x"})) == hash(ToolCall("go", {"room": "y"}))  # arguments not hashed
    assert repr(ToolCall("go", {}, (1,))) == "ToolCall(name='go', arguments={}, positional=(1,))"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "x"  # type: ignore[misc]
    assert dataclasses.replace(a, name="look") == ToolCall("look")
    assert dataclasses.asdict(ToolCall("go", {"r": 1})) == {"name": "go", "arguments": {"r": 1}, "positional": ()}
    assert ToolCall("go", None).arguments is None  # type: ignore[arg-type]  # kept as given, as before


# ----------------------------------------------------------------------
# The env's step: dispatch and info
# ----------------------------------------------------------------------
def test_step_info_keys_and_values() -> None:
    env = agentgym.make("GuessNumber-v0", split="val").unwrapped
    env.reset(seed=0, options={"task_index": 0})
    low = env.task.meta["low"]
    assert low != env.task.meta["secret"]
    _, reward, _, _, info = env.step(ToolCall("guess", {"number": low}).render())
    assert list(info) == ["task_id", "tool_calls", "anchor", "action_valid", "reward_parts", "turn"]
    assert info["tool_calls"] == ["guess"] and info["action_valid"] is True and info["turn"] == 1
    assert reward == sum(info["reward_parts"].values())
    _, reward, _, _, info = env.step("no call here")
    assert list(info) == ["task_id", "error", "anchor", "action_valid", "reward_parts", "turn"]
    assert info["action_valid"] is False and reward == -env.invalid_action_penalty
    secret = env.task.answer
    _, _, terminated, _, info = env.step(secret)
    assert terminated and list(info)[-2:] == ["metrics", "answer"] and info["metrics"]["success"] == 1.0


# ----------------------------------------------------------------------
# The engine's running conversation
# ----------------------------------------------------------------------
class _Echo(agentgym.AgentEnv):
    family = "echo"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(tasks=[Task("echo/0", "Say things.", "")], **kwargs)

    def on_reset(self, task: Task) -> str:
        return task.prompt

    @tool
    def say(self, text: str) -> str:
        """Say something.

        Args:
            text: What.
        """
        return f"heard {text} at turn {self.turn}"


class _Recorder:
    """Answers a different call each turn and records every conversation it was given."""

    def __init__(self) -> None:
        self.seen: list[list[dict[str, Any]]] = []

    def act(self, conversations: Any, tools: Any) -> list[Completion]:
        out = []
        for conv in conversations:
            self.seen.append([dict(m) for m in conv])
            n = sum(m["role"] == "assistant" for m in conv)
            out.append(Completion(text=ToolCall("say", {"text": f"t{n}-{len(conv)}"}).render() if n % 3 else "nonsense"))
        return out


@pytest.mark.parametrize("history", ["full", 0, 1, 2, 3, 7])
@pytest.mark.parametrize("role", ["user", "tool"])
def test_conversations_are_messages_before_turn(history: Any, role: Any) -> None:
    policy = _Recorder()
    trajs = collect([_Echo(), _Echo()], policy, tasks=3, group_size=2, max_turns=6, history=history,
                    observation_role=role)
    expected = [messages_before_turn(t, i) for t in trajs for i in range(len(t.turns))]
    assert sorted(map(repr, policy.seen)) == sorted(map(repr, expected))
    assert len(policy.seen) == sum(len(t.turns) for t in trajs) == 36


def test_history_window_keeps_every_turn_there_is() -> None:
    turns = [Turn("a1", "O1", 0.0, "k"), Turn("a2", "O2", 0.0, "k")]
    traj = Trajectory("t", "g", system="S", initial_observation="O0", turns=turns)
    everything = ["S", "O0", "a1", "O1", "a2", "O2"]
    for k in (2, 3, 4, 10):  # history=3 with 2 turns kept only the last one
        assert [m["content"] for m in messages_before_turn(traj, 2, history=k)] == everything
    assert [m["content"] for m in messages_before_turn(traj, 2, history=1)] == ["S", "O0", "a2", "O2"]
