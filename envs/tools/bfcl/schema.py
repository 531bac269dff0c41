"""BFCL function docs as agentgym tool schemas, and the argument check that enforces them.

BFCL writes its docs in a dialect of JSON schema (``"dict"`` for an object,
``"float"`` for a number, enums only in the description text). :func:`tool_schema`
turns a doc into the OpenAI/Hermes function schema the agent sees — same name,
description and parameter descriptions; types in standard JSON schema.

:func:`bind` checks one parsed call against the doc and the back-end method's
signature and returns the keyword arguments the method is called with:

* positional arguments (``cd('docs')``) bind in the method's parameter order,
  as Python (and BFCL's ``eval``) would bind them;
* unknown and missing (required by the doc) arguments are errors; ``null``
  for an optional argument leaves it out (the method's default applies);
* types follow the doc: ``string``, ``integer``, ``number``, ``boolean``,
  ``array`` (with item types), ``object`` (with its known keys); the lossless
  conversions models often need are accepted (``"3"`` for an integer, ``3.0``
  for ``3``, ``"true"`` for a boolean, a number for a string);
* numbers must be finite and within ``±MAX_INT`` (integers) or ``±MAX_FLOAT``,
  ``precision`` arguments at most ``MAX_PRECISION`` digits (``MathAPI`` sets
  mpmath's global precision from them: a huge value would hang the process),
  strings at most ``MAX_STRING`` characters.

Enums that BFCL states only in prose are *not* enforced: the back-end answers
an unknown value as it would in BFCL (usually an ``{"error": ...}`` result).
Every failure is an :class:`~agentgym.errors.ArgumentError` naming the argument.

>>> doc = {"name": "cd", "description": "Change directory.", "parameters": {"type": "dict",
...        "properties": {"folder": {"type": "string", "description": "Where."}}, "required": ["folder"]}}
>>> tool_schema(doc)["function"]["parameters"]["properties"]["folder"]["type"]
'string'
>>> bind(doc, ("folder",), ToolCall("cd", positional=("docs",)))
{'folder': 'docs'}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentgym.errors import ArgumentError
from agentgym.tools import ToolCall

__all__ = ["MAX_FLOAT", "MAX_INT", "MAX_PRECISION", "MAX_STRING", "bind", "tool_schema"]

MAX_INT = 2**53
MAX_FLOAT = 1e18
MAX_PRECISION = 1000
MAX_STRING = 20_000
MAX_ITEMS = 1000
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}
_INT = re.compile(r"\s*[-+]?\d{1,16}\s*")


def _convert(schema: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kind = schema.get("type")
    mapped = _TYPES.get(kind, kind) if isinstance(kind, str) else None
    if mapped:
        out["type"] = mapped
    for key, value in schema.items():
        if key == "type":
            continue
        if key == "properties":
            out[key] = {n: _convert(p) for n, p in value.items()}
        elif key == "items":
            out[key] = _convert(value)
        else:
            out[key] = value
    return out


def tool_schema(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The function schema of a BFCL doc, as ``apply_chat_template(tools=...)`` takes it."""
    params = _convert(doc.get("parameters", {"type": "dict", "properties": {}}))
    params.setdefault("properties", {})
    params["required"] = list(doc.get("parameters", {}).get("required", []))
    return {"type": "function", "function": {"name": doc["name"], "description": doc["description"],
                                             "parameters": params}}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(value: Any, schema: Mapping[str, Any], where: str) -> Any:
    kind = schema.get("type")
    if kind == "string":
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise ArgumentError(f"argument '{where}' is {len(value)} characters long; the limit is {MAX_STRING}.")
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return str(value)
        raise ArgumentError(f"argument '{where}' must be a string, got {_short(value)}.")
    if kind == "integer":
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and _INT.fullmatch(value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ArgumentError(f"argument '{where}' must be an integer, got {_short(value)}.")
        limit = MAX_PRECISION if where.rsplit(".", 1)[-1] == "precision" else MAX_INT
        if abs(value) > limit:
            raise ArgumentError(f"argument '{where}' must be between {-limit} and {limit}, got {_short(value)}.")
        return value
    if kind in ("float", "number"):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ArgumentError(f"argument '{where}' must be a number, got {_short(value)}.") from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ArgumentError(f"argument '{where}' must be a number, got {_short(value)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ArgumentError(f"argument '{where}' must be a finite number, got {value}.")
        if abs(value) > MAX_FLOAT:
            raise ArgumentError(f"argument '{where}' must be between -{MAX_FLOAT:g} and {MAX_FLOAT:g}, "
                                f"got {_short(value)}.")
        return value
    if kind == "boolean":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ArgumentError(f"argument '{where}' must be true or false, got {_short(value)}.")
        return value
    if kind in ("array", "tuple"):
        if not isinstance(value, list | tuple):
            raise ArgumentError(f"argument '{where}' must be an array, got {_short(value)}.")
        if len(value) > MAX_ITEMS:
            raise ArgumentError(f"argument '{where}' has {len(value)} items; the limit is {MAX_ITEMS}.")
        items = schema.get("items")
        return [_check(v, items, f"{where}[{i}]") if items else v for i, v in enumerate(value)]
    if kind == "dict":
        if not isinstance(value, dict):
            raise ArgumentError(f"argument '{where}' must be an object, got {_short(value)}.")
        props = schema.get("properties")
        if props is None:
            return value
        unknown = [k for k in value if k not in props]
        if unknown:
            raise ArgumentError(f"argument '{where}' has unknown key(s) {', '.join(map(repr, unknown))}; "
                                f"known: {', '.join(props)}.")
        return {k: _check(v, props[k], f"{where}.{k}") for k, v in value.items()}
    return value  # "any" or a type BFCL does not use


def bind(doc: Mapping[str, Any], signature: Sequence[str], call: ToolCall) -> dict[str, Any]:
    """Validate ``call`` against ``doc``; ``signature`` is the method's parameter names, in order."""
    name = doc["name"]
    props: Mapping[str, Any] = doc.get("parameters", {}).get("properties", {})
    required = doc.get("parameters", {}).get("required", [])
    usage = f"{name}({', '.join(f'{p}' + ('' if p in required else '=...') for p in props)})"
    if not isinstance(call.arguments, dict):
        raise ArgumentError(f"arguments of {name} must be an object. Usage: {usage}")
    if len(call.positional) > len(signature):
        raise ArgumentError(f"{name}() takes {len(signature)} argument(s) but {len(call.positional)} were given. "
                            f"Usage: {usage}")
    given: dict[str, Any] = dict(zip(signature, call.positional, strict=False))
    for key, value in call.arguments.items():
        if key in given:
            raise ArgumentError(f"{name}() got two values for '{key}'. Usage: {usage}")
        given[key] = value
    unknown = [k for k in given if k not in props]
    if unknown:
        raise ArgumentError(f"{name}() got unexpected argument(s) {', '.join(map(repr, unknown))}. Usage: {usage}")
    missing = [p for p in required if p not in given]
    if missing:
        raise ArgumentError(f"{name}() is missing the argument(s) {', '.join(map(repr, missing))}. Usage: {usage}")
    # null for an optional argument means "not given" (the method's default applies)
    return {k: _check(v, props[k], k) for k, v in given.items() if v is not None or k in required}
