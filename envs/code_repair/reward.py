"""Reward parts of CodeRepair-v0.

Execution mode (default):

* ``tests`` (weight 1): every hidden FAIL_TO_PASS and PASS_TO_PASS test passes
  on the pristine checkout with the agent's source changes (SWE-bench's "resolved").
* ``fraction`` (weight 0 by default): VeRPO-style weighted pass rate, the
  FAIL_TO_PASS and PASS_TO_PASS groups half the weight each (:meth:`Grade.fraction`).
* ``localisation`` (weight 0 by default; SoRFT): mean of the Jaccard overlap of
  the edited files with the gold files and of the edited ``(file, function)``
  pairs with the gold ones.

Similarity mode (``reward_mode="similarity"``, SWE-RL; nothing is executed):

* ``similarity``: ``difflib.SequenceMatcher`` ratio of the agent's patch to the
  gold patch; **-1** when the submitted patch does not parse.

>>> check_weights({"fraction": 0.5})["fraction"]
0.5
>>> localisation({"m.py": {"f"}}, [["m.py", "f"]])
1.0
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping, Sequence

from agentgym.errors import ConfigError

__all__ = ["DEFAULT_WEIGHTS", "check_weights", "localisation", "edited_functions"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "tests": 1.0,
    "fraction": 0.0,
    "localisation": 0.0,
    "similarity": 1.0,
}


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults updated with ``weights``; unknown part names raise with the valid ones."""
    out = dict(DEFAULT_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in out:
            raise ConfigError(f"unknown code-repair reward part {k!r}; choose from {sorted(out)}.")
        out[k] = float(v)
    return out


def _function_spans(text: str) -> list[tuple[int, int, str]]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            spans.append((node.lineno, node.end_lineno or node.lineno, node.name))
    return spans


def edited_functions(
    before: Mapping[str, str], after: Mapping[str, str | None]
) -> dict[str, set[str]]:
    """Path -> names of the innermost functions (of the *before* text) whose lines
    changed (``""``: a change outside every function)."""
    out: dict[str, set[str]] = {}
    for path, new in after.items():
        old = before.get(path, "")
        spans = _function_spans(old)
        names: set[str] = set()
        sm = difflib.SequenceMatcher(
            None, old.splitlines(), (new or "").splitlines(), autojunk=False
        )
        for tag, i1, i2, _j1, _j2 in sm.get_opcodes():
            if tag == "equal":
                continue
            lines = range(i1 + 1, max(i2, i1 + 1) + 1)
            for ln in lines:
                inner = [s for s in spans if s[0] <= ln <= s[1]]
                names.add(min(inner, key=lambda s: s[1] - s[0])[2] if inner else "")
        out[path] = names
    return out


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def localisation(edited: Mapping[str, set[str]], gold: Sequence[Sequence[str]]) -> float:
    """Mean of the file-level and function-level Jaccard overlaps with the gold locations."""
    if not edited:
        return 0.0
    gold_files = {g[0] for g in gold}
    gold_funcs = {(g[0], g[1]) for g in gold}
    funcs = {(p, f) for p, names in edited.items() for f in names}
    return (_jaccard(set(edited), gold_files) + _jaccard(funcs, gold_funcs)) / 2
