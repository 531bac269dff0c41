"""agentgym: train and evaluate multi-turn, tool-using LLM agents with RL.

>>> import agentgym
>>> env = agentgym.make("GuessNumber-v0", split="val")
>>> obs, info = env.reset(seed=0)
>>> sorted(info)[:3]
['anchor', 'system', 'task_id']

The top level holds what a user types: :func:`make`, :func:`register` and
:func:`list_envs` (gymnasium's registry), :class:`AgentEnv` and :func:`tool`
to write an env, :class:`Task` and :class:`TaskGenerator` for its tasks,
:class:`Trajectory` and :class:`Turn` for episodes, :class:`Policy` and
:func:`load_policy`, :func:`get_suite` and :func:`evaluate`, and the
:mod:`agentgym.train` package (``train``, ``sft``, ``TrainConfig``).
Exceptions live in :mod:`agentgym.errors`, like ``gymnasium.error``; the rest
is importable from its own module (``agentgym.tools.ToolCall``,
``agentgym.suites.SuiteEntry``, ``agentgym.rollout.collect``,
``agentgym.remote.RemoteEnv`` ...).

The core never imports a specific env, policy or sandbox and never imports
torch at import time: ``evaluate`` and ``train`` are imported on first use.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from agentgym import errors
from agentgym.env import AgentEnv
from agentgym.policy import Policy, load_policy
from agentgym.registry import list_envs, load_plugins, make, register
from agentgym.suites import get_suite
from agentgym.tasks import Task, TaskGenerator
from agentgym.tools import tool
from agentgym.trajectory import Trajectory, Turn

__version__ = "0.1.0"

__all__ = [
    "AgentEnv",
    "Policy",
    "Task",
    "TaskGenerator",
    "Trajectory",
    "Turn",
    "errors",
    "evaluate",
    "get_suite",
    "list_envs",
    "load_policy",
    "make",
    "register",
    "tool",
    "train",
]

# Imported on first use (they import torch): name -> "module:attribute" ("module:" for a module).
_LAZY = {"evaluate": "agentgym.evaluation:evaluate", "train": "agentgym.train:"}

# Names the top level used to export, and where they live now. They keep working
# with a DeprecationWarning (to be removed in 0.3).
_MOVED = {
    **dict.fromkeys(
        ("ActionError", "AgentGymError", "ArgumentError", "ConfigError", "InvalidActionError", "MultipleCallsError",
         "NoToolCallError", "ToolCallParseError", "UnknownEnvError", "UnknownSuiteError", "UnknownToolError"),
        "agentgym.errors"),
    **dict.fromkeys(("ToolCall", "ToolSpec", "tool_specs"), "agentgym.tools"),
    **dict.fromkeys(("Suite", "SuiteEntry", "list_suites", "register_suite"), "agentgym.suites"),
    **dict.fromkeys(("load_jsonl", "save_jsonl"), "agentgym.trajectory"),
    "Completion": "agentgym.policy",
    "FreeText": "agentgym.spaces",
    "SPLITS": "agentgym.tasks",
    "parse_tool_calls": "agentgym.parsing",
    "load_plugins": "agentgym.registry",
    "collect": "agentgym.rollout",
    "RemoteEnv": "agentgym.remote",
    "TrainConfig": "agentgym.train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name].split(":")
        mod = importlib.import_module(module)
        value = getattr(mod, attr) if attr else mod
        globals()[name] = value
        return value
    if name in _MOVED:
        warnings.warn(f"agentgym.{name} moved: import it from {_MOVED[name]} "
                      f"(from {_MOVED[name]} import {name}).", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    if name == "spec":
        raise AttributeError("agentgym.spec was removed: gymnasium's registry is the one registry; use "
                             "gymnasium.spec('agentgym/ID') or agentgym.registry.env_spec('ID').")
    raise AttributeError(f"module 'agentgym' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


# Register every installed env family (ours included, through the same
# entry-point group third-party packages use), so that
# gymnasium.make("agentgym/...") works right after `import agentgym`.
load_plugins()
