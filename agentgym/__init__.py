"""agentgym: train and evaluate multi-turn, tool-using LLM agents with RL.

>>> import agentgym
>>> env = agentgym.make("GuessNumber-v0", split="val")
>>> obs, info = env.reset(seed=0)
>>> sorted(info)[:3]
['anchor', 'system', 'task_id']

The core (this package) never imports a specific env, policy or sandbox and
never imports torch at import time; heavier parts (rollout, credit, train,
eval) are imported on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

from agentgym.env import AgentEnv
from agentgym.errors import (
    ActionError,
    AgentGymError,
    ArgumentError,
    ConfigError,
    InvalidActionError,
    MultipleCallsError,
    NoToolCallError,
    ToolCallParseError,
    UnknownEnvError,
    UnknownSuiteError,
    UnknownToolError,
)
from agentgym.parsing import parse_tool_calls
from agentgym.policy import Completion, Policy, load_policy
from agentgym.registry import list_envs, load_plugins, make, register, spec
from agentgym.spaces import FreeText
from agentgym.suites import Suite, SuiteEntry, get_suite, list_suites, register_suite
from agentgym.tasks import SPLITS, Task, TaskGenerator
from agentgym.tools import ToolCall, ToolSpec, tool, tool_specs
from agentgym.trajectory import Trajectory, Turn, load_jsonl, save_jsonl

__version__ = "0.1.0"

__all__ = [
    "ActionError",
    "AgentEnv",
    "AgentGymError",
    "ArgumentError",
    "Completion",
    "ConfigError",
    "FreeText",
    "InvalidActionError",
    "MultipleCallsError",
    "NoToolCallError",
    "Policy",
    "SPLITS",
    "Suite",
    "SuiteEntry",
    "Task",
    "TaskGenerator",
    "ToolCall",
    "ToolCallParseError",
    "ToolSpec",
    "Trajectory",
    "Turn",
    "UnknownEnvError",
    "UnknownSuiteError",
    "UnknownToolError",
    "get_suite",
    "list_envs",
    "list_suites",
    "load_jsonl",
    "load_plugins",
    "load_policy",
    "make",
    "parse_tool_calls",
    "register",
    "register_suite",
    "save_jsonl",
    "spec",
    "tool",
    "tool_specs",
]

# Heavier entry points, imported on first use: name -> "module:attribute".
_LAZY = {
    "collect": "agentgym.rollout:collect",
    "evaluate": "agentgym.evaluation:evaluate",
    "RemoteEnv": "agentgym.remote:RemoteEnv",
    "TrainConfig": "agentgym.train:TrainConfig",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name].split(":")
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agentgym' has no attribute {name!r}")


# Register every installed env family (ours included, through the same
# entry-point group third-party packages use), so that
# gymnasium.make("agentgym/...") works right after `import agentgym`.
load_plugins()
