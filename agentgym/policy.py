"""The policy contract.

A policy maps a batch of conversations to one completion each, in one call (so
a rollout step costs one batched forward pass, whatever the number of live
episodes). Conversations are chat messages (``{"role": ..., "content": ...}``,
roles ``system``/``user``/``assistant``/``tool``); ``tools`` are the env's tool
schemas for each conversation.

Anything with a matching ``act`` method is a policy (a Protocol, so test
doubles need no inheritance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Completion", "Policy", "Message"]

Message = dict[str, Any]


@dataclass
class Completion:
    """One sampled response. ``prompt_ids``/``response_ids``/``logprobs`` are the
    exact tokens fed and sampled and the sampling log-probabilities, where the
    backend gives them (empty otherwise)."""

    text: str
    prompt_ids: list[int] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish_reason: str = "stop"


@runtime_checkable
class Policy(Protocol):
    """``act(conversations, tools) -> completions``, one per conversation, in order."""

    def act(
        self, conversations: Sequence[Sequence[Message]], tools: Sequence[Sequence[dict[str, Any]]]
    ) -> list[Completion]: ...
