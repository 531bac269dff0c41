"""Suites: named, versioned lists of (env id, split, number of tasks, kwargs).

Evaluating a suite is how agents are compared, so a suite never changes once
published: change it by registering ``name-v1``.

>>> entries = [SuiteEntry("GuessNumber-v0", "val", 20, {"difficulty": "easy"})]
>>> register_suite("guess-v0", entries, description="hello world")  # doctest: +SKIP
>>> get_suite("guess-v0").entries[0].n_tasks  # doctest: +SKIP
20
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agentgym.errors import ConfigError, RegistryError, UnknownSuiteError, did_you_mean
from agentgym.registry import _full_id, load_plugins
from agentgym.tasks import SPLITS, Split

__all__ = ["SuiteEntry", "Suite", "register_suite", "get_suite", "list_suites"]


@dataclass(frozen=True)
class SuiteEntry:
    """One line of a suite: ``n_tasks`` tasks (indices 0..n-1) of ``split`` of ``env_id``,
    each environment built with ``kwargs``."""

    env_id: str
    split: Split
    n_tasks: int
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ConfigError(f"suite entry {self.env_id}: split must be one of {list(SPLITS)}, got {self.split!r}.")
        if self.n_tasks < 1:
            raise ConfigError(f"suite entry {self.env_id}: n_tasks must be >= 1, got {self.n_tasks}.")
        object.__setattr__(self, "env_id", _full_id(self.env_id))

    @property
    def label(self) -> str:
        """A unique, readable name of this entry (env id plus distinguishing kwargs)."""
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.kwargs.items()))
        return f"{self.env_id}[{self.split}" + (f",{extra}" if extra else "") + "]"


@dataclass(frozen=True)
class Suite:
    name: str
    entries: tuple[SuiteEntry, ...]
    description: str = ""

    @property
    def summary(self) -> str:
        """One line about the suite: its description or, for one registered
        without, what its entries hold.

        >>> Suite("mine-v0", (SuiteEntry("GuessNumber-v0", "val", 3), SuiteEntry("GuessNumber-v0", "test", 2))).summary
        '(no description) 1 env, 2 entries, 5 tasks: GuessNumber-v0.'
        """
        if self.description.strip():
            return self.description
        envs = list(dict.fromkeys(e.env_id.split("/", 1)[-1] for e in self.entries))
        tasks = sum(e.n_tasks for e in self.entries)
        return (
            f"(no description) {_count(len(envs), 'env')}, {_count(len(self.entries), 'entry', 'entries')}, "
            f"{_count(tasks, 'task')}: {', '.join(envs) or 'none'}."
        )

    @property
    def version(self) -> str:
        """The ``-vN`` suffix of the name."""
        return self.name.rsplit("-", 1)[-1] if "-v" in self.name else "v0"

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


_SUITES: dict[str, Suite] = {}


def register_suite(name: str, entries: Iterable[SuiteEntry], *, description: str = "", extend: bool = False) -> Suite:
    """Register a suite. With ``extend=True`` the entries are appended to an
    existing suite of that name (how each family adds itself to ``core-v0``)."""
    entries = tuple(entries)
    if name in _SUITES:
        old = _SUITES[name]
        if extend:
            new = tuple(e for e in entries if e not in old.entries)
            entries = old.entries + new
            description = description or old.description
        elif old.entries == entries:
            return old
        else:
            raise RegistryError(f"suite {name!r} is already registered with other entries; publish {name}-next version instead.")
    suite = Suite(name, entries, description)
    _SUITES[name] = suite
    return suite


def get_suite(name: str) -> Suite:
    """The suite called ``name`` (raises with a "did you mean" on a typo)."""
    load_plugins()
    if name not in _SUITES:
        raise UnknownSuiteError(
            f"No suite {name!r}.{did_you_mean(name, _SUITES)} Registered: {', '.join(sorted(_SUITES)) or 'none'}."
        )
    return _SUITES[name]


def list_suites() -> list[Suite]:
    load_plugins()
    return [_SUITES[k] for k in sorted(_SUITES)]
