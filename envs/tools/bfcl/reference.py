"""BFCL's own checker on a trajectory, perturbed gold trajectories, and replaying a trajectory in BFCL-v0.

The agreement test (``tests/envs/test_bfcl.py``) plays trajectories through
:class:`~.env.BFCLEnv` and gives the calls that ran to BFCL's
``multi_turn_checker`` (:func:`bfcl_verdict`); the two verdicts must agree. The
trajectories are the gold one and three kinds of near miss (:func:`perturb`):

* ``wrong_argument`` — one argument of one gold call changed (a string gets a
  suffix, a number +1, a boolean flipped, a list loses its last item);
* ``missing_call`` — one gold call dropped;
* ``extra_call`` — a call appended to a turn that changes the back-ends' public
  state there (a gold call of the entry, repeated or moved, or one of a few
  fixed calls per class; the first that changes the state is taken).

A trajectory is, per user turn, a list of steps, each a list of ``(name,
keyword arguments)`` calls (a step is one action).
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from agentgym.envs.tools.bfcl.backend import Session, state_mismatch
from agentgym.envs.tools.bfcl.env import BFCLEnv
from agentgym.envs.tools.bfcl.reward import gold_calls
from agentgym.tools import ToolCall

__all__ = ["KINDS", "bfcl_verdict", "call_string", "perturb", "play", "steps_of"]

Call = tuple[str, dict[str, Any]]
Trajectory = list[list[list[Call]]]
Kind = Literal["wrong_argument", "missing_call", "extra_call"]
KINDS: tuple[Kind, ...] = ("wrong_argument", "missing_call", "extra_call")
STEP_LIMIT = 20

# Fallback extra calls (only used when none of the entry's own gold calls changes the state).
_EXTRA: dict[str, list[Call]] = {
    "GorillaFileSystem": [("touch", {"file_name": "agentgym_extra.txt"}), ("mkdir", {"dir_name": "agentgym_extra"})],
    "VehicleControlAPI": [("fillFuelTank", {"fuelAmount": 1.0}), ("setHeadlights", {"mode": "on"}),
                          ("setHeadlights", {"mode": "off"})],
    "TradingBot": [("add_to_watchlist", {"stock": "NVDA"}), ("fund_account", {"amount": 10.0})],
    "TwitterAPI": [("post_tweet", {"content": "agentgym extra"}), ("follow_user", {"username_to_follow": "agentgym"})],
    "MessageAPI": [("add_contact", {"user_name": "agentgym"})],
    "TicketAPI": [("create_ticket", {"title": "agentgym extra"})],
}
_names = itertools.count()


def call_string(name: str, kwargs: Mapping[str, Any]) -> str:
    """A call as BFCL's decoded model output writes it: ``mv(source='a', destination='b')``."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def steps_of(calls: Sequence[Call]) -> list[list[Call]]:
    """One step per call, or equal chunks when there are more calls than BFCL's step limit."""
    size = -(-len(calls) // STEP_LIMIT) if len(calls) > STEP_LIMIT else 1
    return [list(calls[i:i + size]) for i in range(0, len(calls), size)]


def bfcl_verdict(entry: Mapping[str, Any], trajectory: Trajectory) -> dict[str, Any]:
    """BFCL's ``multi_turn_checker`` on ``trajectory`` (``{"valid": bool, ...}``).

    BFCL caches back-end instances in its module's globals under the model name
    and entry id: each call gets a fresh model name, and its instances are
    removed afterwards.
    """
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    decoded = [[[call_string(n, k) for n, k in step] for step in turn] for turn in trajectory]
    model = f"agentgym_reference_{next(_names)}"
    test_entry = {k: copy.deepcopy(entry[k]) for k in ("id", "initial_config", "involved_classes")}
    category = entry["id"].rsplit("_", 1)[0]
    try:
        return multi_turn_checker(decoded, [list(t) for t in entry["ground_truth"]], test_entry, category, model)
    finally:
        space = vars(multi_turn_utils)
        for key in [k for k in space if k.startswith(model)]:
            del space[key]


def play(env: BFCLEnv, task_index: int, trajectory: Trajectory) -> tuple[bool, Trajectory, list[bool]]:
    """Play ``trajectory`` in ``env`` (each step one action, each turn closed by ``respond``).

    Returns the env's success, the calls that ran (per turn, per step), and each action's validity.
    """
    env.reset(options={"task_index": task_index})
    valid: list[bool] = []
    info: dict[str, Any] = {}
    done = False
    for turn in trajectory:
        for step in turn:
            *_, terminated, truncated, info = env.step("".join(ToolCall(n, k).render() for n, k in step))
            valid.append(bool(info["action_valid"]))
            done = terminated or truncated
            if done:
                break
        if done:
            break
        *_, terminated, truncated, info = env.step(ToolCall("respond", {"message": "Done."}).render())
        valid.append(bool(info["action_valid"]))
        if terminated or truncated:
            break
    success = bool(info.get("metrics", {}).get("success", 0.0))
    return success, [list(turn) for turn in env.trajectory], valid


def gold_trajectory(entry: Mapping[str, Any]) -> Trajectory:
    return [steps_of(turn) for turn in gold_calls(entry)]


def perturb(entry: Mapping[str, Any], kind: Kind, seed: int = 0) -> Trajectory | None:
    """The gold trajectory with one near miss of ``kind`` (None if the entry has no room for it)."""
    gold = [list(turn) for turn in gold_calls(entry)]
    rng = random.Random(f"{entry['id']}/{kind}/{seed}")
    turns = [t for t, calls in enumerate(gold) if calls]
    rng.shuffle(turns)
    for t in turns:
        calls = [(n, copy.deepcopy(k)) for n, k in gold[t]]
        if kind == "missing_call":
            del calls[rng.randrange(len(calls))]
        elif kind == "wrong_argument":
            spots = [(i, a) for i, (_, k) in enumerate(calls) for a in k if _mutated(k[a]) is not None]
            if not spots:
                continue
            i, arg = spots[rng.randrange(len(spots))]
            calls[i][1][arg] = _mutated(calls[i][1][arg])
        else:
            extra = _extra_call(entry, gold, t)
            if extra is None:
                continue
            calls.append(extra)
        out = [list(c) for c in gold]
        out[t] = calls
        return [steps_of(turn) for turn in out]
    return None


def _mutated(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "_x"
    if isinstance(value, list) and value:
        return value[:-1]
    if isinstance(value, dict) and value:
        key = next(iter(value))
        changed = _mutated(value[key])
        return None if changed is None else {**value, key: changed}
    return None


def _extra_call(entry: Mapping[str, Any], gold: list[list[Call]], turn: int) -> Call | None:
    """The first candidate call that, appended to ``turn``, changes the public state there."""
    held = {n: int(t) for t, names in entry["missed_function"].items() for n in names}
    candidates = [c for calls in [gold[turn], *gold] for c in calls]
    candidates += [c for cls in entry["involved_classes"] for c in _EXTRA.get(cls, [])]
    long_context = "long_context" in entry["id"]
    for name, kwargs in candidates:
        if held.get(name, 0) > turn:
            continue  # not visible yet in this turn
        base = _replay(entry, gold, turn, long_context)
        changed = _replay(entry, gold, turn, long_context)
        changed.call(name, copy.deepcopy(kwargs))
        if state_mismatch(changed, base) is not None:
            return name, copy.deepcopy(kwargs)
    return None


def _replay(entry: Mapping[str, Any], gold: list[list[Call]], turn: int, long_context: bool) -> Session:
    session = Session(entry["involved_classes"], entry["initial_config"], long_context=long_context)
    for calls in gold[:turn + 1]:
        for name, kwargs in calls:
            session.call(name, copy.deepcopy(kwargs))
    return session
