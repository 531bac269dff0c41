"""The one exception hierarchy of agentgym.

Two families, kept apart on purpose:

* :class:`ActionError` and its subclasses are *agent* mistakes (a malformed tool
  call, an unknown tool, a bad argument, an impossible action). Environments
  catch them and turn them into an observation with ``action_valid=False``; they
  never escape :meth:`agentgym.AgentEnv.step`.
* Everything else under :class:`AgentGymError` is a *user* mistake (unknown env
  id, bad configuration, broken tool definition). Those are raised, with a
  message that says how to fix the problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AgentGymError(Exception):
    """Base class of every exception agentgym raises on purpose."""


# --------------------------------------------------------------------------
# User mistakes
# --------------------------------------------------------------------------
class ConfigError(AgentGymError, ValueError):
    """A configuration value is invalid; the message says which and how to fix it."""


class ToolDefinitionError(AgentGymError, TypeError):
    """A method decorated with ``@agentgym.tool`` cannot be turned into a schema."""


class RegistryError(AgentGymError, KeyError):
    """An environment or suite id is unknown or registered twice."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownEnvError(RegistryError):
    """``make``/``spec`` was given an id that is not registered."""


class UnknownSuiteError(RegistryError):
    """``get_suite`` was given a name that is not registered."""


class DependencyUnavailableError(ConfigError):
    """An environment needs an optional package or data that is not installed here (the
    message says how to install it). Tests and benchmarks skip such envs with the
    message; a user's ``make`` fails with it."""


class SandboxUnavailableError(AgentGymError, RuntimeError):
    """The requested sandbox backend cannot run on this machine (the message says why)."""


class EnvStateError(AgentGymError, RuntimeError):
    """An environment was used out of order (e.g. ``step`` before ``reset``)."""


class PolicyError(AgentGymError, RuntimeError):
    """A policy broke its contract (e.g. returned the wrong number of completions)."""


class RemoteEnvError(AgentGymError, RuntimeError):
    """A remote environment (``agentgym.remote.RemoteEnv``) failed: the server is
    unreachable after retries, the session was lost, or the env raised on the
    server. ``status`` is the HTTP status, when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidates, or ``""``.

    >>> did_you_mean("lok", ["look", "go"])
    " Did you mean 'look'?"
    """
    close = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


# --------------------------------------------------------------------------
# Agent mistakes: become observations, never escape step()
# --------------------------------------------------------------------------
class ActionError(AgentGymError):
    """An action the agent took cannot be executed.

    ``kind`` is a short machine-readable tag (``info["error"]``); ``str(error)``
    is the observation the agent sees.
    """

    kind: str = "invalid_action"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class NoToolCallError(ActionError):
    """The text holds no recognisable tool call."""

    kind = "no_tool_call"


class ToolCallParseError(ActionError):
    """A tool call was found but could not be decoded (bad JSON, bad syntax)."""

    kind = "parse_error"


class UnknownToolError(ActionError):
    """The call names a tool the environment does not have."""

    kind = "unknown_tool"


class ArgumentError(ActionError):
    """Arguments are missing, unexpected, or of the wrong type."""

    kind = "bad_arguments"


class MultipleCallsError(ActionError):
    """Several calls were made where the environment accepts one per turn."""

    kind = "multiple_calls"


class InvalidActionError(ActionError):
    """A well-formed call that the environment's rules do not allow now
    (picking from a closed cabinet, an object that is not here, ...)."""

    kind = "invalid_action"
