"""Scripted policies of Tau2Retail-v0.

* ``oracle`` — replays τ²'s gold actions, one per action (those τ² itself
  sees fail are skipped, as its evaluator does), then tells the customer the
  outcome with every ``communicate_info`` fact; a gold transfer to a human
  comes last, if the customer is still there;
* ``no_writes`` — the oracle without its write calls (reads, then the same
  message): graded down wherever τ²'s gold changes the database;
* ``mute`` — the oracle whose final message leaves the facts out: graded down
  wherever τ² requires ``communicate_info``.
"""

from __future__ import annotations

from typing import Any

from agentgym.envs.tools.tau2.data import WRITE_TOOLS
from agentgym.envs.tools.tau2.env import Tau2RetailEnv
from agentgym.tools import ToolCall

__all__ = ["mute", "no_writes", "oracle", "final_message"]


def final_message(info: list[str]) -> str:
    """The oracle's last message: what was done, with the facts τ² requires."""
    if not info:
        return "All done: your request has been handled as discussed."
    return "All done. Here is the information you asked for: " + "; ".join(info) + "."


def _plan(env: Tau2RetailEnv, *, writes: bool = True, facts: bool = True) -> list[str]:
    gold = [g for g in env.meta["gold"] if g["ok"] and (writes or g["name"] not in WRITE_TOOLS)]
    steps = [ToolCall(g["name"], g["arguments"]).render() for g in gold if g["name"] != "transfer_to_human_agents"]
    info = env.meta["communicate_info"] if facts else []
    steps.append(ToolCall("respond", {"message": final_message(info)}).render())
    transfer: list[dict[str, Any]] = [g for g in gold if g["name"] == "transfer_to_human_agents"]
    if transfer:
        steps.append(ToolCall("transfer_to_human_agents", transfer[-1]["arguments"]).render())
    return steps


def _at(env: Tau2RetailEnv, steps: list[str]) -> str:
    if env.valid_actions < len(steps):
        return steps[env.valid_actions]
    return ToolCall("respond", {"message": "Is there anything else I can help you with?"}).render()


def oracle(env: Tau2RetailEnv) -> str:
    return _at(env, _plan(env))


def no_writes(env: Tau2RetailEnv) -> str:
    return _at(env, _plan(env, writes=False))


def mute(env: Tau2RetailEnv) -> str:
    return _at(env, _plan(env, facts=False))
