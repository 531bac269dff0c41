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
tests' "state unchanged" check (dicts in key order, or in insertion order where a
dict mixes key types).
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
        self._digests: dict[str, str] = {}
        self._stale: set[str] = set(self.instances)

    def call(self, name: str, kwargs: Mapping[str, Any]) -> str:
        """Run ``name(**kwargs)`` on its instance; the result as BFCL records it."""
        if name not in self.owner:  # BFCL's eval() of an unknown name
            return f"Error during execution: name '{name}' is not defined"
        self._stale.add(self.owner[name])
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
        """A canonical hash of every instance's whole state (per instance, recomputed only
        for the instances a call went to since the last digest)."""
        for name in self._stale:
            self._digests[name] = _instance_digest(self.instances[name])
        self._stale.clear()
        return hashlib.blake2b("".join(self._digests[n] for n in sorted(self._digests)).encode(),
                               digest_size=10).hexdigest()


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


def _instance_digest(instance: Any) -> str:
    try:  # the C encoder does the walking; _Fields() is called for the back-end's own objects
        blob = json.dumps(instance, sort_keys=True, default=_Fields(), check_circular=False)
    except TypeError:  # a dict with keys of mixed types (a tweet id as int beside "0"): insertion order
        blob = json.dumps(instance, default=_Fields(), check_circular=False)
    return hashlib.blake2b(blob.encode(), digest_size=10).hexdigest()


class _Fields:
    """``json.dumps(default=...)`` for back-end objects: their attributes (timestamps left
    out), with a reference in place of an object already written (a directory's parent)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, random.Random):
            return ["rng", hash(obj.getstate())]  # ints and tuples hash the same in every process
        if isinstance(obj, set | frozenset):
            return sorted(map(_key, obj))
        if hasattr(obj, "__dict__"):
            self.seen.add(id(obj))
            out: dict[str, Any] = {"__class__": type(obj).__name__}
            for k, v in vars(obj).items():
                if k.startswith("_") and isinstance(v, dt.datetime):
                    continue  # creation times differ per run
                if id(v) in self.seen and hasattr(v, "__dict__"):
                    v = ["ref", type(v).__name__, getattr(v, "name", "")]
                out[k] = v
            return out
        return repr(obj)


def _key(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
