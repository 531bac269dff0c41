"""Building blocks of ToolCalls scenarios (a task's conversation and gold plan).

A scenario is JSON-able data (it travels in ``Task.meta``)::

    {"turns": [                      # one entry per user request
        {"request": "What's the balance of ACC-1234?",
         "steps": [                  # the gold plan of this turn, one agent action per step
             {"calls": [{"name": "get_balance", "arguments": {"account_id": "ACC-1234"}}]},
             {"respond": "The balance of ACC-1234 is $1,021.50."}],
         "facts": {},                # what the user knows but did not say (revealed by ask_user)
         "required": [["1021.50", "1021.5"]]}],   # facts the reply must contain (alternatives)
     "template": "bank.single.balance"}

A gold call may carry ``checks`` for arguments that have several right values:
``{"contains": [...]}`` (free text that must mention these words), ``{"one_of":
[...]}``, ``{"any": true}``.

Builders are functions ``(world, rng) -> scenario``; a builder raises
:class:`Skip` when the world has no entity that fits (the generator then
draws another world).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable
from typing import Any

from agentgym.envs.tools.backends.base import World

__all__ = [
    "DECLINE", "Builder", "Skip", "ask", "call", "date_forms", "group", "money_forms", "number_forms", "respond",
    "scenario", "time_forms", "turn", "words",
]

Builder = Callable[[World, random.Random], dict[str, Any]]


class Skip(Exception):
    """This world has nothing that fits the template."""


def call(tool_name: str, /, checks: dict[str, Any] | None = None, **arguments: Any) -> dict[str, Any]:
    """A gold call (``checks``: see the module docstring)."""
    out: dict[str, Any] = {"name": tool_name, "arguments": arguments}
    if checks:
        out["checks"] = checks
    return out


def group(*calls: dict[str, Any]) -> dict[str, Any]:
    """One agent action made of these calls (parallel when several)."""
    return {"calls": list(calls)}


def ask(question: str) -> dict[str, Any]:
    return {"ask": question}


def respond(message: str) -> dict[str, Any]:
    return {"respond": message}


def turn(request: str, *steps: dict[str, Any], facts: dict[str, dict[str, Any]] | None = None,
         required: Iterable[Iterable[str]] = ()) -> dict[str, Any]:
    """One user request with its gold steps; the last step must be a ``respond``."""
    steps_ = [s if "calls" in s or "ask" in s or "respond" in s else group(s) for s in steps]
    if not steps_ or "respond" not in steps_[-1]:
        raise ValueError("a turn ends with respond(...)")
    return {"request": request, "steps": steps_, "facts": facts or {},
            "required": [sorted({f.lower() for f in forms}) for forms in required]}


def fact(say: str, *keywords: str) -> dict[str, Any]:
    """Something the user knows: ``say`` when asked about any of ``keywords``."""
    return {"say": say, "keywords": [k.lower() for k in keywords]}


def scenario(template: str, *turns: dict[str, Any]) -> dict[str, Any]:
    return {"template": template, "turns": list(turns)}


# --------------------------------------------------------------------------
# Surface forms of facts in the agent's reply
# --------------------------------------------------------------------------
def money_forms(value_cents: int) -> list[str]:
    """``123450`` -> ``["1234.50", "1234.5"]`` (thousands separators are removed from
    the reply before matching; ``1234`` too when the amount is whole)."""
    units, rest = divmod(abs(value_cents), 100)
    forms = [f"{units}.{rest:02d}"]
    if rest % 10 == 0:
        forms.append(f"{units}.{rest // 10}")
    if rest == 0:
        forms.append(str(units))
    return forms


def number_forms(x: float, decimals: int = 2) -> list[str]:
    if float(x).is_integer():
        return [str(int(x))]
    text = f"{x:.{decimals}f}".rstrip("0")
    return [text, f"{x:.{decimals}f}"]


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")


def date_forms(iso: str) -> list[str]:
    d = dt.date.fromisoformat(iso)
    month = _MONTHS[d.month - 1]
    return [iso, f"{month} {d.day}", f"{d.day} {month}", f"{month[:3]} {d.day}", f"{d.day} {month[:3]}"]


def time_forms(hm: str) -> list[str]:
    h, m = (int(x) for x in hm.split(":"))
    h12 = h % 12 or 12
    ap = "am" if h < 12 else "pm"
    forms = [hm, f"{h}:{m:02d}", f"{h12}:{m:02d} {ap}", f"{h12}:{m:02d}{ap}"]
    if m == 0:
        forms += [f"{h12} {ap}", f"{h12}{ap}"]
    return forms


DECLINE = ["can't", "cannot", "can not", "unable", "not able", "sorry", "afraid", "not something i can",
           "not possible", "outside"]
"""Forms of a refusal: an off-topic request's reply must say it cannot help."""


def words(*forms: str) -> list[str]:
    return list(forms)


def identity_text(profile: Any) -> str:
    return f"I'm {profile['name']}, born {profile['dob']}, postal code {profile['postal_code']}."


def pick(r: random.Random, items: Iterable[Any], what: str = "entity") -> Any:
    """A random item, or :class:`Skip` when there is none."""
    items = list(items)
    if not items:
        raise Skip(what)
    return r.choice(items)
