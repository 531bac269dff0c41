"""A person at a terminal as the policy: :class:`HumanPolicy` (``agentgym play``).

Shows what the model would see (the system instructions and tools once per
episode, then each new observation) and reads the action from the keyboard.
Any text is passed to the env as is — ``guess(42)`` or a full
``<tool_call>{...}</tool_call>`` — plus a shorthand (:func:`expand_shorthand`):
``TOOL ARGUMENT`` calls a tool with one required argument, the whole rest of
the line being the argument (``guess 42``, ``ask which mug?``,
``pick yellow plate (1)``); ``TOOL A, B`` fills several arguments in their
order, comma-separated (``place yellow plate (1), dining table``); a bare
``TOOL`` calls one without arguments. A shorthand that does not fit the tool
(missing arguments) is not sent: the tool's usage is shown and the line asked
again. ``:tools`` lists the tools again; ``:quit`` (or end of input) ends the
episode — it is returned as a failed episode with ``error`` ending in
:data:`QUIT`, so ``agentgym play`` still summarises and saves it — and Ctrl-C
interrupts everything.

This is the one place in the library that writes to a terminal on purpose:
the terminal *is* the policy here.

>>> import io
>>> p = HumanPolicy(input_fn=lambda prompt: "guess 7", output=io.StringIO())
>>> tools = [{"type": "function", "function": {"name": "guess", "description": "Guess.",
...     "parameters": {"type": "object", "properties": {"number": {"type": "integer"}}, "required": ["number"]}}}]
>>> p.act([[{"role": "user", "content": "between 1 and 9"}]], [tools])[0].text
'<tool_call>{"name": "guess", "arguments": {"number": "7"}}</tool_call>'
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from agentgym.policy import Completion, Message
from agentgym.tools import ToolCall

__all__ = ["HumanPolicy", "from_spec", "expand_shorthand", "shorthand_usage", "QUIT"]

QUIT = "the player quit"
"""The error of a :class:`~agentgym.policy.Completion` that ends an episode on
``:quit`` or end of input."""


class HumanPolicy:
    """Reads each action from ``input_fn`` (``input`` by default).

    Args:
        input_fn: Called with the prompt string; returns the typed line
            (default: the built-in ``input``, looked up at call time).
        output: Where the conversation is shown (default ``sys.stdout``).
        show_system: Print the system message at the start of an episode.
    """

    quit_error = QUIT  # the error of an episode the player quit (``agentgym play`` reads it here)

    def __init__(
        self,
        input_fn: Callable[[str], str] | None = None,
        output: TextIO | None = None,
        *,
        show_system: bool = True,
    ) -> None:
        self.input_fn = input_fn
        self.output = output
        self.show_system = show_system

    def _write(self, text: str) -> None:
        out = self.output or sys.stdout
        out.write(text + "\n")
        out.flush()

    def act(self, conversations: Sequence[Sequence[Message]], tools: Sequence[Sequence[dict[str, Any]]]) -> list[Completion]:
        out = []
        for i, (conv, schemas) in enumerate(zip(conversations, tools, strict=True)):
            if len(conversations) > 1:
                self._write(f"\n=== episode {i + 1} of {len(conversations)} ===")
            if not any(m["role"] == "assistant" for m in conv):  # the episode starts
                self._show_start(conv, schemas)
                shown = [m for m in conv if m["role"] != "system"]
            else:
                shown = list(conv[-1:])  # the observation of the last action
            for m in shown:
                self._write(f"\n{m['content']}")
            out.append(self._read(schemas))
        return out

    def _show_start(self, conv: Sequence[Message], schemas: Sequence[dict[str, Any]]) -> None:
        if self.show_system and conv and conv[0]["role"] == "system":
            self._write(f"--- instructions ---\n{conv[0]['content']}")
        self._write(self._tools_text(schemas))
        self._write("(type a tool call, e.g. `name(arg=...)`, or `TOOL ARGUMENT`, `TOOL A, B`; `:tools`, `:quit`)")

    @staticmethod
    def _tools_text(schemas: Sequence[dict[str, Any]]) -> str:
        lines = ["--- tools ---"]
        for s in schemas:
            fn = s.get("function", s)
            props = (fn.get("parameters") or {}).get("properties") or {}
            args = ", ".join(f"{k}: {v.get('type', '|'.join(map(str, v.get('enum', []))) or 'any')}" for k, v in props.items())
            lines.append(f"  {fn['name']}({args})  {fn.get('description', '')}")
        return "\n".join(lines)

    def _read(self, schemas: Sequence[dict[str, Any]]) -> Completion:
        while True:
            try:
                line = (self.input_fn or input)("> ").strip()
            except EOFError:
                line = ":quit"
            if line in (":quit", ":q", ":exit"):
                # Ends this episode (the rollout marks it failed, with this error) and
                # keeps what was played: `agentgym play` summarises and saves it.
                return Completion(text="", finish_reason="error", error=QUIT)
            if line == ":tools":
                self._write(self._tools_text(schemas))
                continue
            if not line:
                continue
            usage = shorthand_usage(line, schemas)
            if usage is not None:
                self._write(usage)
                continue
            return Completion(text=expand_shorthand(line, schemas))


def _tool(name: str, schemas: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    for s in schemas:
        fn = s.get("function", s)
        if fn.get("name") == name:
            return fn
    return None


def _split_line(line: str) -> tuple[str, str]:
    name, _, rest = line.strip().partition(" ")
    return name, rest.strip()


def _shorthand_args(fn: dict[str, Any], rest: str) -> dict[str, str] | None:
    """The arguments ``rest`` gives ``fn`` as shorthand, or None if they do not fit."""
    params = fn.get("parameters") or {}
    names = list(params.get("properties") or {})
    required = list(params.get("required") or [])
    if not rest:
        return {} if not required else None
    if len(required) == 1 or (not required and len(names) == 1):
        # One argument: all the rest, commas, brackets and all ("pick yellow plate (1)").
        return {(required or names)[0]: rest}
    parts = [p.strip() for p in rest.split(",")]
    if "" in parts or not len(required) <= len(parts) <= len(names):
        return None
    # In the declared order; the given ones must cover the required ones.
    given = dict(zip(names[: len(parts)], parts, strict=True))
    return given if set(required) <= set(given) else None


def expand_shorthand(line: str, schemas: Sequence[dict[str, Any]]) -> str:
    """Expand the play shorthand into a tool call; other text is returned unchanged.

    ``TOOL`` calls a tool without required arguments; ``TOOL ARGUMENT`` a tool
    with one, the whole rest being the argument (the env converts its type);
    ``TOOL A, B`` fills several in the declared order. Call syntax
    (``guess(42)``, ``guess (number=42)``), JSON, tags and prose pass as they are.

    >>> look = {"function": {"name": "look", "parameters": {"properties": {}}}}
    >>> expand_shorthand("look", [look])
    '<tool_call>{"name": "look", "arguments": {}}</tool_call>'
    >>> pick = {"function": {"name": "pick", "parameters": {"properties": {"object": {}}, "required": ["object"]}}}
    >>> expand_shorthand("pick yellow plate (1)", [pick])
    '<tool_call>{"name": "pick", "arguments": {"object": "yellow plate (1)"}}</tool_call>'
    >>> place = {"function": {"name": "place", "parameters": {"properties": {"object": {}, "receptacle": {}},
    ...          "required": ["object", "receptacle"]}}}
    >>> expand_shorthand("place yellow plate (1), dining table", [place])
    '<tool_call>{"name": "place", "arguments": {"object": "yellow plate (1)", "receptacle": "dining table"}}</tool_call>'
    """
    name, rest = _split_line(line)
    fn = _tool(name, schemas)
    if fn is None or (rest.startswith("(") and rest.endswith(")")):  # not a tool, or call syntax
        return line
    args = _shorthand_args(fn, rest)
    return line if args is None else ToolCall(name, args).render()


def shorthand_usage(line: str, schemas: Sequence[dict[str, Any]]) -> str | None:
    """If ``line`` starts with a tool's name but its shorthand arguments do not fit
    the tool, how to call it; else None.

    >>> place = {"function": {"name": "place", "parameters": {"properties": {"object": {}, "receptacle": {}},
    ...          "required": ["object", "receptacle"]}}}
    >>> print(shorthand_usage("place cup", [place]))
    place takes object, receptacle: type `place OBJECT, RECEPTACLE` (comma-separated, in this order) or call syntax.
    """
    name, rest = _split_line(line)
    fn = _tool(name, schemas)
    if fn is None or (rest.startswith("(") and rest.endswith(")")) or _shorthand_args(fn, rest) is not None:
        return None
    params = fn.get("parameters") or {}
    names = list(params.get("properties") or {})
    required = list(params.get("required") or [])
    if not names:
        return f"{name} takes no arguments: type `{name}`."
    optional = [n for n in names if n not in required]
    shown = ", ".join(required) + (f" (then optionally {', '.join(optional)})" if optional else "")
    if not required:
        shown = f"optionally {', '.join(optional)}"
    example = f"{name} " + ", ".join(n.upper() for n in (required or names[:1]))
    how = " (comma-separated, in this order)" if len(required) > 1 or not required else ""
    return f"{name} takes {shown}: type `{example}`{how} or call syntax."


def from_spec(rest: str, **kwargs: Any) -> HumanPolicy:
    """``human`` (the ``agentgym.policies`` entry point)."""
    return HumanPolicy(**kwargs)
