"""The policy contract.

A policy maps a batch of conversations to one completion each, in one call (so
a rollout step costs one batched forward pass, whatever the number of live
episodes). Conversations are chat messages (``{"role": ..., "content": ...}``,
roles ``system``/``user``/``assistant``/``tool``); ``tools`` are the env's tool
schemas for each conversation.

Anything with a matching ``act`` method is a policy (a Protocol, so test
doubles need no inheritance).

Two conventions the rollout (:func:`agentgym.rollout.collect`) honours:

* **Policies that need the env.** Scripted players (each family's oracle) read
  the hidden state. A policy with the attribute ``needs_env = True`` is called
  as ``act(conversations, tools, envs=envs)``, ``envs[i]`` being the live env
  of conversation ``i``.
* **Per-conversation failures.** A policy that cannot answer one conversation
  (a model server that keeps failing after its retries) returns a
  ``Completion`` with ``finish_reason="error"`` and ``error`` set; the rollout
  ends that episode as ``failed`` instead of stepping the env. An exception
  raised out of ``act`` is a bug and stops the run.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentgym.errors import ConfigError, did_you_mean

__all__ = ["Completion", "Policy", "Message", "load_policy", "POLICY_ENTRY_POINT_GROUP"]

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
    """``"stop"`` (end of turn), ``"length"`` (max tokens reached) or ``"error"``."""
    error: str | None = None
    """With ``finish_reason="error"``: what went wrong."""


@runtime_checkable
class Policy(Protocol):
    """``act(conversations, tools) -> completions``, one per conversation, in order."""

    def act(
        self, conversations: Sequence[Sequence[Message]], tools: Sequence[Sequence[dict[str, Any]]]
    ) -> list[Completion]: ...


POLICY_ENTRY_POINT_GROUP = "agentgym.policies"


def load_policy(spec: str, **kwargs: Any) -> Policy:
    """Build a policy from a spec string, as the CLI's ``--policy`` takes it.

    ``"kind:rest"`` calls the ``kind`` entry point of the ``agentgym.policies``
    group with ``rest`` (agentgym ships ``hf``, ``tiny``, ``openai``, ``oracle``,
    ``random``, ``scripted``, ``human``); a bare existing directory (a saved
    model or a trainer checkpoint) means ``hf:DIR``; a bare kind means
    ``kind:``.

    >>> load_policy("oracle")                                   # doctest: +SKIP
    >>> load_policy("hf:smollm2-135m", temperature=0.7)          # doctest: +SKIP
    >>> load_policy("openai:http://127.0.0.1:8000/v1#smollm2")  # doctest: +SKIP
    """
    if os.path.isdir(spec):
        kind, rest = "hf", spec
    else:
        kind, _, rest = spec.partition(":")
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group=POLICY_ENTRY_POINT_GROUP)}
    if kind not in eps:
        raise ConfigError(
            f"unknown policy kind {kind!r} in spec {spec!r}.{did_you_mean(kind, eps)} "
            f"Known kinds: {', '.join(sorted(eps))} (e.g. 'hf:PATH_OR_NAME', 'openai:URL#MODEL', 'oracle')."
        )
    return eps[kind].load()(rest, **kwargs)
