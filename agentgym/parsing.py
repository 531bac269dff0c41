"""Parse the tool calls out of a model's raw text.

Accepted formats, in order of precedence (the first that is present wins):

1. ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` — Hermes/Qwen/SmolLM;
   one or several blocks; a missing closing tag at the very end is tolerated.
2. A bare JSON object ``{"name": ..., "arguments": {...}}`` (also inside a ```json
   fence; ``"parameters"`` for ``"arguments"``, OpenAI's ``{"function": {...}}``
   nesting, and arguments given as a JSON string are accepted).
3. Call syntax: ``go(room="kitchen")``, ``go("kitchen")``, ``look()``; arguments
   must be Python literals. A call of a known tool whose arguments are not
   (``lookup(foot, inch)``: text without quotes) is reported as such, with the
   quoted form, rather than as "no tool call".

Surrounding prose and ``<think>…</think>`` blocks are ignored. The parser never
raises anything but :class:`~agentgym.errors.ActionError` subclasses, whose
message is the observation the agent should see.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Collection
from typing import Any

from agentgym.errors import NoToolCallError, ToolCallParseError
from agentgym.tools import ToolCall

__all__ = ["parse_tool_calls", "strip_thinking", "FORMAT_HINT"]

FORMAT_HINT = (
    'Call a tool like this: <tool_call>{"name": "TOOL", "arguments": {"ARG": "VALUE"}}</tool_call>'
)

_THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_TOOL_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL | re.IGNORECASE)
_ANY_TOOL_TAG = re.compile(r"</?tool_call>", re.IGNORECASE)
_CALL_START = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_FENCE_OPEN = re.compile(r"^```[a-zA-Z]*\s*")
_FENCE_CLOSE = re.compile(r"\s*```$")

# One decoder for every call: building a JSONDecoder costs more than decoding a
# short action (json.loads shares one the same way; raw_decode keeps no state).
_DECODER = json.JSONDecoder()

# Call syntax is parsed with ast.parse under this pseudo file name. Model text can make
# the parser warn ("invalid escape sequence '\d'": a DeprecationWarning up to Python
# 3.11, a SyntaxWarning since): warnings attributed to this name are ignored by one
# filter installed here, once. (Not warnings.catch_warnings() around each parse: that
# is not thread-safe, and every filter change it makes empties Python's show-once
# registries, so every other warning in the process printed again on each parse.)
_SOURCE_NAME = "<agentgym tool call>"
for _category in (SyntaxWarning, DeprecationWarning):
    warnings.filterwarnings("ignore", category=_category, module=re.escape(_SOURCE_NAME))

# A cap on the work one action may cost (1 MB of text must not take seconds).
_MAX_CALL_CANDIDATES = 64
_MAX_JSON_CANDIDATES = 256


def strip_thinking(text: str) -> str:
    """Drop ``<think>…</think>`` blocks (an unclosed one runs to the end) and,
    where a model emits only the closing tag, everything before it."""
    text = _THINK_BLOCK.sub(" ", text)
    if "</think>" in text.lower():
        text = re.split(r"</think>", text, flags=re.IGNORECASE)[-1]
    return text


def parse_tool_calls(text: str, tool_names: Collection[str] | None = None) -> list[ToolCall]:
    """Return every tool call in ``text``, in order.

    ``tool_names`` (optional) lets call syntax prefer known tools over
    look-alikes in prose. Raises :class:`NoToolCallError` when nothing looks
    like a call and :class:`ToolCallParseError` when a ``<tool_call>`` block
    cannot be decoded.

    >>> parse_tool_calls('<think>hmm</think><tool_call>{"name": "go", "arguments": {"room": "hall"}}</tool_call>')
    [ToolCall(name='go', arguments={'room': 'hall'}, positional=())]
    >>> parse_tool_calls('I will open it: open("fridge")')
    [ToolCall(name='open', arguments={}, positional=('fridge',))]
    """
    if not isinstance(text, str):
        raise ToolCallParseError(f"the action must be text, got {type(text).__name__}. {FORMAT_HINT}")
    # The common action, one block and nothing else: with no think tag and no
    # tool_call tag between the two tags (matched as the general path matches
    # them; none can straddle the outer tags), the general path below would find
    # exactly this block and hand it to _parse_block (same result, same errors).
    if text.startswith("<tool_call>") and text.endswith("</tool_call>"):
        inner = text[11:-12]
        if inner.strip() and ("<" not in inner or not _has_tag(inner)):
            if inner[:1] == "{" and inner[-1:] == "}":  # no blanks, no fence: decode it here
                call = _plain_call(inner)
                if call is not None:
                    return [call]
            return _parse_block(inner)
    body = strip_thinking(text)

    blocks = _TOOL_BLOCK.findall(body)
    if blocks:
        return [call for b in blocks if b.strip() for call in _parse_block(b)] or _no_call()

    json_calls = _find_json_calls(body)
    if json_calls:
        return json_calls

    bad: list[str] = []
    calls = _find_call_syntax(body, tool_names, bad if tool_names is not None else None)
    if calls:
        return calls
    if bad:
        raise ToolCallParseError(bad[0])
    return _no_call()


def _has_tag(text: str) -> bool:
    """Whether ``text`` holds anything the general path treats as a tag."""
    return bool(_THINK_BLOCK.search(text) or "</think>" in text.lower() or _ANY_TOOL_TAG.search(text))


def _no_call() -> list[ToolCall]:
    raise NoToolCallError(f"No tool call found in your message. {FORMAT_HINT}")


def _parse_block(block: str) -> list[ToolCall]:
    # A code fence around the JSON is tolerated; backticks inside strings are kept.
    inner = block.strip()
    if "```" in inner:  # the regexes cost more than the rest of a short block
        inner = _FENCE_CLOSE.sub("", _FENCE_OPEN.sub("", inner))
    if inner.startswith(("{", "[")):
        try:
            obj, _ = _DECODER.raw_decode(inner)
        except (json.JSONDecodeError, RecursionError) as e:
            msg = e.msg if isinstance(e, json.JSONDecodeError) else "nesting too deep"
            if inner.startswith("["):  # maybe Python-style [go(room='x')] (Llama 3.2)
                calls = _find_call_syntax(inner, None)
                if calls:
                    return calls
            raise ToolCallParseError(
                f"Could not decode the JSON inside <tool_call>: {msg}. {FORMAT_HINT}"
            ) from None
        # SmolLM2 writes a JSON list of calls inside one block.
        calls = [_call_from_obj(o) for o in obj] if isinstance(obj, list) else [_call_from_obj(obj)]
        if not calls or (None in calls if len(calls) > 1 else calls[0] is None):
            raise ToolCallParseError(
                f'The JSON inside <tool_call> needs a "name" (string) and "arguments" (object). {FORMAT_HINT}'
            )
        return calls  # type: ignore[return-value]
    bad: list[str] = []
    calls = _find_call_syntax(inner, None, bad)
    if calls:
        return calls
    if bad:
        raise ToolCallParseError(bad[0])
    raise ToolCallParseError(f"Could not read the content of <tool_call> as a call. {FORMAT_HINT}")


def _plain_call(inner: str) -> ToolCall | None:
    """``{"name": "...", "arguments": {...}}`` as :func:`_parse_block` reads it,
    or None for anything else (which _parse_block then reads or reports)."""
    try:
        obj = _DECODER.raw_decode(inner)[0]
    except (json.JSONDecodeError, RecursionError):
        return None
    if type(obj) is not dict:
        return None
    name = obj.get("name")
    args = obj.get("arguments")
    if type(name) is not str or type(args) is not dict:
        return None
    name = name.strip()
    return ToolCall(name, args) if name else None


def _call_from_obj(obj: Any) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if "name" not in obj and isinstance(obj.get("function"), dict):  # OpenAI nesting
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str):
        return None
    stripped = name.strip()
    if not stripped:
        return None
    args: Any = obj["arguments"] if "arguments" in obj else obj.get("parameters", {})
    if isinstance(args, str):  # OpenAI sends arguments as a JSON string
        try:
            args = json.loads(args) if args.strip() else {}
        except (json.JSONDecodeError, RecursionError):
            raise ToolCallParseError(
                f"The arguments of {name!r} are a string that is not valid JSON. {FORMAT_HINT}"
            ) from None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ToolCallParseError(f'"arguments" of {name!r} must be a JSON object. {FORMAT_HINT}')
    return ToolCall(stripped, args)


def _find_json_calls(body: str) -> list[ToolCall]:
    decoder = _DECODER
    calls: list[ToolCall] = []
    pos = 0
    tries = 0
    while tries < _MAX_JSON_CANDIDATES:
        start = body.find("{", pos)
        if start < 0:
            break
        tries += 1
        try:
            obj, end = decoder.raw_decode(body, start)
        except (json.JSONDecodeError, RecursionError):
            pos = start + 1
            continue
        call = _call_from_obj(obj) if isinstance(obj, dict) and ("name" in obj or "function" in obj) else None
        if call is not None:
            calls.append(call)
        pos = end
    return calls


def _find_call_syntax(
    body: str, tool_names: Collection[str] | None, bad: list[str] | None = None
) -> list[ToolCall]:
    """Calls written as ``name(args)``: those of known tools, else any. With
    ``bad`` given, a call of a known tool (any name when ``tool_names`` is None)
    whose arguments are not literals adds the message that says so to it."""
    known: list[ToolCall] = []
    unknown: list[ToolCall] = []
    pos = 0
    for _ in range(_MAX_CALL_CANDIDATES):
        m = _CALL_START.search(body, pos)
        if m is None:
            break
        end = _matching_paren(body, m.end() - 1)
        if end is None:
            pos = m.end()
            continue
        call = _literal_call(body[m.start(1) : end + 1])
        if call is None:
            if bad is not None and (tool_names is None or m.group(1) in tool_names):
                message = _non_literal_arguments(body[m.start(1) : end + 1])
                if message:
                    bad.append(message)
            pos = m.end()
            continue
        (known if tool_names is None or call.name in tool_names else unknown).append(call)
        pos = end + 1
    return known or unknown


def _matching_paren(s: str, open_idx: int) -> int | None:
    depth = 0
    quote: str | None = None
    i = open_idx
    n = min(len(s), open_idx + 20_000)
    while i < n:
        c = s[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i if c == ")" else None
        i += 1
    return None


def _literal_call(src: str) -> ToolCall | None:
    try:
        node = ast.parse(src, filename=_SOURCE_NAME, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    try:
        positional = tuple(_literal(a) for a in node.args)
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                return None
            kwargs[kw.arg] = _literal(kw.value)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None
    return ToolCall(name=node.func.id, arguments=kwargs, positional=positional)


_JSON_WORDS = {"true": True, "false": False, "null": None}


def _literal(node: ast.expr) -> Any:
    """``ast.literal_eval``, with JSON's ``true``/``false``/``null`` read as values
    (models mix the two syntaxes: ``set(flag=true)``)."""
    if isinstance(node, ast.Name) and node.id in _JSON_WORDS:
        return _JSON_WORDS[node.id]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else set(items) if isinstance(node, ast.Set) else items
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("** in a dict")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    return ast.literal_eval(node)


def _non_literal_arguments(src: str) -> str | None:
    """The observation for ``name(args)`` whose arguments are not literal values,
    or None when ``src`` is not such a call."""
    try:
        node = ast.parse(src, filename=_SOURCE_NAME, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    offending: list[str] = []
    quoted_ok = True

    def shown(value: ast.expr) -> str:
        nonlocal quoted_ok
        try:
            return repr(_literal(value))
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            pass
        offending.append(ast.get_source_segment(src, value) or "?")
        if isinstance(value, ast.Name):  # a bare word: probably text without its quotes
            return repr(value.id)
        quoted_ok = False
        return "?"

    parts = [shown(a) for a in node.args]
    for kw in node.keywords:
        if kw.arg is None:
            offending.append("**" + (ast.get_source_segment(src, kw.value) or ""))
            quoted_ok = False
        else:
            parts.append(f"{kw.arg}={shown(kw.value)}")
    if not offending:
        return None
    listed = ", ".join(o if len(o) <= 40 else o[:37] + "..." for o in offending[:4])
    verb = "is not a value" if len(offending) == 1 else "are not values"
    message = f"Could not read the arguments of {node.func.id}(): {listed} {verb}."
    example = f"{node.func.id}({', '.join(parts)})"
    if quoted_ok and len(example) <= 200:
        return f"{message} Put text in quotes: {example}. {FORMAT_HINT}"
    return f"{message} Arguments must be quoted text, numbers, true/false or lists. {FORMAT_HINT}"
