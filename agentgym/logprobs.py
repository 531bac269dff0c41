"""Teacher-forced log-probabilities of responses given prompts.

One function, :func:`response_logprobs`, used wherever the project needs
``log π(response | prompt)`` token by token: the trainer's loss (with
gradients), IGPO's information-gain scoring and the reference model (without),
and the test that checks a policy's sampling logprobs.

Layout of one padded forward (per micro-batch)::

    row i:  [pad … pad | prompt_i | response_i | pad … pad]
             <── P_max (left-padded) ──><── R_max (right-padded) ──>

Prompts are left-padded to a common length and responses right-padded, so the
logits that predict response tokens sit in the *same* last ``R_max + 1``
columns of every row. The model is asked for those columns only
(``logits_to_keep``), so the ``(B, T, V)`` logits tensor over the prompt — the
49k-entry vocabulary makes it the largest tensor of the step — is never built.

Shared prefix: an agent's prompts start with the same system prompt and tool
list (hundreds of tokens) and differ after that. When the rows of a micro-batch
share a prefix of at least ``share_prefix`` tokens, it is run through the model
*once* (batch 1); its keys/values are expanded to the batch and the rows
continue from there::

    row i:  [shared prefix | pad … pad | rest of prompt_i | response_i | pad … pad]

Gradients flow through the shared keys/values (summed over rows, as they would
be over B copies), so the result equals the unshared forward to float
precision while the prefix costs 1/B of it (tested). Measured on AskToAct
(`scripts/bench_packing.py`: ~330 shared tokens, micro-batches of 8): forward +
backward 1.9x faster.

This module imports torch; ``import agentgym`` does not import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from agentgym.errors import ConfigError

__all__ = ["ResponseScores", "response_logprobs", "common_prefix_length"]


@dataclass
class ResponseScores:
    """Per-token scores of a batch of responses.

    ``logprobs[i, j]`` is the log-probability of response token ``j`` of row
    ``i`` given the prompt and the response tokens before it (temperature-
    scaled); ``mask[i, j]`` says whether that token exists (responses are
    right-padded to ``R_max``; padded entries are 0); ``entropy[i, j]`` is the
    entropy of the predicted distribution there (``with_entropy=True`` only).
    """

    logprobs: torch.Tensor  # (B, R_max) float32
    mask: torch.Tensor  # (B, R_max) bool
    entropy: torch.Tensor | None = None  # (B, R_max) float32

    def sums(self) -> torch.Tensor:
        """Sequence log-probability of each response: ``(B,)``."""
        return (self.logprobs * self.mask).sum(-1)


def response_logprobs(
    model: Any,
    prompts: Sequence[Sequence[int]],
    responses: Sequence[Sequence[int]],
    *,
    pad_token_id: int,
    temperature: float = 1.0,
    with_entropy: bool = False,
    micro_batch_size: int | None = None,
    share_prefix: int = 32,
) -> ResponseScores:
    """Log-probability of each response token given its prompt and the response
    so far, as the policy sampled it (logits divided by ``temperature``).

    Gradients flow to ``model`` unless called under ``torch.no_grad()``. Rows
    are processed ``micro_batch_size`` at a time (all at once by default), one
    padded forward each; results are concatenated. A prefix common to all rows
    of a micro-batch and at least ``share_prefix`` tokens long is computed once
    (``0`` turns that off); see the module docstring.

    >>> from agentgym.policies.hf import HFPolicy                 # doctest: +SKIP
    >>> p = HFPolicy.tiny()                                       # doctest: +SKIP
    >>> s = response_logprobs(p.model, [[1, 2, 3]], [[4, 5]], pad_token_id=0)  # doctest: +SKIP
    >>> s.logprobs.shape                                          # doctest: +SKIP
    torch.Size([1, 2])
    """
    if len(prompts) != len(responses):
        raise ConfigError(f"response_logprobs: {len(prompts)} prompts but {len(responses)} responses.")
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0 for log-probabilities, got {temperature} (use 1.0 for greedy).")
    if any(len(p) == 0 for p in prompts):
        raise ConfigError("response_logprobs: every prompt needs at least one token (the response's first "
                          "token is predicted from the prompt's last).")
    B = len(prompts)
    R_max = max((len(r) for r in responses), default=0)
    device = _device(model)
    if B == 0 or R_max == 0:
        empty = torch.zeros((B, R_max), device=device)
        return ResponseScores(empty, empty.bool(), empty.clone() if with_entropy else None)
    size = micro_batch_size or B
    parts = [
        _score_chunk(model, prompts[s : s + size], responses[s : s + size], R_max, pad_token_id, temperature,
                     with_entropy, device, share_prefix)
        for s in range(0, B, size)
    ]
    logprobs = torch.cat([p[0] for p in parts])
    mask = torch.cat([p[1] for p in parts])
    entropy = torch.cat([p[2] for p in parts if p[2] is not None]) if with_entropy else None
    return ResponseScores(logprobs, mask, entropy)


def _device(model: Any) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - a model without parameters
        return torch.device("cpu")


def common_prefix_length(rows: Sequence[Sequence[int]], limit: int | None = None) -> int:
    """Length of the longest prefix shared by every row (at most ``limit``).

    >>> common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]])
    2
    """
    if not rows:
        return 0
    n = min(len(r) for r in rows) if limit is None else min(limit, *(len(r) for r in rows))
    first = rows[0]
    for other in rows[1:]:
        i = 0
        while i < n and other[i] == first[i]:
            i += 1
        n = i
        if n == 0:
            break
    return n


def _score_chunk(
    model: Any,
    prompts: Sequence[Sequence[int]],
    responses: Sequence[Sequence[int]],
    R_max: int,
    pad: int,
    temperature: float,
    with_entropy: bool,
    device: torch.device,
    share_prefix: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    b = len(prompts)
    # Every row keeps at least its last prompt token: it predicts the first response token.
    shared = common_prefix_length(prompts, limit=min(len(p) for p in prompts) - 1) if share_prefix > 0 and b > 1 else 0
    if shared < max(share_prefix, 1):
        shared = 0
    prefix = list(prompts[0][:shared])
    prompts = [p[shared:] for p in prompts]
    P = max(len(p) for p in prompts)
    ids = torch.full((b, P + R_max), pad, dtype=torch.long)
    attn = torch.zeros((b, P + R_max), dtype=torch.long)
    targets = torch.full((b, R_max), pad, dtype=torch.long)
    mask = torch.zeros((b, R_max), dtype=torch.bool)
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        ids[i, P - len(p) : P] = torch.as_tensor(list(p), dtype=torch.long)
        attn[i, P - len(p) : P + len(r)] = 1
        if len(r):
            ids[i, P : P + len(r)] = torch.as_tensor(list(r), dtype=torch.long)
            targets[i, : len(r)] = ids[i, P : P + len(r)]
            mask[i, : len(r)] = True
    ids, attn, targets, mask = ids.to(device), attn.to(device), targets.to(device), mask.to(device)
    pos = (attn.cumsum(-1) - 1).clamp(min=0) + shared  # (b, T): positions count real tokens only
    past = _shared_past(model, prefix, b, device) if shared else None
    if shared:
        attn = torch.cat([attn.new_ones((b, shared)), attn], dim=1)
    logits = _tail_logits(model, ids, attn, pos, R_max + 1, past)[:, :-1]  # (b, R_max, V): predicts response tokens
    logits = logits.float() / temperature
    logp_all = torch.log_softmax(logits, dim=-1)  # (b, R_max, V)
    logprobs = logp_all.gather(-1, targets[..., None]).squeeze(-1) * mask  # (b, R_max)
    entropy = None
    if with_entropy:
        entropy = -(logp_all.exp() * logp_all).sum(-1) * mask  # (b, R_max)
    return logprobs, mask, entropy


def _shared_past(model: Any, prefix: list[int], b: int, device: torch.device) -> Any:
    """Keys/values of ``prefix`` (one forward, batch 1), expanded to ``b`` rows.

    ``expand`` makes views, not copies; the first attention layer's concatenation
    with the rows' own keys materialises them. Gradients of the B views sum into
    the one prefix computation."""
    from transformers import DynamicCache

    ids = torch.as_tensor([prefix], dtype=torch.long, device=device)
    out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    cache = out.past_key_values
    layers = []
    for layer in cache.layers:
        k, v = layer.keys, layer.values
        layers.append((k.expand(b, *k.shape[1:]), v.expand(b, *v.shape[1:])))
    return DynamicCache(ddp_cache_data=layers)


def _tail_logits(model: Any, ids: torch.Tensor, attn: torch.Tensor, pos: torch.Tensor, keep: int,
                 past: Any = None) -> torch.Tensor:
    """Logits of the last ``keep`` positions; models without ``logits_to_keep``
    compute them all and are sliced."""
    kwargs: dict[str, Any] = {"use_cache": past is not None}
    if past is not None:
        kwargs["past_key_values"] = past
    try:
        out = model(input_ids=ids, attention_mask=attn, position_ids=pos, logits_to_keep=keep, **kwargs)
    except TypeError as e:
        if "logits_to_keep" not in str(e):
            raise
        out = model(input_ids=ids, attention_mask=attn, position_ids=pos, **kwargs)
    logits = out.logits if hasattr(out, "logits") else out[0]
    return logits[:, -keep:]
