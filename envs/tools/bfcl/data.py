"""BFCL's multi-turn data, function docs and back-end classes, read from the ``bfcl-eval`` package.

Nothing of BFCL is committed here: ``scripts/setup.sh`` installs the package
with ``pip install --no-deps bfcl-eval==2026.3.23`` (its declared dependencies —
model SDKs, sentence-transformers, faiss — serve its model handlers, not the
multi-turn back-ends; of them the back-ends need only ``mpmath``, which
``MathAPI`` imports). When the package is missing every entry point here raises
:class:`BFCLUnavailableError` saying how to install it.

An *entry* is one BFCL test case merged with its possible answer:
``id``, ``question`` (one list of messages per user turn), ``initial_config``,
``involved_classes``, ``missed_function`` (miss_func only: turn index -> names
of the functions held out until that turn) and ``ground_truth`` (one list of
call strings per user turn, e.g. ``"cd(folder='document')"``).

>>> entry = load_category("multi_turn_base")[0]  # doctest: +SKIP
>>> entry["id"], len(entry["question"]) == len(entry["ground_truth"])  # doctest: +SKIP
('multi_turn_base_0', True)
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

from agentgym.errors import ConfigError, DependencyUnavailableError

__all__ = [
    "BFCL_VERSION",
    "CATEGORIES",
    "INSTALL_HINT",
    "BFCLUnavailableError",
    "available",
    "backend_class",
    "func_docs",
    "load_category",
    "parse_call",
    "require",
]

BFCL_VERSION = "2026.3.23"
INSTALL_HINT = (
    f"install it with `pip install --no-deps bfcl-eval=={BFCL_VERSION} mpmath` "
    "(or run `bash scripts/setup.sh`)"
)
# The multi-turn categories; each is graded by BFCL's multi_turn_checker.
CATEGORIES = (
    "multi_turn_base",
    "multi_turn_miss_func",
    "multi_turn_miss_param",
    "multi_turn_long_context",
)
# The user message BFCL sends when held-out functions become available (its
# DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC; checked against the package in the tests).
ADDED_FUNCTIONS_PROMPT = "I have updated some more functions you can choose from. What about now?"


class BFCLUnavailableError(DependencyUnavailableError):
    """The ``bfcl-eval`` package (BFCL's data and back-ends) is not installed."""


def available() -> bool:
    """Whether ``bfcl-eval`` is installed (without importing it)."""
    return importlib.util.find_spec("bfcl_eval") is not None


def require() -> Path:
    """The installed package's directory; raises :class:`BFCLUnavailableError` if missing."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BFCLUnavailableError(f"BFCL-v0 needs the bfcl-eval package (BFCL's data and back-ends); {INSTALL_HINT}.")
    return Path(next(iter(spec.submodule_search_locations)))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@cache
def load_category(category: str) -> tuple[dict[str, Any], ...]:
    """Every entry of a multi-turn category, with its ground truth (see the module docstring)."""
    if category not in CATEGORIES:
        raise ConfigError(f"unknown BFCL category {category!r}; choose one of {list(CATEGORIES)}.")
    data = require() / "data"
    name = f"BFCL_v4_{category}.json"
    questions = _read_jsonl(data / name)
    answers = _read_jsonl(data / "possible_answer" / name)
    if len(questions) != len(answers):
        raise ConfigError(f"bfcl-eval data mismatch: {len(questions)} questions, {len(answers)} answers in {name}.")
    entries = []
    for q, a in zip(questions, answers, strict=True):
        if q["id"] != a["id"] or len(q["question"]) != len(a["ground_truth"]):
            raise ConfigError(f"bfcl-eval data mismatch at {q['id']}: question and answer do not line up.")
        entries.append({
            "id": q["id"],
            "question": q["question"],
            "initial_config": q.get("initial_config", {}),
            "involved_classes": list(q["involved_classes"]),
            "missed_function": {str(k): list(v) for k, v in q.get("missed_function", {}).items()},
            "ground_truth": a["ground_truth"],
        })
    return tuple(entries)


@cache
def _doc_files() -> dict[str, str]:
    require()
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    return dict(MULTI_TURN_FUNC_DOC_FILE_MAPPING)


@cache
def func_docs(class_name: str) -> tuple[dict[str, Any], ...]:
    """BFCL's function docs of one back-end class (name, description, parameters)."""
    files = _doc_files()
    if class_name not in files:
        raise ConfigError(f"no BFCL function docs for {class_name!r}.")
    return tuple(_read_jsonl(require() / "data" / "multi_turn_func_doc" / files[class_name]))


@cache
def backend_class(class_name: str) -> tuple[type, bool]:
    """The back-end class and whether it is stateless (no scenario to load)."""
    require()
    from bfcl_eval.constants.executable_backend_config import (
        CLASS_FILE_PATH_MAPPING,
        STATELESS_CLASSES,
    )

    if class_name not in CLASS_FILE_PATH_MAPPING:
        raise ConfigError(f"unknown BFCL back-end class {class_name!r}.")
    try:
        module = importlib.import_module(CLASS_FILE_PATH_MAPPING[class_name])
    except ImportError as e:  # e.g. mpmath for MathAPI
        raise BFCLUnavailableError(f"BFCL back-end {class_name} does not import ({e}); {INSTALL_HINT}.") from e
    return getattr(module, class_name), class_name in STATELESS_CLASSES


def parse_call(text: str) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """A ground-truth call string as ``(name, positional, keyword)`` Python literals.

    >>> parse_call("mv(source='a.pdf', destination='temp')")
    ('mv', (), {'source': 'a.pdf', 'destination': 'temp'})
    >>> parse_call("mean([37])")
    ('mean', ([37],), {})
    """
    node = ast.parse(text.strip(), mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ConfigError(f"not a plain call: {text!r}")
    positional = tuple(ast.literal_eval(a) for a in node.args)
    keyword = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None}
    return node.func.id, positional, keyword
