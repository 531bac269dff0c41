"""One episode's BFCL back-ends: BFCL's own stateful classes, called as BFCL's executor calls them.

A :class:`Session` builds an instance of every class a task involves
(``GorillaFileSystem``, ``TwitterAPI``, ``TradingBot``, ...) and loads the
task's initial configuration into it exactly as BFCL does (a deep copy of
``initial_config[class]``, ``long_context`` for that category; the stateless
``MathAPI`` loads nothing). :meth:`Session.call` runs one validated call and
returns its result *as BFCL records it*: a string as is, a dict as
``json.dumps`` (``str`` if that fails), anything else as ``str``, and a raised
exception as ``"Error during execution: <message>"`` — the strings BFCL's
response check compares, so the agent sees what a model sees under BFCL.

:func:`state_mismatch` is BFCL's state check: every public attribute (no
leading underscore) of every instance equal to the gold replay's.
:meth:`Session.digest` is a canonical hash of the whole state (public and
private attributes, the random generators included; the creation timestamps
``GorillaFileSystem`` keeps on its files left out): the env's anchor and the
tests' "state unchanged" check.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import inspect
import json
import random
from collections.abc import Mapping
from functools import cache
from typing import Any

from agentgym.envs.tools.bfcl.data import backend_class, func_docs

__all__ = ["Session", "format_result", "signature_of", "state_mismatch"]


def format_result(result: Any) -> str:
    """A call's result as BFCL's executor records it."""
    if type(result) is str:
        return result
    if type(result) is dict:
        try:
            return json.dumps(result)
        except Exception:  # BFCL falls back to str() for whatever json cannot encode
            return str(result)
    return str(result)


@cache
def signature_of(class_name: str, method: str) -> tuple[str, ...]:
    """Parameter names of a back-end method, in order (positional arguments bind to them)."""
    cls, _ = backend_class(class_name)
    params = inspect.signature(getattr(cls, method)).parameters
    return tuple(p for p in params if p != "self")


class Session:
    """The back-end instances of one episode (or of its gold replay).

    Args:
        classes: The task's ``involved_classes``.
        initial_config: The task's ``initial_config`` (per class).
        long_context: Load the scenarios with BFCL's long-context extension.
    """

    def __init__(self, classes: list[str], initial_config: Mapping[str, Any], *, long_context: bool) -> None:
        self.instances: dict[str, Any] = {}
        self.owner: dict[str, str] = {}  # function name -> class name
        for name in classes:
            cls, stateless = backend_class(name)
            instance = cls()
            if not stateless:
                instance._load_scenario(copy.deepcopy(initial_config.get(name, {})), long_context=long_context)
            self.instances[name] = instance
            for doc in func_docs(name):
                self.owner[doc["name"]] = name

    def call(self, name: str, kwargs: Mapping[str, Any]) -> str:
        """Run ``name(**kwargs)`` on its instance; the result as BFCL records it."""
        if name not in self.owner:  # BFCL's eval() of an unknown name
            return f"Error during execution: name '{name}' is not defined"
        if any(isinstance(v, list | dict) for v in kwargs.values()):
            # A fresh copy, as BFCL's eval() builds fresh literals: back-ends keep the lists they
            # are given in their state and mutate them later (a tweet's mentions).
            kwargs = copy.deepcopy(kwargs)
        try:
            result = getattr(self.instances[self.owner[name]], name)(**kwargs)
        except Exception as e:  # the back-end's own errors are results, as in BFCL
            return f"Error during execution: {e}"
        return format_result(result)

    def digest(self) -> str:
        """A canonical hash of every instance's whole state."""
        blob = json.dumps({n: _canon(i, set()) for n, i in sorted(self.instances.items())}, sort_keys=True)
        return hashlib.blake2b(blob.encode(), digest_size=10).hexdigest()


def state_mismatch(model: Session, gold: Session) -> str | None:
    """BFCL's state check: ``None`` when every public attribute of every gold instance
    equals the model's, else the first differing ``Class.attribute``."""
    for class_name, gold_instance in gold.instances.items():
        model_instance = model.instances.get(class_name)
        if model_instance is None or type(model_instance) is not type(gold_instance):
            return class_name
        for attr, value in vars(gold_instance).items():
            if attr.startswith("_"):
                continue
            if getattr(model_instance, attr, _MISSING) != value:
                return f"{class_name}.{attr}"
    return None


_MISSING = object()


def _canon(obj: Any, seen: set[int]) -> Any:
    """A JSON-able canonical form of a back-end object graph (cycles cut, timestamps dropped)."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, Mapping):
        return sorted(([_key(k), _canon(v, seen)] for k, v in obj.items()), key=lambda kv: kv[0])
    if isinstance(obj, list | tuple):
        return [_canon(v, seen) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted(_key(v) for v in obj)
    if isinstance(obj, random.Random):
        return ["rng", hashlib.blake2b(repr(obj.getstate()).encode(), digest_size=8).hexdigest()]
    if hasattr(obj, "__dict__"):
        if id(obj) in seen:  # a parent link (GorillaFileSystem's directories)
            return ["ref", type(obj).__name__, getattr(obj, "name", "")]
        seen.add(id(obj))
        fields = {k: v for k, v in vars(obj).items()
                  if not (k.startswith("_") and isinstance(v, dt.datetime))}  # creation times differ per run
        out = [type(obj).__name__, _canon(fields, seen)]
        seen.discard(id(obj))
        return out
    return repr(obj)


def _key(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
