"""What an evaluation's episodes depend on: recorded with them, checked on resume.

``evaluate(out=DIR)`` writes ``DIR/config.json`` before it runs anything, and a
later call with the same ``out`` continues only if everything there still holds
(else :class:`~agentgym.errors.ConfigError` names what differs, and
``overwrite=True`` / ``agentgym eval --overwrite`` starts afresh). Recorded:

* the run's own settings (suite, entries, episodes per task, seed, turn limit,
  history, chunking, remote server);
* per suite entry: the env id (its ``-vN`` is the env's version), split, kwargs,
  the task ids, a digest of the tasks' ids and prompts, a digest of their
  answers (``None`` where a remote server keeps them), and a digest of the env
  family's source files (so an edited env is caught even when its version was
  not bumped; ``None`` for remote envs);
* the policy: its spec, the keyword arguments given, and its decoding
  (:func:`sampling_settings`);
* the agentgym version.

Decoding (:func:`eval_temperature`): a policy loaded from a spec is evaluated
greedily (temperature 0) when there is one episode per task; with several
(``episodes_per_task > 1``, for pass@k) it samples at its own temperature (the
one saved with a trained checkpoint, i.e. the one it was trained at, else its
backend's default, 1.0). A ``temperature`` in the policy's keyword arguments
always wins; a policy object passed in is used as it is.

>>> eval_temperature(1, {}), eval_temperature(8, {}), eval_temperature(1, {"temperature": 0.7})
(0.0, None, None)
>>> describe_sampling({"temperature": 0.0, "top_p": 1.0})
'greedy (temperature 0)'
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "SAMPLING_KEYS",
    "sampling_settings",
    "describe_sampling",
    "eval_temperature",
    "task_record",
    "env_source_digest",
    "config_differences",
]

SAMPLING_KEYS = ("temperature", "top_p", "top_k", "max_new_tokens", "max_tokens")
"""The policy attributes that decide what it samples (those it has are recorded)."""


def sampling_settings(policy: Any) -> dict[str, float | int]:
    """The decoding settings a policy has among :data:`SAMPLING_KEYS` (``{}`` for
    scripted policies, which have none).

    >>> class P: temperature, top_p, max_new_tokens = 0.0, 1.0, 64
    >>> sampling_settings(P())
    {'temperature': 0.0, 'top_p': 1.0, 'max_new_tokens': 64}
    """
    out: dict[str, float | int] = {}
    for key in SAMPLING_KEYS:
        value = getattr(policy, key, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def describe_sampling(settings: Mapping[str, Any] | None) -> str:
    """One phrase for a report or a warning."""
    if settings is None:
        return "not recorded"
    t = settings.get("temperature")
    if t is None:
        return "no sampling settings (a scripted or external policy)"
    if t == 0:
        return "greedy (temperature 0)"
    top_p = settings.get("top_p", 1.0)
    return f"sampled at temperature {t:g}" + (f", top_p {top_p:g}" if top_p < 1 else "")


def eval_temperature(episodes_per_task: int, policy_kwargs: Mapping[str, Any]) -> float | None:
    """The temperature evaluation sets on a policy it loads from a spec: 0
    (greedy) for one episode per task; ``None`` (the policy's own) for pass@k
    with several, or when ``policy_kwargs`` name a temperature themselves."""
    if "temperature" in policy_kwargs or episodes_per_task > 1:
        return None
    return 0.0


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(blob, digest_size=10).hexdigest()


def task_record(make_env: Callable[[], Any], n_tasks: int) -> dict[str, Any]:
    """The tasks ``0..n_tasks-1`` of an entry's env, as recorded: their ids, a
    digest of ids and prompts (``tasks_digest``, comparable between local and
    remote runs) and a digest of their answers (``answers_digest``; ``None``
    where no answer is known, as on a remote server that keeps them)."""
    env = make_env()
    try:
        base = getattr(env, "unwrapped", env)
        tasks = [base.task_at(i) for i in range(n_tasks)]
    finally:
        env.close()
    answers = [t.answer for t in tasks]
    return {
        "task_ids": [t.id for t in tasks],
        "tasks_digest": _digest([[t.id, t.prompt] for t in tasks]),
        "answers_digest": _digest(answers) if any(a for a in answers) else None,
    }


def env_source_digest(env_id: str) -> str | None:
    """A digest of the Python source of the package that defines ``env_id``'s
    class (all ``.py`` files under it; just the module for a top-level module),
    or ``None`` when it cannot be found (a callable registered from ``__main__``)."""
    from agentgym.registry import env_spec

    entry_point = env_spec(env_id).entry_point
    module = (
        entry_point.split(":")[0]
        if isinstance(entry_point, str)
        else getattr(entry_point, "__module__", "")
    )
    try:
        spec = importlib.util.find_spec(module) if module and module != "__main__" else None
        parent = importlib.util.find_spec(module.rpartition(".")[0]) if "." in module else None
    except (ImportError, ValueError):
        return None
    if parent is not None and parent.submodule_search_locations:
        roots = [Path(p) for p in parent.submodule_search_locations]
        files = sorted((str(f.relative_to(r)), f) for r in roots for f in r.rglob("*.py"))
    elif spec is not None and spec.origin and spec.origin.endswith(".py"):
        files = [(Path(spec.origin).name, Path(spec.origin))]
    else:
        return None
    h = hashlib.blake2b(digest_size=10)
    for name, path in files:
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# ----------------------------------------------------------------------
# What differs between a recorded configuration and the current one
# ----------------------------------------------------------------------
_WHY = {
    "tasks_digest": "the env's tasks changed: same ids, other prompts",
    "answers_digest": "the tasks' answers changed",
    "env_source_digest": "the env's source code changed",
    "task_ids": "other tasks",
    "agentgym_version": "another agentgym version",
    "sampling": "other decoding settings",
}
_ABSENT = object()


def _short(value: Any) -> str:
    if value is _ABSENT:
        return "(not recorded)"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _labels(entries: Any) -> list[str] | None:
    if isinstance(entries, list) and all(isinstance(e, dict) and "label" in e for e in entries):
        return [e["label"] for e in entries]
    return None


def _walk_entries(old: Any, new: Any, out: list[str]) -> None:
    """Entries by label when both runs have the same ones, else by position (same
    count: the label line shows the change) or as entries dropped and added."""
    a, b = _labels(old), _labels(new)
    if a is None or b is None:
        if old != new:
            out.append(f"entries: {_short(old)} -> {_short(new)}")
    elif set(a) == set(b):
        _walk(
            {e["label"]: e for e in old},
            {e["label"]: e for e in new},
            "entries",
            out,
            by_label=True,
        )
    elif len(a) == len(b):
        _walk(
            {f"[{i}]": e for i, e in enumerate(old)},
            {f"[{i}]": e for i, e in enumerate(new)},
            "entries",
            out,
            by_label=True,
        )
    else:
        out += [f"entries: {lab} recorded, not in this evaluation" for lab in a if lab not in b]
        out += [f"entries: {lab} is new" for lab in b if lab not in a]


def _walk(old: Any, new: Any, path: str, out: list[str], by_label: bool = False) -> None:
    if path == "entries" and not by_label:
        _walk_entries(old, new, out)
        return
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(old) + [k for k in new if k not in old]
        if "task_ids" in old and "task_ids" in new and old["task_ids"] != new["task_ids"]:
            # Other ids imply other digests: name the ids alone.
            keys = [k for k in keys if k not in ("tasks_digest", "answers_digest")]
        for key in keys:
            _walk(
                old.get(key, _ABSENT),
                new.get(key, _ABSENT),
                f"{path}.{key}" if path else str(key),
                out,
            )
        return
    if old == new:
        return
    leaf = path.rsplit(".", 1)[-1]
    why = f" ({_WHY[leaf]})" if leaf in _WHY else ""
    if leaf == "task_ids" and isinstance(old, list) and isinstance(new, list):
        first = next(
            (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
            min(len(old), len(new)),
        )
        a = old[first] if first < len(old) else "(none)"
        b = new[first] if first < len(new) else "(none)"
        out.append(f"{path}: {len(old)} -> {len(new)} tasks; task {first} was {a!r}, is {b!r}{why}")
        return
    out.append(f"{path}: {_short(old)} -> {_short(new)}{why}")


def config_differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Readable lines ``path: recorded -> current (why it matters)``, one per
    setting that differs; entries are named by their labels.

    >>> for line in config_differences({"seed": 0, "entries": [{"label": "A", "tasks_digest": "x"}]},
    ...                                {"seed": 1, "entries": [{"label": "A", "tasks_digest": "y"}]}):
    ...     print(line)
    seed: 0 -> 1
    entries.A.tasks_digest: "x" -> "y" (the env's tasks changed: same ids, other prompts)
    """
    out: list[str] = []
    _walk(dict(recorded), dict(current), "", out)
    return out
