"""Reuse of the KV cache across the turns of a conversation (HFPolicy's prefix cache).

Turn t+1's prompt is turn t's prompt, the reply and the new observation: with
full history, re-running the whole prompt through the model every turn makes
prefill — which dominates a CPU rollout — grow with the episode. HFPolicy keeps
the keys/values of every sequence its last ``act`` call ended with; the next
call looks up, for each prompt, the stored sequence sharing its longest token
prefix and runs only the rest through the model.

Exactness: the stored keys/values were computed for exactly those tokens at
exactly those positions (positions count real tokens, whatever the padding),
so the next turn's logits are those of a fresh forward up to float rounding
(the logprob-consistency tests run with the cache on). The store is dropped
whenever the weights may have changed (an optimizer step, ``load_state_dict``,
another model object): it is keyed by the identity and in-place version
counter of every parameter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["PrefixStore", "Entry", "build_past", "weights_signature"]


@dataclass
class Entry:
    """A token sequence and its per-layer keys/values, each ``(heads, len, dim)``."""

    tokens: torch.Tensor  # (L,) long, on the CPU
    keys: list[torch.Tensor]
    values: list[torch.Tensor]


@dataclass
class _State:
    signature: tuple[Any, ...] = ()
    previous: list[Entry] = field(default_factory=list)  # what the last act() call left
    current: list[Entry] = field(default_factory=list)  # being filled by this call
    current_bytes: int = 0
    matrix: torch.Tensor | None = None  # (E, M_max) tokens of `previous`, padded with -1


class PrefixStore:
    """Per-thread store (a policy shared by threads keeps one chain per thread)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._local = threading.local()

    def _state(self) -> _State:
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _State()
        return state

    def begin(self, signature: tuple[Any, ...]) -> None:
        """Start an ``act`` call; forget everything if the weights changed."""
        state = self._state()
        if state.signature != signature:
            state.previous, state.signature, state.matrix = [], signature, None
        state.current, state.current_bytes = [], 0

    def end(self) -> None:
        """Finish an ``act`` call: its sequences become the ones to reuse."""
        state = self._state()
        state.previous, state.current, state.current_bytes, state.matrix = state.current, [], 0, None

    def clear(self) -> None:
        state = self._state()
        state.previous, state.current, state.current_bytes, state.matrix = [], [], 0, None

    def lookup(self, prompt: list[int]) -> tuple[Entry | None, int]:
        """The stored entry sharing the longest prefix with ``prompt``, and that length
        (at most ``len(prompt) - 1``: the last prompt token must be run to get logits).
        One vectorized comparison against every stored sequence."""
        state = self._state()
        if not state.previous or len(prompt) < 2:
            return None, 0
        if state.matrix is None:
            width = max(len(e.tokens) for e in state.previous)
            state.matrix = torch.full((len(state.previous), width), -1, dtype=torch.long)
            for i, e in enumerate(state.previous):
                state.matrix[i, : len(e.tokens)] = e.tokens
        n = min(len(prompt) - 1, state.matrix.shape[1])
        eq = state.matrix[:, :n] == torch.tensor(prompt[:n], dtype=torch.long)  # (E, n); padding never matches
        common = torch.where(eq.all(dim=1), n, (~eq).int().argmax(dim=1))  # (E,) first mismatch
        best = int(common.argmax())
        length = int(common[best])
        return (state.previous[best], length) if length > 0 else (None, 0)

    def add(self, tokens: list[int], keys: list[torch.Tensor], values: list[torch.Tensor]) -> None:
        state = self._state()
        size = sum(t.numel() * t.element_size() for t in (*keys, *values))
        if state.current_bytes + size > self.max_bytes:
            return  # over budget: that conversation just runs in full next turn
        state.current.append(Entry(torch.tensor(tokens, dtype=torch.long), keys, values))
        state.current_bytes += size


def weights_signature(model: Any) -> tuple[Any, ...]:
    """Changes whenever a parameter is replaced or modified in place: the identity
    and version counter of every parameter, plus a checksum of a few entries of
    each (writes through ``param.data`` do not bump the version counter)."""
    params = list(model.parameters())
    with torch.no_grad():
        probe = [p.detach().reshape(-1)[:4].double().sum() for p in params if p.numel()]
        checksum = float(torch.stack(probe).sum()) if probe else 0.0
    return (*((id(p), p._version) for p in params), checksum)


def build_past(matches: list[tuple[Entry | None, int]], width: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Left-padded ``(keys, values)`` per layer, ``(B, heads, width, dim)``: row i
    holds its reused prefix in the last ``len_i`` columns, zeros before."""
    ref = next(e for e, n in matches if e is not None and n > 0)
    out = []
    for layer in range(len(ref.keys)):
        k_ref, v_ref = ref.keys[layer], ref.values[layer]
        K = k_ref.new_zeros((len(matches), k_ref.shape[0], width, k_ref.shape[-1]))
        V = v_ref.new_zeros((len(matches), v_ref.shape[0], width, v_ref.shape[-1]))
        for i, (entry, n) in enumerate(matches):
            if entry is not None and n > 0:
                K[i, :, width - n :] = entry.keys[layer][:, :n]
                V[i, :, width - n :] = entry.values[layer][:, :n]
        out.append((K, V))
    return out
