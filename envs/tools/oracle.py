"""Scripted policies of ToolCalls-v0.

* ``oracle`` — replays the gold plan: each step of the current user turn is
  one action (a parallel group is one action with several calls);
* ``no_ask`` — the oracle without its questions: it already "knows" what the
  user would say and acts on it (graded down: it acted before asking);
* ``sequential`` — the oracle with every parallel group split into one action
  per call (graded down in the parallel category only);
* ``respond_only`` — never calls a domain tool: sends the gold reply at once
  (right on irrelevance and on refusals, wrong wherever something must be done).
"""

from __future__ import annotations

from typing import Any

from agentgym.envs.tools.env import ToolCallsEnv
from agentgym.tools import ToolCall

__all__ = ["no_ask", "oracle", "respond_only", "sequential"]


def _render(step: dict[str, Any]) -> str:
    if "ask" in step:
        return ToolCall("ask_user", {"question": step["ask"]}).render()
    if "respond" in step:
        return ToolCall("respond", {"message": step["respond"]}).render()
    return "".join(ToolCall(c["name"], c["arguments"]).render() for c in step["calls"])


def _steps(env: ToolCallsEnv, *, asks: bool = True, split: bool = False) -> list[dict[str, Any]]:
    steps = env.turns[env.user_turn]["steps"]
    out = []
    for s in steps:
        if "ask" in s and not asks:
            continue
        if "calls" in s and split:
            out += [{"calls": [c]} for c in s["calls"]]
        else:
            out.append(s)
    return out


def _at(env: ToolCallsEnv, steps: list[dict[str, Any]]) -> str:
    return _render(steps[min(env.turn_actions, len(steps) - 1)])


def oracle(env: ToolCallsEnv) -> str:
    return _at(env, _steps(env))


def no_ask(env: ToolCallsEnv) -> str:
    return _at(env, _steps(env, asks=False))


def sequential(env: ToolCallsEnv) -> str:
    return _at(env, _steps(env, split=True))


def respond_only(env: ToolCallsEnv) -> str:
    return _render(env.turns[env.user_turn]["steps"][-1])
