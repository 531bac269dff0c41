"""Grading of BFCL-v0: BFCL's multi-turn check, re-implemented turn by turn against a gold replay.

BFCL's ``multi_turn_checker`` replays the model's calls and the ground-truth
calls on two fresh sets of back-ends and, after every user turn whose ground
truth is not empty, requires:

1. **a call** — the model made at least one call in that turn;
2. **state** — every public attribute of every back-end instance equals the
   gold replay's (:func:`~.backend.state_mismatch`);
3. **response** — every result the gold calls of that turn produced is among
   the results of the model's calls so far, this turn and earlier ones
   (a multiset inclusion: order-free, duplicates counted).

Turns with an empty ground truth (a missing parameter or function: the right
move is not to act) are not checked, but the calls made in them still run and
count for later turns. The entry passes when every checked turn passes.

:class:`Grader` does the same live: it keeps the gold replay's back-ends and,
when the agent ends user turn ``t``, runs turn ``t``'s gold calls on them and
checks the three conditions against the agent's back-ends.

Reward (:data:`REWARD`, an :class:`agentgym.rewards.Reward` of outcome parts
scored on the episode's :class:`TurnVerdict` list at the end of the last user
turn; ``env.reward`` is it with the env's ``reward_weights``): ``state``
(weight 0.5 by default; raw 1 when every checked turn's state matched) and
``response`` (0.5; raw 1 when every checked turn had a call and its gold
results), both always reported (0.0 included). ``success`` is both, which is
BFCL's verdict; it does not depend on the weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from agentgym.envs.tools.bfcl.backend import Session, signature_of, state_mismatch
from agentgym.envs.tools.bfcl.data import func_docs, parse_call
from agentgym.errors import ConfigError
from agentgym.rewards import Part, Reward

__all__ = ["DEFAULT_WEIGHTS", "REWARD", "Grader", "TurnVerdict", "check_weights", "gold_calls", "missing_results",
           "response_ok", "state_ok"]

DEFAULT_WEIGHTS = {"state": 0.5, "response": 0.5}


@dataclass(frozen=True)
class TurnVerdict:
    """The check of one user turn (``checked`` is False when its ground truth is empty)."""

    turn: int
    checked: bool
    called: bool = True
    state_ok: bool = True
    response_ok: bool = True
    why: str = ""

    @property
    def passed(self) -> bool:
        return not self.checked or (self.called and self.state_ok and self.response_ok)


def state_ok(verdicts: Sequence[TurnVerdict]) -> bool:
    """Every checked turn left the back-ends in the gold replay's state."""
    return all(v.state_ok for v in verdicts if v.checked)


def response_ok(verdicts: Sequence[TurnVerdict]) -> bool:
    """Every checked turn had a call and produced its gold results."""
    return all(v.called and v.response_ok for v in verdicts if v.checked)


#: BFCL-v0's reward with the default weights (see the module docstring).
REWARD = Reward([
    Part("state", state_ok, weight=DEFAULT_WEIGHTS["state"], keep_zero_weight=True,
         doc="every checked turn's state equals the gold replay's"),
    Part("response", response_ok, weight=DEFAULT_WEIGHTS["response"], keep_zero_weight=True,
         doc="every checked turn had a call and its gold results"),
])


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    if set(w) != set(DEFAULT_WEIGHTS) or any(v < 0 for v in w.values()) or abs(sum(w.values()) - 1.0) > 1e-9:
        raise ConfigError(f"reward_weights must give non-negative 'state' and 'response' weights summing to 1, "
                          f"got {weights}.")
    return w


def gold_calls(entry: Mapping[str, Any]) -> list[list[tuple[str, dict[str, Any]]]]:
    """The ground truth of an entry as ``(name, keyword arguments)`` per turn (positional
    arguments bound to the method's parameter names, as Python binds them)."""
    return _gold_calls(entry["id"], tuple(entry["involved_classes"]), _freeze(entry["ground_truth"]))


@cache
def _gold_calls(entry_id: str, classes: tuple[str, ...], truth: tuple[tuple[str, ...], ...]
                ) -> list[list[tuple[str, dict[str, Any]]]]:
    owner = {doc["name"]: c for c in classes for doc in func_docs(c)}
    turns = []
    for calls in truth:
        turn = []
        for text in calls:
            name, positional, keyword = parse_call(text)
            if name not in owner:
                raise ConfigError(f"{entry_id}: ground-truth call {text!r} names no function of {list(classes)}.")
            params = signature_of(owner[name], name)
            if len(positional) > len(params):
                raise ConfigError(f"{entry_id}: too many positional arguments in {text!r}.")
            turn.append((name, {**dict(zip(params, positional, strict=False)), **keyword}))
        turns.append(turn)
    return turns


def _freeze(truth: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t) for t in truth)


def missing_results(gold: Sequence[str], model: Sequence[str]) -> list[str]:
    """The gold results not found among the model's (multiset difference, order-free).

    >>> missing_results(["a", "b", "b"], ["b", "x", "a"])
    ['b']
    """
    have = Counter(model)
    missing = []
    for item in gold:
        if have[item] > 0:
            have[item] -= 1
        else:
            missing.append(item)
    return missing


class Grader:
    """BFCL's multi-turn check for one episode, turn by turn (see the module docstring)."""

    def __init__(self, entry: Mapping[str, Any], *, long_context: bool) -> None:
        self.calls = gold_calls(entry)
        self.gold = Session(entry["involved_classes"], entry["initial_config"], long_context=long_context)
        self.verdicts: list[TurnVerdict] = []

    def end_turn(self, turn: int, model: Session, steps: int, results: Sequence[str]) -> TurnVerdict:
        """Check user turn ``turn``: ``steps`` is how many of the agent's actions in it made
        calls, ``results`` every result of the agent's calls so far (all turns)."""
        gold_results = [self.gold.call(name, kwargs) for name, kwargs in self.calls[turn]]
        if not self.calls[turn]:
            verdict = TurnVerdict(turn, checked=False)
        elif steps == 0:
            verdict = TurnVerdict(turn, True, called=False, response_ok=False,
                                  state_ok=state_mismatch(model, self.gold) is None,
                                  why=f"turn {turn}: no call (multi_turn:empty_turn_model_response)")
        else:
            differs = state_mismatch(model, self.gold)
            missing = missing_results(gold_results, results)
            why = ""
            if differs is not None:
                why = f"turn {turn}: state of {differs} differs (multi_turn:instance_state_mismatch)"
            elif missing:
                why = (f"turn {turn}: missing result {missing[0][:120]!r} "
                       "(multi_turn:execution_response_mismatch)")
            verdict = TurnVerdict(turn, True, True, differs is None, not missing, why)
        self.verdicts.append(verdict)
        return verdict
