"""A person at a terminal as the policy: :class:`HumanPolicy` (``agentgym play``).

Shows what the model would see (the system instructions and tools once per
episode, then each new observation) and reads the action from the keyboard.
Any text is passed to the env as is — ``guess(42)`` or a full
``<tool_call>{...}</tool_call>`` — plus a shorthand: ``TOOL ARGUMENT`` calls a
tool with one required argument (``guess 42``, ``ask which mug?``) and a bare
``TOOL`` calls one without arguments. ``:tools`` lists the tools again,
``:quit`` (or end of input) stops.

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

__all__ = ["HumanPolicy", "from_spec", "expand_shorthand"]


class HumanPolicy:
    """Reads each action from ``input_fn`` (``input`` by default).

    Args:
        input_fn: Called with the prompt string; returns the typed line
            (default: the built-in ``input``, looked up at call time).
        output: Where the conversation is shown (default ``sys.stdout``).
        show_system: Print the system message at the start of an episode.
    """

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
            out.append(Completion(text=self._read(schemas)))
        return out

    def _show_start(self, conv: Sequence[Message], schemas: Sequence[dict[str, Any]]) -> None:
        if self.show_system and conv and conv[0]["role"] == "system":
            self._write(f"--- instructions ---\n{conv[0]['content']}")
        self._write(self._tools_text(schemas))
        self._write("(type a tool call, e.g. `name(arg=...)`, or `TOOL ARGUMENT`; `:tools`, `:quit`)")

    @staticmethod
    def _tools_text(schemas: Sequence[dict[str, Any]]) -> str:
        lines = ["--- tools ---"]
        for s in schemas:
            fn = s.get("function", s)
            props = (fn.get("parameters") or {}).get("properties") or {}
            args = ", ".join(f"{k}: {v.get('type', '|'.join(map(str, v.get('enum', []))) or 'any')}" for k, v in props.items())
            lines.append(f"  {fn['name']}({args})  {fn.get('description', '')}")
        return "\n".join(lines)

    def _read(self, schemas: Sequence[dict[str, Any]]) -> str:
        while True:
            try:
                line = (self.input_fn or input)("> ").strip()
            except EOFError:
                raise KeyboardInterrupt from None
            if line in (":quit", ":q", ":exit"):
                raise KeyboardInterrupt
            if line == ":tools":
                self._write(self._tools_text(schemas))
                continue
            if line:
                return expand_shorthand(line, schemas)


def expand_shorthand(line: str, schemas: Sequence[dict[str, Any]]) -> str:
    """``"guess 42"`` -> a ``guess`` call with its one required argument ``"42"``
    (the env converts types); ``"look"`` -> ``look`` with no arguments; any
    other text (call syntax, JSON, prose) is returned unchanged.

    >>> expand_shorthand("look", [{"function": {"name": "look", "parameters": {"properties": {}}}}])
    '<tool_call>{"name": "look", "arguments": {}}</tool_call>'
    """
    if any(ch in line for ch in "({<"):
        return line
    name, _, rest = line.partition(" ")
    for s in schemas:
        fn = s.get("function", s)
        if fn.get("name") != name:
            continue
        params = fn.get("parameters") or {}
        required = list(params.get("required") or [])
        if not rest and not required:
            return ToolCall(name, {}).render()
        if rest and len(required) == 1:
            return ToolCall(name, {required[0]: rest.strip()}).render()
    return line


def from_spec(rest: str, **kwargs: Any) -> HumanPolicy:
    """``human`` (the ``agentgym.policies`` entry point)."""
    return HumanPolicy(**kwargs)
