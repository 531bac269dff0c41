"""JSON schemas of the ToolCalls back-end tools, and the validator that enforces them.

The core's ``@tool`` derives a schema from a signature: primitives, ``Literal``
enums, ``list[...]`` and optionals, but a ``dict`` parameter becomes a bare
``{"type": "object"}`` and there is no way to state a format (a date, an
e-mail), a unit, a range or a length. The ToolCalls back-ends need all of
those, so each back-end tool declares its parameters as explicit JSON schemas
built with the small helpers below (:func:`string`, :func:`money`, ...), and
:func:`validate` checks a call's arguments against them.

:func:`validate` returns the arguments *normalized*: enum values in their
canonical spelling, strings stripped, money as ``{"amount": 12.5, "currency":
"USD"}`` with at most two decimals, durations converted to minutes. The
back-end runs on the normalized arguments and the grader compares normalized
arguments, so ``{"value": 1, "unit": "hours"}`` and ``{"value": 60, "unit":
"minutes"}`` are the same argument.

Every failure is an :class:`~agentgym.errors.ArgumentError` whose message names
the argument (``amount.currency``), what was expected and what was given (cut
to 60 characters), so the agent can fix the call.

>>> s = obj({"amount": number(minimum=0.01), "currency": string(enum=["USD", "EUR"])}, ["amount", "currency"])
>>> validate_value({"amount": "12.5", "currency": "usd"}, s, "price")
{'amount': 12.5, 'currency': 'USD'}
>>> validate_value({"amount": float("nan"), "currency": "USD"}, s, "price")
Traceback (most recent call last):
...
agentgym.errors.ArgumentError: argument 'price.amount' must be a finite number, got nan.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentgym.errors import ArgumentError

__all__ = [
    "CURRENCIES",
    "array",
    "boolean",
    "date",
    "duration",
    "email",
    "integer",
    "money",
    "number",
    "obj",
    "path",
    "string",
    "time",
    "validate_value",
    "short",
    "size",
]

CURRENCIES = ("USD", "EUR", "GBP")
DEFAULT_MAX_LENGTH = 200
MAX_NUMBER = 1_000_000_000

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
PATH_ROOTS = ("/home", "/shared", "/archive")


# --------------------------------------------------------------------------
# Schema builders (plain JSON-schema dicts; "x-..." keys are ours)
# --------------------------------------------------------------------------
def _with(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    if description:
        schema["description"] = description
    return schema


def string(description: str | None = None, *, enum: Sequence[str] | None = None, pattern: str | None = None,
           max_length: int = DEFAULT_MAX_LENGTH, min_length: int = 1, fmt: str | None = None,
           default: str | None = None) -> dict[str, Any]:
    """A string; ``enum`` (matched case-insensitively, returned canonical),
    ``pattern`` (a full-match regex), ``fmt`` (``date``, ``time``, ``email``, ``path``)."""
    s: dict[str, Any] = {"type": "string"}
    if enum is not None:
        s["enum"] = list(enum)
    else:
        s["minLength"], s["maxLength"] = min_length, max_length
    if pattern is not None:
        s["pattern"] = pattern
    if fmt is not None:
        s["format"] = fmt
    if default is not None:
        s["default"] = default
    return _with(s, description)


def date(description: str | None = None) -> dict[str, Any]:
    """A calendar date, ``YYYY-MM-DD``."""
    return string((description or "A date") + " (YYYY-MM-DD).", fmt="date", max_length=10)


def time(description: str | None = None) -> dict[str, Any]:
    """A time of day, 24-hour ``HH:MM``."""
    return string((description or "A time of day") + " (24-hour HH:MM).", fmt="time", max_length=5)


def email(description: str | None = None) -> dict[str, Any]:
    return string(description or "An e-mail address.", fmt="email", max_length=254)


def path(description: str | None = None) -> dict[str, Any]:
    """An absolute path under one of :data:`PATH_ROOTS`, without ``.``/``..`` segments."""
    roots = ", ".join(PATH_ROOTS)
    return string((description or "An absolute file path") + f" (under {roots}; no '..').", fmt="path", max_length=200)


def integer(description: str | None = None, *, minimum: int | None = None, maximum: int | None = None,
            enum: Sequence[int] | None = None, unit: str | None = None, default: int | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "integer"}
    if enum is not None:
        s["enum"] = list(enum)
    if minimum is not None:
        s["minimum"] = minimum
    if maximum is not None:
        s["maximum"] = maximum
    if unit is not None:
        s["x-unit"] = unit
    if default is not None:
        s["default"] = default
    return _with(s, description)


def number(description: str | None = None, *, minimum: float | None = None, maximum: float | None = None,
           decimals: int | None = None, unit: str | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "number"}
    if minimum is not None:
        s["minimum"] = minimum
    if maximum is not None:
        s["maximum"] = maximum
    if decimals is not None:
        s["multipleOf"] = 10.0 ** -decimals
    if unit is not None:
        s["x-unit"] = unit
    return _with(s, description)


def boolean(description: str | None = None, *, default: bool | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "boolean"}
    if default is not None:
        s["default"] = default
    return _with(s, description)


def array(items: dict[str, Any], description: str | None = None, *, min_items: int = 0, max_items: int = 20,
          unique: bool = False) -> dict[str, Any]:
    """An array; ``unique=True`` also makes the grader compare it as a set."""
    s: dict[str, Any] = {"type": "array", "items": items, "minItems": min_items, "maxItems": max_items}
    if unique:
        s["uniqueItems"] = True
    return _with(s, description)


def obj(properties: dict[str, dict[str, Any]], required: Sequence[str] = (), description: str | None = None,
        *, min_properties: int = 0, kind: str | None = None) -> dict[str, Any]:
    """A nested object with fixed ``properties`` (no others allowed)."""
    s: dict[str, Any] = {"type": "object", "properties": properties, "required": list(required),
                         "additionalProperties": False}
    if min_properties:
        s["minProperties"] = min_properties
    if kind is not None:
        s["x-kind"] = kind
    return _with(s, description)


def money(description: str | None = None, *, maximum: float = 1_000_000.0) -> dict[str, Any]:
    """An amount of money: ``{"amount": 12.5, "currency": "USD"}``, two decimals at most."""
    return obj(
        {
            "amount": number("Amount, in units of the currency (not cents).", minimum=0.01, maximum=maximum,
                             decimals=2),
            "currency": string("ISO 4217 currency code.", enum=CURRENCIES),
        },
        ["amount", "currency"],
        description or "An amount of money.",
        kind="money",
    )


def duration(description: str | None = None, *, max_minutes: int = 24 * 60) -> dict[str, Any]:
    """A length of time: ``{"value": 1.5, "unit": "hours"}`` (normalized to minutes)."""
    return obj(
        {"value": number("How long, in the unit.", minimum=0.25), "unit": string("The unit.", enum=["minutes", "hours"])},
        ["value", "unit"],
        description or f"A duration (at most {max_minutes // 60} hours).",
        kind="duration",
    )


SIZE_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def size(description: str | None = None) -> dict[str, Any]:
    """A data size: ``{"value": 1.5, "unit": "MiB"}`` (normalized to bytes)."""
    return obj(
        {"value": number("How much, in the unit.", minimum=0), "unit": string("The unit.", enum=tuple(SIZE_UNITS))},
        ["value", "unit"],
        description or "A data size.",
        kind="size",
    )


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (error messages never echo 1 MB)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 15] + f"...({len(text)} chars)"


def _fail(where: str, expected: str, value: Any) -> ArgumentError:
    return ArgumentError(f"argument '{where}' must be {expected}, got {short(value)}.")


def validate_value(value: Any, schema: Mapping[str, Any], where: str) -> Any:
    """Check ``value`` against ``schema``; return it normalized (see the module docstring)."""
    kind = schema.get("type")
    if "enum" in schema:
        return _enum(value, schema, where)
    if kind == "string":
        return _string(value, schema, where)
    if kind == "integer":
        return _integer(value, schema, where)
    if kind == "number":
        return _number(value, schema, where)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _fail(where, "true or false", value)
    if kind == "array":
        return _array(value, schema, where)
    if kind == "object":
        return _object(value, schema, where)
    return value


def _enum(value: Any, schema: Mapping[str, Any], where: str) -> Any:
    allowed = schema["enum"]
    for a in allowed:
        if value == a and type(value) is type(a):
            return a
        if isinstance(a, str) and isinstance(value, str) and value.strip().lower() == a.lower():
            return a
        if isinstance(a, int) and not isinstance(value, bool) and isinstance(value, (int, float, str)):
            try:
                if float(value) == a:
                    return a
            except (ValueError, OverflowError):
                pass
    raise _fail(where, "one of " + ", ".join(map(repr, allowed)), value)


def _string(value: Any, schema: Mapping[str, Any], where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "a string", value)
    text = value.strip()
    max_length = schema.get("maxLength", DEFAULT_MAX_LENGTH)
    if len(text) > max_length:
        raise ArgumentError(f"argument '{where}' is {len(text)} characters long; the limit is {max_length}.")
    if len(text) < schema.get("minLength", 0):
        raise ArgumentError(f"argument '{where}' must not be empty.")
    if "\x00" in text:
        raise ArgumentError(f"argument '{where}' must not contain NUL characters.")
    fmt = schema.get("format")
    if fmt == "date":
        if not _DATE.match(text):
            raise _fail(where, "a date written YYYY-MM-DD", value)
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            raise _fail(where, "a real calendar date (YYYY-MM-DD)", value) from None
    elif fmt == "time":
        if not _TIME.match(text):
            raise _fail(where, "a 24-hour time HH:MM (e.g. 14:30)", value)
    elif fmt == "email":
        if not _EMAIL.match(text):
            raise _fail(where, "an e-mail address like name@example.com", value)
        text = text.lower()
    elif fmt == "path":
        text = _path(text, where)
    pattern = schema.get("pattern")
    if pattern is not None and not re.fullmatch(pattern, text):
        hint = schema.get("description", "").split(" (")[0]
        raise _fail(where, f"a string matching {pattern}" + (f" ({hint})" if hint else ""), value)
    return text


def _path(text: str, where: str) -> str:
    if not text.startswith("/"):
        raise ArgumentError(f"argument '{where}' must be an absolute path (starting with '/'), got {short(text)}.")
    parts = text.rstrip("/").split("/")[1:] if text != "/" else []
    if any(p in ("..", ".") for p in parts):
        raise ArgumentError(f"argument '{where}' must not contain '.' or '..' segments, got {short(text)}.")
    if not parts or f"/{parts[0]}" not in PATH_ROOTS:
        raise ArgumentError(f"argument '{where}' must be under {', '.join(PATH_ROOTS)}, got {short(text)}.")
    for p in parts:
        if not _PATH_SEGMENT.match(p):
            raise ArgumentError(
                f"argument '{where}': path segment {short(p)} may hold only letters, digits, '_', '-' and '.'."
            )
    return "/" + "/".join(parts)


def _range(x: float, schema: Mapping[str, Any], where: str, value: Any) -> None:
    lo, hi = schema.get("minimum"), schema.get("maximum", MAX_NUMBER)
    if lo is not None and x < lo:
        raise _fail(where, f"at least {lo:g}", value)
    if x > hi:
        raise _fail(where, f"at most {hi:g}", value)


def _integer(value: Any, schema: Mapping[str, Any], where: str) -> int:
    if isinstance(value, bool):
        raise _fail(where, "an integer", value)
    if isinstance(value, int):
        out = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        out = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,12}\s*", value):
        out = int(value)
    else:
        raise _fail(where, "an integer", value)
    _range(out, schema, where, value)
    return out


def _number(value: Any, schema: Mapping[str, Any], where: str) -> float:
    if isinstance(value, bool):
        raise _fail(where, "a number", value)
    if isinstance(value, (int, float)):
        x = float(value) if abs(value) < 1e300 else math.inf
    elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,12}(\.\d{1,12})?\s*", value):
        x = float(value)
    else:
        raise _fail(where, "a number", value)
    if not math.isfinite(x):
        raise _fail(where, "a finite number", value)
    _range(x, schema, where, value)
    step = schema.get("multipleOf")
    if step is not None:
        decimals = round(-math.log10(step))
        if abs(round(x, decimals) - x) > 1e-9:
            raise ArgumentError(f"argument '{where}' has more than {decimals} decimal places: {short(value)}.")
        x = round(x, decimals)
    return x


def _array(value: Any, schema: Mapping[str, Any], where: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise _fail(where, "an array", value)
    lo, hi = schema.get("minItems", 0), schema.get("maxItems", 20)
    if len(value) > hi:
        raise ArgumentError(f"argument '{where}' has {len(value)} items; at most {hi} are allowed.")
    if len(value) < lo:
        raise ArgumentError(f"argument '{where}' needs at least {lo} item(s).")
    items = schema.get("items", {})
    out = [validate_value(v, items, f"{where}[{i}]") for i, v in enumerate(value)]
    if schema.get("uniqueItems") and len({_hashable(v) for v in out}) != len(out):
        raise ArgumentError(f"argument '{where}' lists the same item twice.")
    return out


def _object(value: Any, schema: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    props = schema.get("properties", {})
    unknown = [k for k in value if k not in props]
    if unknown:
        raise ArgumentError(
            f"argument '{where}' has unexpected field(s) {', '.join(short(k, 30) for k in unknown[:5])}; "
            f"allowed: {', '.join(props)}."
        )
    out: dict[str, Any] = {}
    for name, sub in props.items():
        if name in value and value[name] is not None:
            out[name] = validate_value(value[name], sub, f"{where}.{name}")
        elif name in schema.get("required", ()):
            raise ArgumentError(f"argument '{where}' is missing the field '{name}'.")
    if len(out) < schema.get("minProperties", 0):
        raise ArgumentError(f"argument '{where}' needs at least one of: {', '.join(props)}.")
    kind = schema.get("x-kind")
    if kind == "duration":
        minutes = out["value"] * (60 if out["unit"] == "hours" else 1)
        if minutes > 24 * 60:
            raise ArgumentError(f"argument '{where}' is longer than 24 hours.")
        out = {"value": round(minutes, 6), "unit": "minutes"}
    elif kind == "size":
        out = {"value": float(round(out["value"] * SIZE_UNITS[out["unit"]])), "unit": "bytes"}
    return out


def _hashable(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    return v
