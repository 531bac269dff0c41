"""Registering environments and finding them again.

Environments live in gymnasium's registry under the ``agentgym/`` namespace,
so both of these work::

    env = agentgym.make("AskToAct-v0", difficulty="easy")   # the AgentEnv itself
    env = gymnasium.make("agentgym/AskToAct-v0")             # with gymnasium's wrappers

:func:`make` returns the environment without the wrappers ``gymnasium.make``
adds (order enforcing, passive checker); the env enforces order itself.

Third-party packages register through the ``agentgym.envs`` entry-point group:
in their ``pyproject.toml``::

    [project.entry-points."agentgym.envs"]
    mypkg = "mypkg.envs:register"      # a function that calls agentgym.register(...)

Entry points are loaded once, on first use of the registry.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agentgym.errors import RegistryError, UnknownEnvError, did_you_mean

__all__ = ["register", "make", "spec", "list_envs", "EnvInfo", "load_plugins", "NAMESPACE"]

logger = logging.getLogger(__name__)

NAMESPACE = "agentgym"
ENTRY_POINT_GROUP = "agentgym.envs"


@dataclass(frozen=True)
class EnvInfo:
    """What ``agentgym list`` shows of a registered environment."""

    id: str
    entry_point: str
    description: str
    defaults: dict[str, Any] = field(default_factory=dict, hash=False)


_ENVS: dict[str, EnvInfo] = {}
_plugins_loaded = False


def _full_id(env_id: str) -> str:
    return env_id if env_id.startswith(NAMESPACE + "/") else f"{NAMESPACE}/{env_id}"


def register(
    id: str,
    entry_point: str | Callable[..., gym.Env],
    *,
    description: str = "",
    override: bool = False,
    **defaults: Any,
) -> None:
    """Register an environment under ``agentgym/<id>``.

    Args:
        id: Versioned id, e.g. ``"GuessNumber-v0"`` (``agentgym/`` is added).
        entry_point: ``"package.module:Class"`` (imported lazily) or a callable.
        description: One line for ``agentgym list``.
        override: Replace an existing registration instead of raising.
        **defaults: Default keyword arguments for the constructor.

    >>> register("Echo-v0", "mypkg.echo:EchoEnv", description="repeats")  # doctest: +SKIP
    """
    full = _full_id(id)
    if full in _ENVS and not override:
        if _ENVS[full].entry_point == _ep_name(entry_point):
            return  # the same registration twice (e.g. a module imported twice) is harmless
        raise RegistryError(f"{full} is already registered to {_ENVS[full].entry_point}; pass override=True to replace it.")
    gym.register(id=full, entry_point=entry_point, kwargs=dict(defaults), disable_env_checker=True)
    _ENVS[full] = EnvInfo(full, _ep_name(entry_point), description, dict(defaults))


def _ep_name(entry_point: str | Callable[..., Any]) -> str:
    if isinstance(entry_point, str):
        return entry_point
    return f"{getattr(entry_point, '__module__', '?')}:{getattr(entry_point, '__qualname__', repr(entry_point))}"


def load_plugins(force: bool = False) -> None:
    """Load every ``agentgym.envs`` entry point (once). A plugin that fails to
    load is logged and skipped: one broken package must not hide the others."""
    global _plugins_loaded
    if _plugins_loaded and not force:
        return
    _plugins_loaded = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if callable(obj):
                obj()
        except Exception:
            logger.exception("agentgym: could not load env plugin %r (%s)", ep.name, ep.value)


def spec(env_id: str) -> EnvInfo:
    """The registration of ``env_id``; raises with a "did you mean" on a typo."""
    load_plugins()
    full = _full_id(env_id)
    if full not in _ENVS:
        raise UnknownEnvError(
            f"No environment {full!r} is registered.{did_you_mean(full, _ENVS)} "
            f"Registered: {', '.join(sorted(_ENVS)) or 'none'} (see `agentgym list`)."
        )
    return _ENVS[full]


def make(env_id: str, **kwargs: Any) -> gym.Env:
    """Instantiate a registered environment (without gymnasium's wrappers).

    >>> env = make("GuessNumber-v0", split="val")  # doctest: +SKIP
    """
    info = spec(env_id)
    env_spec = gym.spec(info.id)
    ep = env_spec.entry_point
    if isinstance(ep, str):
        from gymnasium.envs.registration import load_env_creator

        ep = load_env_creator(ep)
    env = ep(**{**env_spec.kwargs, **kwargs})
    env.spec = dataclasses.replace(env_spec, kwargs={**env_spec.kwargs, **kwargs})
    return env


def list_envs() -> list[EnvInfo]:
    """Every registered agentgym environment, sorted by id."""
    load_plugins()
    return [_ENVS[k] for k in sorted(_ENVS)]
