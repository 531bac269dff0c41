"""Tools: typed, documented methods that become JSON schemas and validated calls.

Declare an environment's actions once, as methods::

    class MyEnv(agentgym.AgentEnv):
        @agentgym.tool
        def go(self, room: str) -> str:
            \"\"\"Walk to another room.

            Args:
                room: Name of the room, as the observation prints it.
            \"\"\"
            ...

The signature gives the parameter types (``str``, ``int``, ``float``, ``bool``,
``list[...]``, ``Literal[...]``, optionals and defaults); the docstring gives the
description and, under ``Args:``, one line per parameter. :attr:`ToolSpec.schema`
is the OpenAI/Hermes function schema that ``tokenizer.apply_chat_template(tools=...)``
and OpenAI's ``tools=`` accept; :meth:`ToolSpec.bind` validates a parsed call
against it and raises :class:`~agentgym.errors.ArgumentError` with a message the
agent can act on.

Validation is strict where a conversion could change the value, lenient where
it cannot:

* ``int`` accepts an integer, a float with no fraction (``3.0``) and digits in
  quotes (``"3"``: models quote every JSON value);
* ``float`` accepts any number and a numeric string;
* ``bool`` accepts ``true``/``false`` and the strings ``"true"``/``"false"``;
* ``str`` accepts **only text**: a number (or a boolean) for a string parameter
  is an argument error that asks for quotes, never silently converted, since
  the conversion is not the text the model meant (``007`` -> ``"7"``,
  ``2.50`` -> ``"2.5"``, ``1e3`` -> ``"1000.0"``) and an env whose own
  validator expects a string (an id, a zip code) would never see the mistake.
  A tool that takes either declares ``str | int`` and converts itself.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from agentgym.errors import ArgumentError, ToolDefinitionError

__all__ = ["ToolCall", "ToolSpec", "tool", "tool_specs"]

_TOOL_ATTR = "__agentgym_tool__"


_NO_ARGUMENTS: Any = object()


@dataclass(frozen=True, init=False)
class ToolCall:
    """One parsed tool call: ``name`` plus keyword ``arguments`` and, for call
    syntax like ``go("kitchen")``, ``positional`` arguments (bound to parameter
    names by :meth:`ToolSpec.bind`).

    >>> ToolCall("go", {"room": "kitchen"}).render()
    '<tool_call>{"name": "go", "arguments": {"room": "kitchen"}}</tool_call>'
    """

    name: str
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    positional: tuple[Any, ...] = ()

    # Every env step builds one: the generated frozen __init__ (three
    # object.__setattr__ calls) cost twice this. The fields, their defaults, the
    # repr, equality, hash and immutability are the dataclass's.
    def __init__(self, name: str, arguments: dict[str, Any] = _NO_ARGUMENTS, positional: tuple[Any, ...] = ()) -> None:  # type: ignore[assignment]
        d = self.__dict__
        d["name"] = name
        d["arguments"] = {} if arguments is _NO_ARGUMENTS else arguments
        d["positional"] = positional

    def render(self) -> str:
        """Canonical text of this call in the Hermes ``<tool_call>`` format."""
        import json

        body = json.dumps({"name": self.name, "arguments": self.arguments}, ensure_ascii=False)
        return f"<tool_call>{body}</tool_call>"


@dataclass(frozen=True)
class _Param:
    name: str
    annotation: Any
    schema: dict[str, Any]
    required: bool
    default: Any


@dataclass(frozen=True)
class ToolSpec:
    """A tool derived from a typed, documented function (see :func:`tool`)."""

    name: str
    description: str
    params: tuple[_Param, ...]
    fn: Callable[..., Any]
    # Derived from params once (bind runs on every env step).
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _any_required: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", frozenset(p.name for p in self.params))
        object.__setattr__(self, "_any_required", any(p.required for p in self.params))

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON schema of the arguments object."""
        return {
            "type": "object",
            "properties": {p.name: p.schema for p in self.params},
            "required": [p.name for p in self.params if p.required],
        }

    @property
    def schema(self) -> dict[str, Any]:
        """The function schema, as ``apply_chat_template(tools=[...])`` and OpenAI take it."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def signature(self) -> str:
        """Human-readable call signature, e.g. ``place(object: str, receptacle: str)``."""
        parts = []
        for p in self.params:
            t = p.schema.get("type", "any")
            if "enum" in p.schema:
                t = "|".join(repr(v) for v in p.schema["enum"])
            parts.append(f"{p.name}: {t}" + ("" if p.required else f" = {p.default!r}"))
        return f"{self.name}({', '.join(parts)})"

    def bind(self, call: ToolCall) -> dict[str, Any]:
        """Validate ``call`` and return keyword arguments for :attr:`fn`.

        Raises :class:`ArgumentError` naming the problem and the expected signature.
        """
        args = call.arguments
        # The common call: keywords only, every one a parameter. The general path
        # below would only copy them before the same checks, in the same order.
        if not call.positional and type(args) is dict and args.keys() <= self._names:
            if not args and not self._any_required:  # e.g. look(), submit()
                return {}
            out: dict[str, Any] = {}
            for p in self.params:
                if p.name in args:
                    out[p.name] = _coerce(args[p.name], p, self)
                elif p.required:
                    raise self._missing(p)
            return out
        return self._bind_general(call)

    def _missing(self, p: _Param) -> ArgumentError:
        return ArgumentError(f"{self.name}() is missing the argument '{p.name}'. Usage: {self.signature()}")

    def _bind_general(self, call: ToolCall) -> dict[str, Any]:
        names = [p.name for p in self.params]
        if len(call.positional) > len(names):
            raise ArgumentError(
                f"{self.name}() takes {len(names)} argument(s) but {len(call.positional)} were given. "
                f"Usage: {self.signature()}"
            )
        if not isinstance(call.arguments, dict):
            raise ArgumentError(f"arguments of {self.name} must be an object. Usage: {self.signature()}")
        given: dict[str, Any] = dict(zip(names, call.positional, strict=False))
        for key, value in call.arguments.items():
            if key in given:
                raise ArgumentError(f"{self.name}() got two values for '{key}'. Usage: {self.signature()}")
            given[key] = value
        unknown = [k for k in given if k not in names]
        if unknown:
            raise ArgumentError(
                f"{self.name}() got unexpected argument(s) {', '.join(map(repr, unknown))}. "
                f"Usage: {self.signature()}"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name not in given:
                if p.required:
                    raise self._missing(p)
                continue
            out[p.name] = _coerce(given[p.name], p, self)
        return out


# --------------------------------------------------------------------------
# Declaring tools
# --------------------------------------------------------------------------
def tool(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Mark a method (or function) as a tool; its schema derives from the signature.

    >>> class Env:
    ...     @tool
    ...     def ask(self, question: str) -> str:
    ...         '''Ask the user a question.
    ...
    ...         Args:
    ...             question: The question, in plain English.
    ...         '''
    ...         return "yes"
    >>> tool_specs(Env)["ask"].schema["function"]["parameters"]["required"]
    ['question']
    """

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        setattr(f, _TOOL_ATTR, _build_spec(f, name or f.__name__))
        return f

    return wrap(fn) if fn is not None else wrap


def tool_specs(obj: Any) -> dict[str, ToolSpec]:
    """All tools declared on a class (or instance), in definition order, by name.

    A subclass that overrides a tool method without repeating ``@tool`` keeps
    the parent's schema and dispatches to the override; one that decorates its
    override declares a new schema. Assigning a non-callable (e.g. ``None``)
    to the name removes the tool.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    by_attr: dict[str, ToolSpec] = {}
    for klass in reversed(cls.__mro__):
        for attr_name, attr in vars(klass).items():
            spec = getattr(attr, _TOOL_ATTR, None)
            if isinstance(spec, ToolSpec):
                by_attr[attr_name] = spec
            elif attr_name in by_attr:
                if callable(attr):  # a plain override: the parent's schema, the subclass's code
                    by_attr[attr_name] = dataclasses.replace(by_attr[attr_name], fn=attr)
                else:
                    del by_attr[attr_name]
    return {spec.name: spec for spec in by_attr.values()}


_DOC_ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {param: description})."""
    doc = inspect.cleandoc(doc or "")
    desc_lines: list[str] = []
    args: dict[str, str] = {}
    section = "desc"
    current: str | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if re.match(r"^(Args|Arguments|Parameters)\s*:\s*$", stripped):
            section = "args"
            continue
        if re.match(r"^(Returns?|Raises|Yields|Examples?|Notes?)\s*:\s*$", stripped) or stripped.startswith(">>>"):
            section = "other"
            continue
        if section == "desc":
            desc_lines.append(stripped)
        elif section == "args":
            m = _DOC_ARG.match(line)
            if m and line.startswith(("    ", "\t")) and not line.startswith(("        ", "\t\t")):
                current = m.group(1)
                args[current] = m.group(2).strip()
            elif current and stripped:
                args[current] += " " + stripped
    paragraphs = "\n".join(desc_lines).strip().split("\n\n")
    description = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    return description, args


def _build_spec(fn: Callable[..., Any], name: str) -> ToolSpec:
    try:
        hints = typing.get_type_hints(fn)
    except Exception as e:  # unresolved forward references
        raise ToolDefinitionError(f"tool {name!r}: cannot resolve type hints ({e}).") from e
    description, arg_docs = _parse_docstring(fn.__doc__)
    if not description:
        raise ToolDefinitionError(
            f"tool {name!r} has no docstring: the first line is the description the model sees."
        )
    params = []
    for i, (pname, p) in enumerate(inspect.signature(fn).parameters.items()):
        if i == 0 and pname in ("self", "cls"):
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ToolDefinitionError(f"tool {name!r}: *args/**kwargs cannot be described by a schema.")
        if pname not in hints:
            raise ToolDefinitionError(f"tool {name!r}: parameter {pname!r} needs a type annotation.")
        schema = _json_schema(hints[pname], f"{name}.{pname}")
        if pname in arg_docs:
            schema = {**schema, "description": arg_docs[pname]}
        required = p.default is inspect.Parameter.empty
        params.append(_Param(pname, hints[pname], schema, required, None if required else p.default))
    return ToolSpec(name=name, description=description, params=tuple(params), fn=fn)


_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _json_schema(tp: Any, where: str) -> dict[str, Any]:
    if tp in _PRIMITIVES:
        return {"type": _PRIMITIVES[tp]}
    origin = get_origin(tp)
    if origin is Literal:
        values = list(get_args(tp))
        kinds = {type(v) for v in values}
        schema: dict[str, Any] = {"enum": values}
        if len(kinds) == 1 and next(iter(kinds)) in _PRIMITIVES:
            schema["type"] = _PRIMITIVES[next(iter(kinds))]
        return schema
    if origin in (list, tuple) or tp in (list, tuple):
        args = get_args(tp)
        item = _json_schema(args[0], where) if args else {}
        return {"type": "array", "items": item} if item else {"type": "array"}
    if origin in (dict,) or tp is dict:
        return {"type": "object"}
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _json_schema(args[0], where)
        return {"anyOf": [_json_schema(a, where) for a in args]}
    if tp is Any:
        return {}
    raise ToolDefinitionError(f"tool parameter {where}: unsupported type {tp!r}.")


def _coerce(value: Any, p: _Param, spec: ToolSpec) -> Any:
    """Check ``value`` against the parameter type; accept the lossless conversions
    models commonly need (``"3"`` for an int, ``3`` for a float; see the module
    docstring: never a number for a string)."""
    ok, out = _check(value, p.annotation)
    if ok:
        return out
    if "enum" in p.schema:
        expected = "one of " + ", ".join(map(repr, p.schema["enum"]))
    else:
        expected = p.schema.get("type", "of another type")
    hint = ""
    if p.schema.get("type") == "string" and isinstance(value, (int, float)):
        # bool too: str(True) is not what a model that wrote true meant either.
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        hint = f' (text in quotes: "{shown}" if that is what you mean)'
    raise ArgumentError(
        f"argument '{p.name}' of {spec.name}() must be {expected}{hint}, got {value!r}. Usage: {spec.signature()}"
    )


def _check(value: Any, tp: Any) -> tuple[bool, Any]:
    if tp is Any:
        return True, value
    if tp is bool:
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return True, value.lower() == "true"
        return False, None
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", value):
            return True, int(value)
        return False, None
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        if isinstance(value, str):
            try:
                return True, float(value)
            except ValueError:
                return False, None
        return False, None
    if tp is str:  # text only: never a number turned into text (module docstring)
        return (True, value) if isinstance(value, str) else (False, None)
    origin = get_origin(tp)
    if origin is Literal:
        for allowed in get_args(tp):
            if value == allowed and type(value) is type(allowed):
                return True, value
            if isinstance(value, str) and isinstance(allowed, str) and value.strip().lower() == allowed.lower():
                return True, allowed
        return False, None
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return True, None
        for a in get_args(tp):
            if a is type(None):
                continue
            ok, out = _check(value, a)
            if ok:
                return True, out
        return False, None
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False, None
        args = get_args(tp)
        items = []
        for v in value:
            ok, out = _check(v, args[0]) if args else (True, v)
            if not ok:
                return False, None
            items.append(out)
        return True, items
    if origin is dict or tp is dict:
        return (True, value) if isinstance(value, dict) else (False, None)
    return (True, value) if isinstance(value, tp) else (False, None)
