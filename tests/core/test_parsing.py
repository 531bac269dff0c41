"""parse_tool_calls against the formats real models emit, and against garbage."""

from __future__ import annotations

import json
import string
import subprocess
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgym.errors import ActionError, NoToolCallError, ToolCallParseError
from agentgym.parsing import parse_tool_calls
from agentgym.tools import ToolCall

GO = ToolCall("go", {"room": "kitchen"})


@pytest.mark.parametrize(
    "text",
    [
        # Hermes / Qwen2.5 / SmolLM2
        '<tool_call>\n{"name": "go", "arguments": {"room": "kitchen"}}\n</tool_call>',
        # Qwen3 with reasoning
        '<think>\nThe user wants the kitchen. I should go there.\n</think>\n\n<tool_call>\n{"name": "go", "arguments": {"room": "kitchen"}}\n</tool_call>',
        # only the closing think tag (templates that open it in the prompt)
        'kitchen is where {"name": "x"} could be</think><tool_call>{"name": "go", "arguments": {"room": "kitchen"}}</tool_call>',
        # the model forgot the closing tag at the end
        'Sure.\n<tool_call>{"name": "go", "arguments": {"room": "kitchen"}}',
        # Llama 3.1 JSON with "parameters"
        '{"name": "go", "parameters": {"room": "kitchen"}}',
        # bare JSON inside prose and a code fence
        'I will move now.\n```json\n{"name": "go", "arguments": {"room": "kitchen"}}\n```\nDone.',
        # OpenAI function nesting with string arguments
        '{"type": "function", "function": {"name": "go", "arguments": "{\\"room\\": \\"kitchen\\"}"}}',
        # Mistral: [TOOL_CALLS] followed by a JSON list
        '[TOOL_CALLS] [{"name": "go", "arguments": {"room": "kitchen"}}]',
        # call syntax, keyword and surrounded by prose
        'Let me walk over: go(room="kitchen")',
        "go(room='kitchen')",
        # SmolLM2: a JSON list inside the block
        '<tool_call>[{"name": "go", "arguments": {"room": "kitchen"}}]</tool_call>',
        # Llama 3.2 pythonic list
        "[go(room='kitchen')]",
        # call syntax inside a tool_call block
        "<tool_call>go(room='kitchen')</tool_call>",
    ],
)
def test_formats_models_emit(text: str) -> None:
    assert parse_tool_calls(text, {"go", "look"}) == [GO]


def test_positional_call_syntax() -> None:
    assert parse_tool_calls('go("kitchen")') == [ToolCall("go", {}, ("kitchen",))]
    assert parse_tool_calls("look()") == [ToolCall("look", {})]


def test_several_calls_in_order() -> None:
    text = (
        '<tool_call>{"name": "open", "arguments": {"receptacle": "fridge"}}</tool_call>\n'
        '<tool_call>{"name": "look", "arguments": {}}</tool_call>'
    )
    assert [c.name for c in parse_tool_calls(text)] == ["open", "look"]
    assert [c.name for c in parse_tool_calls('open("fridge") then look()')] == ["open", "look"]


def test_known_tools_win_over_prose_lookalikes() -> None:
    text = 'The mug (the red one) is here, so print(1) is wrong; use pick(object="red mug (1)")'
    assert parse_tool_calls(text, {"pick"}) == [ToolCall("pick", {"object": "red mug (1)"})]


def test_unknown_call_syntax_is_reported_not_dropped() -> None:
    # With no known tool present, an unknown call comes back so the env can say "unknown tool".
    assert parse_tool_calls("fly(to='moon')", {"go"}) == [ToolCall("fly", {"to": "moon"})]


def test_think_block_content_is_ignored() -> None:
    text = '<think>maybe go(room="hall")?</think>go(room="kitchen")'
    assert parse_tool_calls(text, {"go"}) == [GO]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", NoToolCallError),
        ("I don't know what to do.", NoToolCallError),
        ("<think>go(room='kitchen')", NoToolCallError),  # unclosed reasoning, no action
        ('<tool_call>{"name": "go", "arguments": {"room": }</tool_call>', ToolCallParseError),
        ('<tool_call>{"arguments": {"room": "kitchen"}}</tool_call>', ToolCallParseError),
        ('<tool_call>{"name": "go", "arguments": ["kitchen"]}</tool_call>', ToolCallParseError),
        ('<tool_call>hello there</tool_call>', ToolCallParseError),
        ("<tool_call>[]</tool_call>", ToolCallParseError),
        ('<tool_call>[{"name": "go"}, 3]</tool_call>', ToolCallParseError),
        ('{"name": "go", "arguments": "{not json"}', ToolCallParseError),
        ("go(room=kitchen)", ToolCallParseError),  # a known tool, text without quotes (issue 13)
    ],
)
def test_malformed_text_gives_specific_errors(text: str, error: type[ActionError]) -> None:
    with pytest.raises(error) as e:
        parse_tool_calls(text, {"go"})
    assert "<tool_call>" in str(e.value)  # the message teaches the format


@pytest.mark.parametrize(
    ("text", "named", "example"),
    [
        ("lookup(foot, inch)", "foot, inch are not values", "lookup('foot', 'inch')"),
        ("Converting: lookup(unit=foot, to='inch')", "foot is not a value", "lookup(unit='foot', to='inch')"),
        ("<tool_call>lookup(foot)</tool_call>", "foot is not a value", "lookup('foot')"),
        ("lookup(2 * x)", "2 * x is not a value", None),
    ],
)
def test_unquoted_arguments_point_at_the_arguments(text: str, named: str, example: str | None) -> None:
    """A known tool called with bare words is a parse error that names them and
    shows the quoted call, not "No tool call found" (issue 13, item 12)."""
    with pytest.raises(ToolCallParseError) as e:
        parse_tool_calls(text, {"lookup"})
    assert f"Could not read the arguments of lookup(): {named}." in str(e.value)
    if example:
        assert f"Put text in quotes: {example}." in str(e.value)
    with pytest.raises(NoToolCallError):  # prose that only looks like a call stays "no call"
        parse_tool_calls("I think (maybe) so, perhaps(later)", {"lookup"})


def test_json_words_in_call_syntax() -> None:
    assert parse_tool_calls("mode(fast=true, limit=null, tags=[false])", {"mode"}) == [
        ToolCall("mode", {"fast": True, "limit": None, "tags": [False]})
    ]


def test_big_and_deep_inputs_are_cheap_and_safe() -> None:
    import time

    nasty = [
        "(" * 100_000,
        "{" * 100_000,
        "[" * 50_000 + "]" * 50_000,
        "go(" + "[" * 5000 + "]" * 5000 + ")",
        "a(" * 20_000,
        '<tool_call>{"name": "go", "arguments": ' + "[" * 10_000 + "</tool_call>",
        "x" * 1_000_000,
        "go(room='" + "k" * 1_000_000 + "')",
    ]
    for text in nasty:
        start = time.perf_counter()
        try:
            parse_tool_calls(text, {"go"})
        except ActionError:
            pass
        assert time.perf_counter() - start < 2.0


_ALPHABET = st.sampled_from(list(string.printable) + list("é中😀\x00\u2028") + ["<tool_call>", "</tool_call>", "<think>", "</think>", '{"name": ', '"arguments": ', "go(", ")", "{", "}", "[", "]", '"', "'", "\\"])


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_fuzz_token_soup_never_crashes(text: str) -> None:
    try:
        calls = parse_tool_calls(text, {"go", "look"})
    except ActionError:
        return
    assert calls and all(isinstance(c, ToolCall) and isinstance(c.arguments, dict) for c in calls)


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_random_unicode_never_crashes(text: str) -> None:
    try:
        parse_tool_calls(text)
    except ActionError:
        pass


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and "<" not in s), st.dictionaries(st.text(max_size=10), _json_values, max_size=4), st.text(max_size=40))
def test_fuzz_wellformed_calls_roundtrip(name: str, args: dict, prose: str) -> None:
    # Names hold no "<": a "<think>" anywhere is reasoning by design, even inside JSON.
    prose = prose.replace("<", "").replace("{", "").replace("[", "")
    text = prose + "<tool_call>" + json.dumps({"name": name, "arguments": args}) + "</tool_call>"
    assert parse_tool_calls(text) == [ToolCall(name, args)]


def _warn_once_here() -> None:
    warnings.warn("shown once per location", UserWarning, stacklevel=1)


def test_parsing_keeps_the_show_once_registry() -> None:
    # warnings.catch_warnings() around a parse empties every show-once registry of the
    # process: a warning then printed again on each parse (84 times in a 50-task eval).
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default", UserWarning)  # show once per location
        _warn_once_here()
        parse_tool_calls('go("kitchen")')  # call syntax: parsed by ast
        parse_tool_calls('<tool_call>{"name": "go", "arguments": {"room": "hall"}}</tool_call>')
        _warn_once_here()
    assert [str(w.message) for w in seen] == ["shown once per location"]


def test_model_text_that_makes_the_python_parser_warn_is_parsed_silently() -> None:
    # "invalid escape sequence" is about the model's text, not our code: nothing is printed,
    # even with every warning shown once (-W default, as `python -X dev` does). A fresh
    # interpreter, because pytest puts its own "always" filters in front of ours.
    code = "from agentgym.parsing import parse_tool_calls; print(parse_tool_calls(r'go(\"C:\\docs\")')[0].positional)"
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr(("C:\\docs",))  # invalid escapes stay as written
    assert done.stderr == ""
