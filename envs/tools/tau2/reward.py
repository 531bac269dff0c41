"""Grading an episode with τ²'s own evaluators (``Tau2RetailEnv(grader="tau2")``).

τ²'s ``evaluate_simulation`` (``tau2.evaluator.evaluator``) imports τ²'s
registry, which imports its LLM agents and ``litellm``: it does not run
offline. Its two parts that retail's reward basis (DB × COMMUNICATE) uses do:
``EnvironmentEvaluator`` (replays the trajectory's tool calls on a fresh
database, replays the gold actions on another, compares τ²'s database hashes)
and ``CommunicateEvaluator`` (each ``communicate_info`` string in some
assistant message). :func:`tau2_verdict` builds the episode's τ² message
trajectory and runs both; the reward is their product, as
``evaluate_simulation`` combines them for this basis.

The env's default grader computes the same two verdicts without reloading the
database (see :mod:`.data`); a test checks that the two agree.

Reward (:data:`REWARD`, an :class:`agentgym.rewards.Reward`; ``env.reward``):
one outcome part, ``tau2`` (weight 1; raw ``db_match × communicate_match``,
τ²'s reward for retail's basis), scored on a :class:`Verdict` when the
conversation ends and always reported (0.0 included).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from agentgym.envs.tools.tau2.data import RetailData
from agentgym.rewards import Part, Reward

__all__ = ["REWARD", "Verdict", "tau2_messages", "tau2_verdict"]


class Verdict(NamedTuple):
    """τ²'s two checks of a conversation: the final database, and the facts communicated."""

    db_match: bool
    communicate_match: bool


#: Tau2Retail-v0's reward (see the module docstring).
REWARD = Reward([Part("tau2", lambda v: v.db_match and v.communicate_match, keep_zero_weight=True,
                      doc="τ²'s reward: DB × COMMUNICATE")])


def tau2_messages(events: Sequence[tuple[str, Any]]) -> list[Any]:
    """The episode as τ² messages: each committed tool call an assistant message
    with one tool call and its tool message; the agent's and the user's words as text."""
    from tau2.data_model.message import AssistantMessage, ToolCall, ToolMessage, UserMessage

    messages: list[Any] = []
    for i, (kind, body) in enumerate(events):
        if kind == "call":
            name, args, content = body
            call_id = f"call_{i}"
            messages.append(AssistantMessage(role="assistant", tool_calls=[ToolCall(id=call_id, name=name,
                                                                                    arguments=dict(args))]))
            messages.append(ToolMessage(id=call_id, role="tool", content=content, requestor="assistant"))
        elif kind == "agent":
            messages.append(AssistantMessage(role="assistant", content=body))
        else:
            messages.append(UserMessage(role="user", content=body))
    return messages


def tau2_verdict(data: RetailData, tau2_id: str, events: Sequence[tuple[str, Any]]) -> tuple[bool, bool]:
    """``(db_match, communicate_match)`` as τ²'s evaluators give them."""
    from tau2.data_model.tasks import RewardType
    from tau2.domains.retail.environment import get_environment
    from tau2.evaluator.evaluator_communicate import CommunicateEvaluator
    from tau2.evaluator.evaluator_env import EnvironmentEvaluator

    task = data.tasks[tau2_id]
    messages = tau2_messages(events)
    env_info = EnvironmentEvaluator.calculate_reward(
        environment_constructor=lambda solo_mode=False: get_environment(solo_mode=solo_mode),
        task=task,
        full_trajectory=messages,
    )
    comm_info = CommunicateEvaluator.calculate_reward(task=task, full_trajectory=messages)
    basis = set(task.evaluation_criteria.reward_basis)
    db_ok = env_info.reward == 1.0 if RewardType.DB in basis else True
    comm_ok = comm_info.reward == 1.0 if RewardType.COMMUNICATE in basis else True
    return db_ok, comm_ok
