"""@tool: schemas derived from signatures and docstrings; argument validation."""

from __future__ import annotations

from typing import Literal

import pytest

from agentgym import tool
from agentgym.errors import ArgumentError, ToolDefinitionError
from agentgym.tools import ToolCall, tool_specs


class Demo:
    @tool
    def place(self, object: str, receptacle: str, count: int = 1) -> str:
        """Put a held object on a receptacle.

        Longer explanation that the model does not need.

        Args:
            object: The object's visible name, e.g. "red mug (1)".
            receptacle: Where to put it;
                a counter, shelf or table.
            count: How many.
        """
        return f"{object}->{receptacle}x{count}"

    @tool
    def mode(self, kind: Literal["fast", "slow"], ratio: float | None = None, tags: list[str] | None = None) -> str:
        """Pick a mode."""
        return kind


def test_schema_from_signature_and_docstring() -> None:
    spec = tool_specs(Demo)["place"]
    fn = spec.schema["function"]
    assert spec.schema["type"] == "function"
    assert fn["name"] == "place"
    assert fn["description"] == "Put a held object on a receptacle."
    params = fn["parameters"]
    assert params["required"] == ["object", "receptacle"]
    assert params["properties"]["count"] == {"type": "integer", "description": "How many."}
    assert params["properties"]["receptacle"]["description"] == "Where to put it; a counter, shelf or table."


def test_literal_optional_and_list_types() -> None:
    props = tool_specs(Demo)["mode"].parameters["properties"]
    assert props["kind"] == {"enum": ["fast", "slow"], "type": "string"}
    assert props["ratio"] == {"type": "number"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}


def test_schema_is_accepted_by_a_chat_template() -> None:
    """The schema goes straight into transformers' chat templates."""
    jinja2 = pytest.importorskip("jinja2")
    template = jinja2.Template("{% for t in tools %}{{ t.function.name }}:{{ t.function.parameters.required|join(',') }};{% endfor %}")
    assert template.render(tools=[s.schema for s in tool_specs(Demo).values()]) == "place:object,receptacle;mode:kind;"


def test_bind_positional_keyword_and_coercion() -> None:
    spec = tool_specs(Demo)["place"]
    assert spec.bind(ToolCall("place", {"receptacle": "sofa"}, ("mug",))) == {"object": "mug", "receptacle": "sofa"}
    assert spec.bind(ToolCall("place", {"object": "mug", "receptacle": "sofa", "count": "3"}))["count"] == 3
    assert tool_specs(Demo)["mode"].bind(ToolCall("mode", {"kind": "FAST", "ratio": 1}))["ratio"] == 1.0


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (ToolCall("place", {"object": "mug"}), "missing the argument 'receptacle'"),
        (ToolCall("place", {"object": "mug", "receptacle": "x", "colour": "red"}), "unexpected argument(s) 'colour'"),
        (ToolCall("place", {"object": "mug", "receptacle": "x", "count": "many"}), "must be integer"),
        (ToolCall("place", {}, ("a", "b", 1, 2)), "takes 3 argument(s) but 4 were given"),
        (ToolCall("place", {"object": "m"}, ("a",)), "two values for 'object'"),
        (ToolCall("place", {"object": ["m"], "receptacle": "x"}), "must be string"),
    ],
)
def test_bind_errors_say_what_is_wrong(call: ToolCall, fragment: str) -> None:
    with pytest.raises(ArgumentError) as e:
        tool_specs(Demo)["place"].bind(call)
    assert fragment in str(e.value)
    assert "Usage: place(object: string, receptacle: string, count: integer = 1)" in str(e.value)


@pytest.mark.parametrize("value", [42, 4.5, True])
def test_a_string_parameter_takes_only_text(value: object) -> None:
    """Never a number silently turned into text (issue 13, item 12): an argument
    error that asks for quotes. Digits in quotes for an int stay accepted."""
    spec = tool_specs(Demo)["place"]
    with pytest.raises(ArgumentError) as e:
        spec.bind(ToolCall("place", {"object": value, "receptacle": "sofa"}))
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    assert f"argument 'object' of place() must be string (text in quotes: \"{shown}\"" in str(e.value)
    assert spec.bind(ToolCall("place", {"object": "42", "receptacle": "sofa", "count": "2"})) == {
        "object": "42", "receptacle": "sofa", "count": 2
    }


def test_a_union_with_int_takes_numbers_for_text() -> None:
    class Either:
        @tool
        def code(self, value: str | int) -> str:
            """Enter a code."""
            return str(value)

    assert tool_specs(Either)["code"].bind(ToolCall("code", {"value": 7})) == {"value": 7}


def test_literal_rejects_other_values() -> None:
    with pytest.raises(ArgumentError, match="one of 'fast', 'slow'"):
        tool_specs(Demo)["mode"].bind(ToolCall("mode", {"kind": "medium"}))


def test_bad_tool_definitions_fail_at_class_creation() -> None:
    with pytest.raises(ToolDefinitionError, match="no docstring"):

        @tool
        def nodoc(x: int) -> None:
            pass

    with pytest.raises(ToolDefinitionError, match="needs a type annotation"):

        @tool
        def untyped(x) -> None:  # type: ignore[no-untyped-def]
            """Doc."""

    with pytest.raises(ToolDefinitionError, match="unsupported type"):

        @tool
        def weird(x: complex) -> None:
            """Doc."""


def test_render_is_parseable_back() -> None:
    from agentgym.parsing import parse_tool_calls

    call = ToolCall("place", {"object": "red mug (1)", "receptacle": "coffee table"})
    assert parse_tool_calls(call.render()) == [call]


def test_an_override_without_a_decorator_keeps_the_schema_and_wins() -> None:
    from agentgym.envs.guess_number.env import GuessNumberEnv

    class Loud(GuessNumberEnv):
        def guess(self, number: int) -> str:  # no @tool: the parent's schema, this code
            return f"LOUD {number}"

    parent = tool_specs(GuessNumberEnv)["guess"]
    child = tool_specs(Loud)["guess"]
    assert child.schema == parent.schema and child.fn is Loud.guess
    env = Loud(split="val", difficulty="easy")
    env.reset(seed=0)
    obs, *_ = env.step('guess(number=3)')
    assert obs == "LOUD 3"


def test_a_decorated_override_declares_its_own_schema_and_none_removes_a_tool() -> None:
    class Base:
        @tool
        def go(self, room: str) -> str:
            """Go to a room."""
            return f"base {room}"

        @tool
        def look(self) -> str:
            """Look around."""
            return "a room"

    class Child(Base):
        @tool
        def go(self, room: str, fast: bool = False) -> str:
            """Walk or run to a room."""
            return f"child {room} {fast}"

        look = None  # type: ignore[assignment]

    specs = tool_specs(Child)
    assert list(specs) == ["go"]
    assert specs["go"].description == "Walk or run to a room."
    assert "fast" in specs["go"].schema["function"]["parameters"]["properties"]
    assert specs["go"].fn(Child(), room="hall") == "child hall False"
