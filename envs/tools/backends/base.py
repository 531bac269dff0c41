"""What every ToolCalls back-end is made of: tools with explicit schemas, a
world (the deterministic initial state), a store, and a written policy.

A back-end is a class; each of its tools is a method decorated with
:func:`api`, which gives the tool's description, its parameters as JSON
schemas (:mod:`..schema`), which are optional, and whether it changes the
state::

    class Bank(Backend):
        domain = "bank"

        @api("Current balance of one account.", account_id=string(pattern=ACCOUNT))
        def get_balance(self, account_id):
            ...

Tools return JSON-able results and raise
:class:`~agentgym.errors.InvalidActionError` for calls the back-end refuses
(an unknown id, not enough money); they never modify a record in place (see
:class:`~..store.Store`). :meth:`Backend.violation` says whether a call breaks
the domain's written policy (the env lets it run, and the episode scores 0).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentgym.envs.tools.schema import short, validate_value
from agentgym.envs.tools.store import Store
from agentgym.errors import ArgumentError, InvalidActionError

__all__ = ["Api", "Backend", "World", "api", "cents", "money_out", "not_found"]


@dataclass(frozen=True)
class Api:
    """One back-end tool: name, description, parameter schemas, effect."""

    name: str
    description: str
    params: Mapping[str, dict[str, Any]]
    optional: frozenset[str]
    mutates: bool
    domain: str
    method: Callable[..., Any] = field(compare=False, repr=False)

    @property
    def required(self) -> list[str]:
        return [p for p in self.params if p not in self.optional]

    @property
    def schema(self) -> dict[str, Any]:
        """The function schema shown to the model (OpenAI / ``apply_chat_template`` form)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": dict(self.params),
                    "required": self.required,
                    "additionalProperties": False,
                },
            },
        }

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Normalized arguments (``None`` for an optional one means "not given")."""
        out: dict[str, Any] = {}
        for name, schema in self.params.items():
            value = arguments.get(name)
            if value is None:
                if name not in self.optional:
                    raise ArgumentError(f"{self.name}() is missing the argument '{name}'.")
                continue
            out[name] = validate_value(value, schema, name)
        unknown = [k for k in arguments if k not in self.params]
        if unknown:
            raise ArgumentError(f"{self.name}() got unexpected argument(s) {', '.join(short(k, 30) for k in unknown)}.")
        return out

    def default(self, param: str) -> Any:
        return self.params[param].get("default")


def api(description: str, *, mutates: bool = False, optional: Sequence[str] = (),
        **params: dict[str, Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a back-end method as a tool (see the module docstring)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        missing = set(optional) - set(params)
        if missing:
            raise TypeError(f"{fn.__name__}: optional names unknown parameters {missing}")
        fn.__api__ = (description, mutates, frozenset(optional), dict(params))  # type: ignore[attr-defined]
        return fn

    return wrap


@dataclass(frozen=True)
class World:
    """The initial state of one back-end, built from a seed (shared; never modified)."""

    domain: str
    seed: int
    today: str
    tables: Mapping[str, Mapping[str, dict[str, Any]]]
    profile: Mapping[str, Any]


class Backend:
    """Base class of a back-end (see the module docstring)."""

    domain: ClassVar[str] = ""
    title: ClassVar[str] = ""
    """What the assistant works for, e.g. "the customer-service assistant of Northwind Bank"."""
    policy: ClassVar[tuple[str, ...]] = ()
    """The domain's written rules, shown in the system prompt."""
    free_fields: ClassVar[Mapping[str, frozenset[str]]] = {}
    """Free-text fields (table -> names) that the state comparison ignores;
    the calls check grades them (``contains``)."""
    apis: ClassVar[dict[str, Api]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        apis: dict[str, Api] = {}
        for name, attr in vars(cls).items():
            decl = getattr(attr, "__api__", None)
            if decl is not None:
                description, mutates, optional, params = decl
                apis[name] = Api(name, description, params, optional, mutates, cls.domain, attr)
        cls.apis = apis

    def __init__(self, world: World) -> None:
        self.world = world
        self.today = dt.date.fromisoformat(world.today)
        self.store = Store(world.tables)

    @staticmethod
    def build_world(seed: int) -> World:
        """The domain's initial state for ``seed`` (deterministic)."""
        raise NotImplementedError

    def context(self) -> str:
        """One line for the system prompt: who the user is, today's date."""
        return f"Today is {self.world.today}."

    def violation(self, api: Api, args: Mapping[str, Any]) -> str | None:
        """Why this call breaks the domain policy, or None."""
        return None

    def call(self, api: Api, args: Mapping[str, Any]) -> Any:
        """Run a validated call."""
        return api.method(self, **args)

    def _need(self, table: str, key: str, what: str) -> dict[str, Any]:
        row = self.store.get(table, key)
        if row is None:
            raise not_found(what, key)
        return row


def not_found(what: str, key: str) -> InvalidActionError:
    return InvalidActionError(f"No {what} {short(key, 40)} exists.")


def cents(amount: float) -> int:
    return int(round(amount * 100))


def money_out(value_cents: int, currency: str) -> dict[str, Any]:
    return {"amount": round(value_cents / 100, 2), "currency": currency}


def fmt_money(value_cents: int, currency: str = "USD") -> str:
    """``$1,234.50`` style text for messages."""
    sign = {"USD": "$", "EUR": "€", "GBP": "£"}[currency]
    return f"{sign}{value_cents / 100:,.2f}"


# --------------------------------------------------------------------------
# Shared name pools for the worlds
# --------------------------------------------------------------------------
FIRST = ("Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Keira", "Liam",
         "Maya", "Noah", "Olivia", "Priya", "Quentin", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wei", "Yara", "Zoe")
LAST = ("Silva", "Okafor", "Lee", "Novak", "Patel", "Garcia", "Kim", "Schmidt", "Rossi", "Dubois", "Tanaka",
        "Larsen", "Cohen", "Moreau", "Haddad", "Ivanova", "Walsh", "Mendes", "Berg", "Nakamura")
CITIES = (("Portland", "97201", "US"), ("Austin", "78701", "US"), ("Toronto", "M5V 2T6", "CA"),
          ("Leeds", "LS1 4AP", "GB"), ("Berlin", "10115", "DE"), ("Lyon", "69002", "FR"), ("Denver", "80202", "US"))
STREETS = ("Maple Ave", "Oak Street", "Harbor Road", "King Street", "Linden Way", "Mill Lane", "Park Place")


def person(r: random.Random, taken: set[str]) -> tuple[str, str]:
    """A fresh (first, last) name pair."""
    while True:
        first, last = r.choice(FIRST), r.choice(LAST)
        if f"{first} {last}" not in taken:
            taken.add(f"{first} {last}")
            return first, last


def today_for(r: random.Random) -> dt.date:
    return dt.date(2026, 1, 5) + dt.timedelta(days=r.randrange(300))
