"""Registering environments and finding them again: gymnasium's registry.

There is one registry, gymnasium's. agentgym's environments live in it under
the ``agentgym/`` namespace, so both of these work::

    env = agentgym.make("AskToAct-v0", difficulty="easy")   # the AgentEnv itself
    env = gymnasium.make("agentgym/AskToAct-v0")             # the same, through gymnasium

They are registered without gymnasium's order-enforcing and passive-checker
wrappers (an :class:`~agentgym.env.AgentEnv` enforces order itself and is
checked by :func:`agentgym.testing.check_agent_env`), so both doors return the
env itself. :func:`make` adds only the ``agentgym/`` namespace and a "did you
mean" on a typo; keyword arguments are merged by gymnasium. agentgym's one
addition, a one-line ``description`` for ``agentgym list``, is kept as an
attribute of gymnasium's :class:`~gymnasium.envs.registration.EnvSpec`.

Third-party packages register through the ``agentgym.envs`` entry-point group:
in their ``pyproject.toml``::

    [project.entry-points."agentgym.envs"]
    mypkg = "mypkg.envs:register"      # a function that calls agentgym.register(...)

Entry points are loaded once, on first use of the registry.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from agentgym.errors import RegistryError, UnknownEnvError, did_you_mean

__all__ = ["register", "make", "env_spec", "list_envs", "env_description", "load_plugins", "NAMESPACE"]

logger = logging.getLogger(__name__)

NAMESPACE = "agentgym"
ENTRY_POINT_GROUP = "agentgym.envs"


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
    if full in gym.registry:
        old = gym.registry[full]
        if _ep_name(old.entry_point) == _ep_name(entry_point) and not override:
            return  # the same registration twice (e.g. a module imported twice) is harmless
        if not override:
            raise RegistryError(
                f"{full} is already registered to {_ep_name(old.entry_point)}; pass override=True to replace it."
            )
        del gym.registry[full]  # replaced without gymnasium's "overriding" warning
    gym.register(id=full, entry_point=entry_point, kwargs=dict(defaults), order_enforce=False,
                 disable_env_checker=True)
    gym.registry[full].description = description  # type: ignore[attr-defined]


def _ep_name(entry_point: Any) -> str:
    if isinstance(entry_point, str):
        return entry_point
    return f"{getattr(entry_point, '__module__', '?')}:{getattr(entry_point, '__qualname__', repr(entry_point))}"


def env_description(env_spec: EnvSpec) -> str:
    """The one-line description ``agentgym.register`` stored on a spec ("" for
    envs registered with ``gymnasium.register`` directly)."""
    return str(getattr(env_spec, "description", ""))


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


def env_spec(env_id: str) -> EnvSpec:
    """Gymnasium's spec of ``env_id`` (``agentgym/`` optional); raises
    :class:`~agentgym.errors.UnknownEnvError` with a "did you mean" on a typo.

    >>> env_spec("GuessNumber-v0").id
    'agentgym/GuessNumber-v0'
    """
    load_plugins()
    full = _full_id(env_id)
    if full not in gym.registry:
        ids = [s.id for s in list_envs()]
        raise UnknownEnvError(
            f"No environment {full!r} is registered.{did_you_mean(full, ids)} "
            f"Registered: {', '.join(ids) or 'none'} (see `agentgym list`)."
        )
    return gym.registry[full]


def make(env_id: str, **kwargs: Any) -> gym.Env:
    """Instantiate a registered environment: ``gymnasium.make`` with the
    ``agentgym/`` namespace optional and a "did you mean" on a typo.

    >>> env = make("GuessNumber-v0", split="val")
    >>> env.spec.kwargs["split"]
    'val'
    """
    return gym.make(env_spec(env_id), **kwargs)


def list_envs() -> list[EnvSpec]:
    """Gymnasium's specs of every environment in the ``agentgym/`` namespace, sorted by id."""
    load_plugins()
    return [gym.registry[k] for k in sorted(gym.registry) if k.startswith(NAMESPACE + "/")]
