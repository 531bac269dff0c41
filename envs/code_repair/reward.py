"""Reward of CodeRepair-v0, as :class:`agentgym.rewards.Reward` s of outcome
parts scored on a :class:`Submission` when the agent submits.

Execution mode (default, :data:`EXECUTION_REWARD`):

* ``tests`` (weight 1; always reported, 0.0 included): every hidden
  FAIL_TO_PASS and PASS_TO_PASS test passes on the pristine checkout with the
  agent's source changes (SWE-bench's "resolved").
* ``fraction`` (weight 0 by default): VeRPO-style weighted pass rate, the
  FAIL_TO_PASS and PASS_TO_PASS groups half the weight each (:meth:`Grade.fraction`).
* ``localisation`` (weight 0 by default; SoRFT): mean of the Jaccard overlap of
  the edited files with the gold files and of the edited ``(file, function)``
  pairs with the gold ones (computed only when its weight is not 0).

Similarity mode (``reward_mode="similarity"``, SWE-RL; nothing is executed;
:data:`SIMILARITY_REWARD`):

* ``similarity`` (weight 1; always reported): ``difflib.SequenceMatcher`` ratio
  of the agent's patch to the gold patch; **-1** when the submitted patch does
  not parse.

A part of weight 0 is not reported (``tests`` and ``similarity`` excepted). The
env's reward is :func:`build_reward` with its ``reward_weights`` (``env.reward``);
``reward_weights`` may name the parts of both modes (a part of the other mode is
ignored), and an unknown name raises with the valid ones. ``invalid_action``
(−penalty) is the env's, not a part of these rewards. ``TrainConfig.reward_weights``
reweights the reported parts on top.

>>> check_weights({"fraction": 0.5})["fraction"]
0.5
>>> localisation({"m.py": {"f"}}, [["m.py", "f"]])
1.0
>>> build_reward(check_weights({"fraction": 0.5}), "execution")
Reward([tests(outcome, w=1), fraction(outcome, w=0.5), localisation(outcome, w=0)])
>>> SIMILARITY_REWARD.score(Submission(similarity=-1.0)).parts
{'similarity': -1.0}
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from agentgym.envs.code_repair.grading import Grade
from agentgym.errors import ConfigError
from agentgym.rewards import Part, Reward

__all__ = [
    "DEFAULT_WEIGHTS",
    "EXECUTION_REWARD",
    "REWARDS",
    "SIMILARITY_REWARD",
    "Submission",
    "build_reward",
    "changed_texts",
    "check_weights",
    "edited_functions",
    "localisation",
]


def changed_texts(
    base: Mapping[str, bytes], kept: Mapping[str, bytes | None]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """(text before, text after; ``None``: deleted) of each changed file in ``kept``."""
    before = {p: base[p].decode(errors="replace") for p in kept if p in base}
    after = {p: (c.decode(errors="replace") if c is not None else None) for p, c in kept.items()}
    return before, after


@dataclass(frozen=True)
class Submission:
    """What the outcome parts are scored on: the task's base state, the source
    changes grading kept, the gold ``(file, function)`` locations, and the
    :class:`~agentgym.envs.code_repair.grading.Grade` (execution mode) or the
    patch similarity (similarity mode)."""

    base: Mapping[str, bytes] = field(default_factory=dict)
    kept: Mapping[str, bytes | None] = field(default_factory=dict)
    gold_locations: Sequence[Sequence[str]] = ()
    grade: Grade | None = None
    similarity: float | None = None

    def localisation(self) -> float:
        """SoRFT's localisation score of the kept changes (see :func:`localisation`)."""
        before, after = changed_texts(self.base, self.kept)
        return localisation(edited_functions(before, after), self.gold_locations)


def _grade(s: Submission) -> Grade:
    if s.grade is None:
        raise ConfigError(
            "an execution-mode part was scored without a grade; use reward_mode='execution'."
        )
    return s.grade


def _similarity(s: Submission) -> float:
    if s.similarity is None:
        raise ConfigError(
            "the similarity part was scored without a similarity; use reward_mode='similarity'."
        )
    return s.similarity


#: Execution mode's reward with the default weights.
EXECUTION_REWARD = Reward([
    Part("tests", lambda s: _grade(s).resolved, weight=1.0, keep_zero_weight=True,
         doc="every hidden FAIL_TO_PASS and PASS_TO_PASS test passes"),
    Part("fraction", lambda s: _grade(s).fraction(), weight=0.0,
         doc="VeRPO-style pass rate, FAIL_TO_PASS and PASS_TO_PASS half each"),
    Part("localisation", Submission.localisation, weight=0.0,
         doc="SoRFT: Jaccard of the edited files and functions with the gold ones"),
])  # fmt: skip

#: Similarity mode's reward with the default weight.
SIMILARITY_REWARD = Reward([
    Part("similarity", _similarity, weight=1.0, keep_zero_weight=True,
         doc="SWE-RL: difflib ratio of the agent's patch to the gold patch; -1 for one that does not parse"),
])  # fmt: skip

REWARDS: dict[str, Reward] = {"execution": EXECUTION_REWARD, "similarity": SIMILARITY_REWARD}

DEFAULT_WEIGHTS: dict[str, float] = {**EXECUTION_REWARD.weights, **SIMILARITY_REWARD.weights}


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults updated with ``weights``; unknown part names raise with the valid ones."""
    out = dict(DEFAULT_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in out:
            raise ConfigError(f"unknown code-repair reward part {k!r}; choose from {sorted(out)}.")
        out[k] = float(v)
    return out


def build_reward(
    weights: Mapping[str, float], mode: Literal["execution", "similarity"] = "execution"
) -> Reward:
    """The reward of ``mode`` with the weights of its parts taken from ``weights``
    (see :func:`check_weights`)."""
    if mode not in REWARDS:
        raise ConfigError(f"reward_mode must be one of {sorted(REWARDS)}, got {mode!r}.")
    base = REWARDS[mode]
    return base.with_weights({n: weights[n] for n in base.names if n in weights})


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
