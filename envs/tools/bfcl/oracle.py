"""Scripted policies of BFCL-v0.

* ``oracle`` — replays the ground truth: in each user turn, one action per gold
  call (in BFCL's order, arguments by name; a turn with more calls than the step
  limit goes in equal chunks), then ``respond``; a turn whose
  ground truth is empty (a missing parameter or function) is answered at once.
* ``respond_only`` — never calls a function (fails every task with a checked turn).
"""

from __future__ import annotations

from agentgym.envs.tools.bfcl.env import BFCLEnv
from agentgym.envs.tools.bfcl.reward import gold_calls
from agentgym.tools import ToolCall

__all__ = ["CANNOT", "DONE_REPLY", "oracle", "respond_only"]

DONE_REPLY = "Done."
CANNOT = "I cannot do that with the tools and information I have; could you tell me more?"


def _respond(text: str) -> str:
    return ToolCall("respond", {"message": text}).render()


def oracle(env: BFCLEnv) -> str:
    calls = gold_calls(env.entry)[env.user_turn]
    # One call per action, or equal chunks when a turn has more calls than BFCL's step limit.
    limit = env.max_steps_per_turn or len(calls) or 1
    size = -(-len(calls) // limit) if len(calls) > limit else 1
    start = env.turn_actions * size
    if start < len(calls):
        return "".join(ToolCall(name, kwargs).render() for name, kwargs in calls[start:start + size])
    return _respond(DONE_REPLY if calls else CANNOT)


def respond_only(env: BFCLEnv) -> str:
    return _respond(CANNOT)
