"""Teacher-forced log-probabilities of responses: the one scorer.

Everything that needs ``log π(token | everything before it)`` calls
:func:`packed_logprobs`: the trainer's loss (with gradients), the old-policy and
reference passes, IGPO's information-gain scoring and SFT (without, or with);
:func:`response_logprobs` is the same scorer for plain (prompt, response) pairs,
each a one-member row. This module imports torch; ``import agentgym`` does not.

**Rows.** A :class:`PackedRow` is a token sequence with the ``[start, end)``
spans whose tokens are scored. With a full history, turn ``t+1``'s prompt is
turn ``t``'s prompt, its response and the next observation, so one row per
episode carries every turn's response (:func:`pack_chain`); attention is
causal, so the numbers equal the per-turn forward's to float precision
(tested), at the cost of one forward over the episode. A link is packed only
where the ids chain token for token; elsewhere a new row starts.

**Shared prefixes, two levels.** Per micro-batch::

    level 0:  [system prompt + tools]                           once (batch 1), if every row starts with it
    level 1:  [task prompt of group g | pad]                    once per cluster of rows (batch = clusters)
    rows:     [rest of row i (history, responses) | pad]        continues from its cluster's keys/values

Rows that share a prefix of at least ``share_prefix`` tokens beyond level 0 and
are adjacent form a cluster (the trainer orders a group's G episodes
together, so a cluster is the group: its task prompt is computed once, not G
times). Keys/values are expanded or gathered to the rows; padding between a
prefix and a row is masked out and positions count real tokens, so the result
equals the unshared forward to float precision (tested), gradients included.

**Never the (tokens x vocabulary) log-softmax.** Only the positions whose
prediction is used reach the output layer, and those in chunks of
``chunk_tokens`` positions: for a standard causal LM the kept *hidden states*
are taken at the output layer's input (a forward pre-hook; the model computes
no logits itself), and each chunk's logits, float32 log-softmax, gathered
target log-probability and entropy are computed and freed in turn, the
backward recomputing them chunk by chunk (activation checkpointing). Peak
memory is then ``~chunk_tokens x V`` floats instead of several ``K x V``
tensors (``scripts/bench_scoring.py``, figures in BENCHMARKS.md). Models whose
forward transforms the output layer's result (logit soft-capping, scaling)
are found by a probe once and scored from their own logits, chunked after the
model (float32 upcast, log-softmax and entropy).

What a model supports is read from its ``forward`` signature once (a
``cache``/``past_key_values`` argument for prefix sharing, ``logits_to_keep``);
nothing is tried and caught, so an error (out of memory included) raises.

>>> rows = pack_chain([[1, 2], [1, 2, 3, 4, 5]], [[3, 4], [6]])
>>> [(r.ids, r.spans) for r in rows]
[([1, 2, 3, 4, 5, 6], [(2, 4), (5, 6)])]
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from agentgym.errors import ConfigError

__all__ = ["PackedRow", "ResponseScores", "common_prefix_length", "pack_chain", "packed_logprobs",
           "response_logprobs"]

logger = logging.getLogger(__name__)

# One float32 chunk of (positions x vocabulary) holds at most this many entries (64 MiB):
# the peak is a few such tensors (scripts/bench_scoring.py).
CHUNK_ELEMENTS = 2**24
MIN_CHUNK_TOKENS = 64


@dataclass
class ResponseScores:
    """Per-token scores of a batch of responses.

    ``logprobs[i, j]`` is the log-probability of response token ``j`` of row
    ``i`` given everything before it (temperature-scaled); ``mask[i, j]`` says
    whether that token exists (responses are right-padded; padded entries are
    0); ``entropy[i, j]`` is the entropy of the predicted distribution there
    (``with_entropy=True`` only).
    """

    logprobs: torch.Tensor  # (B, R_max) float32
    mask: torch.Tensor  # (B, R_max) bool
    entropy: torch.Tensor | None = None  # (B, R_max) float32

    def sums(self) -> torch.Tensor:
        """Sequence log-probability of each response: ``(B,)``."""
        return (self.logprobs * self.mask).sum(-1)


@dataclass
class PackedRow:
    """One row to score: ``ids``; per member turn the ``[start, end)`` span of
    its response in ``ids`` (``members[k]`` is the caller's id of span k); and
    the ``context`` spans: tokens a later prompt added (observations and chat
    template), what an observation loss is taken on."""

    ids: list[int]
    spans: list[tuple[int, int]] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    context: list[tuple[int, int]] = field(default_factory=list)

    def only(self, keep: Sequence[int]) -> PackedRow:
        """The same row scoring only the members in ``keep`` (the others' tokens stay as context)."""
        wanted = set(keep)
        pairs = [(s, m) for s, m in zip(self.spans, self.members, strict=True) if m in wanted]
        return PackedRow(self.ids, [s for s, _ in pairs], [m for _, m in pairs], list(self.context))


def pack_chain(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]],
               members: Sequence[int] | None = None) -> list[PackedRow]:
    """Pack one conversation's turns (in order) into as few rows as the token
    ids allow: a turn joins the current row when its prompt starts with the
    row so far (previous prompt + response); otherwise it starts a new row."""
    if len(prompts) != len(responses):
        raise ConfigError(f"pack_chain: {len(prompts)} prompts but {len(responses)} responses.")
    members = list(range(len(prompts))) if members is None else list(members)
    rows: list[PackedRow] = []
    for k, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        if not p:
            raise ConfigError("pack_chain: every prompt needs at least one token.")
        cur = rows[-1] if rows else None
        if cur is not None and len(p) >= len(cur.ids) and list(p[: len(cur.ids)]) == cur.ids:
            if len(p) > len(cur.ids):
                cur.context.append((len(cur.ids), len(p)))
            cur.ids.extend(p[len(cur.ids):])
        else:
            cur = PackedRow(list(p))
            rows.append(cur)
        cur.spans.append((len(cur.ids), len(cur.ids) + len(r)))
        cur.members.append(members[k])
        cur.ids.extend(r)
    return rows


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
    chunk_tokens: int | None = None,
) -> ResponseScores:
    """Log-probability of each response token given its prompt and the response
    so far: :func:`packed_logprobs` with one row per (prompt, response) pair.

    >>> from agentgym.policies.hf import HFPolicy                 # doctest: +SKIP
    >>> p = HFPolicy.tiny()                                       # doctest: +SKIP
    >>> s = response_logprobs(p.model, [[1, 2, 3]], [[4, 5]], pad_token_id=0)  # doctest: +SKIP
    >>> s.logprobs.shape                                          # doctest: +SKIP
    torch.Size([1, 2])
    """
    if len(prompts) != len(responses):
        raise ConfigError(f"response_logprobs: {len(prompts)} prompts but {len(responses)} responses.")
    if any(len(p) == 0 for p in prompts):
        raise ConfigError("response_logprobs: every prompt needs at least one token (the response's first "
                          "token is predicted from the prompt's last).")
    rows = [PackedRow(list(p) + list(r), [(len(p), len(p) + len(r))], [i])
            for i, (p, r) in enumerate(zip(prompts, responses, strict=True))]
    scores, _ = packed_logprobs(model, rows, pad_token_id=pad_token_id, temperature=temperature,
                                with_entropy=with_entropy, micro_batch_size=micro_batch_size,
                                share_prefix=share_prefix, chunk_tokens=chunk_tokens)
    return scores


def packed_logprobs(
    model: Any,
    rows: Sequence[PackedRow],
    *,
    pad_token_id: int,
    temperature: float = 1.0,
    with_entropy: bool = False,
    entropy_grad: bool = True,
    micro_batch_size: int | None = None,
    share_prefix: int = 32,
    context: bool = False,
    chunk_tokens: int | None = None,
) -> tuple[ResponseScores, ResponseScores | None]:
    """Score every member's response: ``ResponseScores`` of shape
    ``(n_members, R_max)``, one row per member in increasing member id (the
    numbers a per-turn forward would give). With ``context=True`` also the
    context tokens (:attr:`PackedRow.context`), one row per context span, in
    row order.

    Gradients flow unless called under ``torch.no_grad()``; ``entropy_grad=False``
    computes the entropy without them (a logged statistic, not a loss term).
    Rows are scored ``micro_batch_size`` at a time (all at once by default);
    prefixes shared by at least ``share_prefix`` tokens are computed once (``0``
    turns that off); ``chunk_tokens`` positions at a time reach the output layer
    (default: as many as fit 2**24 float32 logits, at least 64). See the module docstring.
    """
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0 for log-probabilities, got {temperature} (use 1.0 for greedy).")
    if chunk_tokens is not None and chunk_tokens < 1:
        raise ConfigError(f"chunk_tokens must be >= 1 (or None for the default), got {chunk_tokens}.")
    members = sorted(m for r in rows for m in r.members)
    if len(set(members)) != len(members):
        raise ConfigError("packed_logprobs: a member id appears twice across rows.")
    if any(not r.spans for r in rows):
        raise ConfigError("packed_logprobs: a row without responses to score.")
    device = _device(model)
    size = micro_batch_size or max(1, len(rows))
    want = _Want(temperature, with_entropy, entropy_grad, context, chunk_tokens)
    resp: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
    ctx: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    for s in range(0, len(rows), size):
        r_out, c_out = _score_rows(model, rows[s : s + size], pad_token_id, want, share_prefix, device)
        resp.update(r_out)
        ctx.extend(c_out)
    responses = _stack([resp[m] for m in members], with_entropy, device)
    return responses, (_stack(ctx, with_entropy, device) if context else None)


@dataclass(frozen=True)
class _Want:
    temperature: float
    entropy: bool
    entropy_grad: bool
    context: bool
    chunk_tokens: int | None


def _device(model: Any) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - a model without parameters
        return torch.device("cpu")


def _stack(parts: list[tuple[torch.Tensor, torch.Tensor | None]], with_entropy: bool, device: torch.device) -> ResponseScores:
    width = max((lp.numel() for lp, _ in parts), default=0)
    logprobs = torch.zeros((len(parts), width), device=device)
    mask = torch.zeros((len(parts), width), dtype=torch.bool, device=device)
    entropy = torch.zeros((len(parts), width), device=device) if with_entropy else None
    if not parts or width == 0:
        return ResponseScores(logprobs, mask, entropy)
    # One scatter: differentiable into every part.
    rows = torch.cat([torch.full((lp.numel(),), i, device=device) for i, (lp, _) in enumerate(parts)])
    cols = torch.cat([torch.arange(lp.numel(), device=device) for lp, _ in parts])
    logprobs = logprobs.index_put((rows, cols), torch.cat([lp for lp, _ in parts]))
    mask[rows, cols] = True
    if entropy is not None:
        entropy = entropy.index_put((rows, cols), torch.cat([e for _, e in parts if e is not None]))
    return ResponseScores(logprobs, mask, entropy)


# ----------------------------------------------------------------------
# One micro-batch
# ----------------------------------------------------------------------
def _score_rows(
    model: Any, rows: Sequence[PackedRow], pad: int, want: _Want, share_prefix: int, device: torch.device,
) -> tuple[dict[int, tuple[torch.Tensor, torch.Tensor | None]], list[tuple[torch.Tensor, torch.Tensor | None]]]:
    caps = _capabilities(model)
    wanted = [list(r.spans) + (list(r.context) if want.context else []) for r in rows]
    plan = _plan_prefixes([r.ids for r in rows], [min(a for a, _ in w) - 1 for w in wanted],
                          share_prefix if caps.cache_arg else 0)
    b = len(rows)
    offsets = plan.offsets  # row i's own tokens start at ids[offsets[i]]
    L = max(len(r.ids) - o for r, o in zip(rows, offsets, strict=True))
    ids = torch.full((b, L), pad, dtype=torch.long)
    own = torch.zeros((b, L), dtype=torch.long)
    keep = torch.zeros((b, L), dtype=torch.bool)  # positions whose prediction is used
    for i, (r, o) in enumerate(zip(rows, offsets, strict=True)):
        ids[i, : len(r.ids) - o] = torch.as_tensor(r.ids[o:], dtype=torch.long)
        own[i, : len(r.ids) - o] = 1
        for a, e in wanted[i]:
            keep[i, a - 1 - o : e - 1 - o] = True  # token j is predicted at position j - 1
    pos = torch.as_tensor(offsets)[:, None] + torch.arange(L)[None]  # (b, L): positions count real tokens
    ids, own, keep, pos = ids.to(device), own.to(device), keep.to(device), pos.to(device)
    cache, prefix_mask = _prefix_cache(model, caps, plan, rows, pad, device)
    attn = torch.cat([prefix_mask, own], dim=1) if prefix_mask is not None else own
    targets = torch.roll(ids, shifts=-1, dims=1)[keep]  # (K,): the token after each kept position
    source, head = _kept_states(model, caps, ids, attn, pos, keep, cache)  # (K, H) or (K, V)
    lp, ent = _token_scores(source, head, targets, want)  # (K,), (K,) or None
    # Split the flat (row-major) kept positions back into spans.
    index = torch.full((b, L), -1, dtype=torch.long, device=device)
    index[keep] = torch.arange(int(keep.sum()), device=device)
    resp: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
    ctx: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    for i, (r, o) in enumerate(zip(rows, offsets, strict=True)):
        for k, (a, e) in enumerate(wanted[i]):
            sel = index[i, a - 1 - o : e - 1 - o]
            part = (lp[sel], ent[sel] if ent is not None else None)
            if k < len(r.spans):
                resp[r.members[k]] = part
            else:
                ctx.append(part)
    return resp, ctx


# ----------------------------------------------------------------------
# Shared prefixes
# ----------------------------------------------------------------------
@dataclass
class _Plan:
    """``shared``: level-0 length (every row); ``clusters``: (row indices, absolute
    prefix length) of the level-1 prefixes (only clusters of >= 2 rows)."""

    shared: int
    clusters: list[tuple[list[int], int]]
    offsets: list[int]


def _plan_prefixes(ids: Sequence[Sequence[int]], limits: Sequence[int], share_prefix: int) -> _Plan:
    """Level 0: the prefix every row shares; level 1: runs of adjacent rows that
    share ``share_prefix`` more tokens. A row joins the current run while that
    does not lower the tokens the run saves (``m`` rows sharing ``e`` tokens
    save ``(m - 1) e``). ``limits[i]``: row i's first scored position minus one
    (the position predicting it must stay in the row's own forward)."""
    b = len(ids)
    if share_prefix <= 0 or b < 2:
        return _Plan(0, [], [0] * b)
    shared = common_prefix_length(ids, limit=min(limits))
    if shared < share_prefix:
        shared = 0
    runs: list[tuple[list[int], int]] = []
    for i in range(b):
        if runs:
            members, n = runs[-1]
            n2 = common_prefix_length([ids[members[0]], ids[i]], limit=min(n, limits[i]))
            m = len(members)
            if n2 - shared >= share_prefix and m * (n2 - shared) >= (m - 1) * (n - shared):
                runs[-1] = (members + [i], n2)
                continue
        runs.append(([i], limits[i]))
    clusters = [(members, n) for members, n in runs if len(members) > 1]
    offsets = [shared] * b
    for members, n in clusters:
        for i in members:
            offsets[i] = n
    return _Plan(shared, clusters, offsets)


def _prefix_cache(model: Any, caps: _Caps, plan: _Plan, rows: Sequence[PackedRow], pad: int,
                  device: torch.device) -> tuple[Any, torch.Tensor | None]:
    """Keys/values of every row's shared prefix (level 0, then its cluster's
    level 1), ``(b, heads, P, d)`` per layer, and the ``(b, P)`` mask of which of
    those ``P`` positions hold real tokens of the row's prefix."""
    b, S = len(rows), plan.shared
    if not S and not plan.clusters:
        return None, None
    layers: list[tuple[torch.Tensor, torch.Tensor]] = []
    if S:  # level 0: once, batch 1
        layers = _run_prefix(model, caps, torch.as_tensor([rows[0].ids[:S]], device=device), None, None, None)
    if not plan.clusters:
        return _cache([(k.expand(b, *k.shape[1:]), v.expand(b, *v.shape[1:])) for k, v in layers]), \
            torch.ones((b, S), dtype=torch.long, device=device)
    # Level 1: one batch of the clusters' prefixes, right-padded, continuing from level 0.
    C = len(plan.clusters)
    N = max(n for _, n in plan.clusters) - S
    ids1 = torch.full((C, N), pad, dtype=torch.long)
    m1 = torch.zeros((C, N), dtype=torch.long)
    for c, (members, n) in enumerate(plan.clusters):
        ids1[c, : n - S] = torch.as_tensor(rows[members[0]].ids[S:n], dtype=torch.long)
        m1[c, : n - S] = 1
    ids1, m1 = ids1.to(device), m1.to(device)
    attn1 = torch.cat([m1.new_ones((C, S)), m1], dim=1)
    pos1 = (S + torch.arange(N, device=device))[None].expand(C, -1)
    past = _cache([(k.expand(C, *k.shape[1:]), v.expand(C, *v.shape[1:])) for k, v in layers]) if S else None
    layers1 = _run_prefix(model, caps, ids1, attn1, pos1, past)  # (C, h, S + N, d)
    # Rows outside every cluster continue from level 0 alone: a masked-out filler.
    cluster_of = torch.full((b,), C, dtype=torch.long)
    for c, (members, _) in enumerate(plan.clusters):
        cluster_of[members] = c
    cluster_of = cluster_of.to(device)
    gathered = []
    for j, (k1, v1) in enumerate(layers1):
        k0, v0 = (layers[j] if S else (k1[:1, :, :0], v1[:1, :, :0]))
        filler_k = torch.cat([k0, k0.new_zeros((1, k0.shape[1], N, k0.shape[3]))], dim=2)
        filler_v = torch.cat([v0, v0.new_zeros((1, v0.shape[1], N, v0.shape[3]))], dim=2)
        gathered.append((torch.cat([k1, filler_k]).index_select(0, cluster_of),
                         torch.cat([v1, filler_v]).index_select(0, cluster_of)))
    mask = torch.cat([torch.ones((b, S), dtype=torch.long, device=device),
                      torch.cat([m1, m1.new_zeros((1, N))]).index_select(0, cluster_of)], dim=1)
    return _cache(gathered), mask


def _run_prefix(model: Any, caps: _Caps, ids: torch.Tensor, attn: torch.Tensor | None, pos: torch.Tensor | None,
                past: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    kwargs: dict[str, Any] = {"input_ids": ids, "use_cache": True}
    if attn is not None:
        kwargs.update(attention_mask=attn, position_ids=pos)
    if past is not None:
        kwargs[caps.cache_arg] = past
    if caps.logits_to_keep:
        kwargs["logits_to_keep"] = 1  # only the keys/values are wanted
    # Past a DDP wrapper: its forward is a collective (buffer broadcast), which every
    # process must call equally often, and how many prefix passes a micro-batch needs
    # differs between processes. Gradients still reach DDP's hooks in the backward.
    out = _without_ddp(model)(**kwargs)
    cache = getattr(out, "cache", None)
    if cache is None:  # transformers before the ``cache`` argument
        cache = out.past_key_values
    return [(layer.keys, layer.values) for layer in cache.layers]


def _cache(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> Any:
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=layers)


# ----------------------------------------------------------------------
# The kept positions, and their scores in chunks
# ----------------------------------------------------------------------
def _kept_states(model: Any, caps: _Caps, ids: torch.Tensor, attn: torch.Tensor, pos: torch.Tensor,
                 keep: torch.Tensor, cache: Any) -> tuple[torch.Tensor, Any]:
    """``(hidden states at the kept positions, output layer)`` for a standard
    causal LM; ``(logits at the kept positions, None)`` otherwise. Row-major."""
    kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": attn, "position_ids": pos}
    if caps.use_cache:
        kwargs["use_cache"] = cache is not None  # no new cache for the rows (memory)
    if cache is not None:
        kwargs[caps.cache_arg] = cache
    if caps.head is not None:
        captured: list[torch.Tensor] = []

        def take(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
            captured.append(args[0])  # (b, L, H): the final hidden states
            return (args[0][..., :0, :], *args[1:])  # the model computes no logits itself

        handle = caps.head.register_forward_pre_hook(take)
        try:
            model(**kwargs)
        finally:
            handle.remove()
        return captured[0][keep], caps.head
    cols = keep.any(0).nonzero().squeeze(-1)  # columns where some row keeps a position
    if caps.logits_to_keep:
        kwargs["logits_to_keep"] = cols
    logits = _logits(model(**kwargs))
    if logits.shape[1] != cols.numel():  # the model ignored logits_to_keep: every position
        logits = logits[:, cols]
    return logits[keep[:, cols]], None


def _logits(out: Any) -> torch.Tensor:
    """The logits of a forward's output (a model output, a tuple, or the tensor itself)."""
    if isinstance(out, torch.Tensor):
        return out
    return out.logits if hasattr(out, "logits") else out[0]


def _token_scores(source: torch.Tensor, head: Any, targets: torch.Tensor,
                  want: _Want) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probability of each target and the entropy, ``chunk_tokens``
    positions at a time; with gradients and more than one chunk, each chunk's
    logits are recomputed in the backward instead of kept (exact gradients,
    bounded memory, one more output-layer matmul per position)."""
    K = source.shape[0]
    V = head.out_features if head is not None and hasattr(head, "out_features") else source.shape[-1]
    size = want.chunk_tokens or max(MIN_CHUNK_TOKENS, CHUNK_ELEMENTS // max(int(V), 1))
    # One chunk is kept for the backward as it is (nothing to bound, no recomputation).
    grad = K > size and torch.is_grad_enabled() and (
        source.requires_grad or any(p.requires_grad for p in getattr(head, "parameters", list)()))
    lps, ents = [], []
    for s in range(0, K, size):
        args = (source[s : s + size], targets[s : s + size])
        if grad:
            lp, ent = checkpoint(_chunk, head, *args, want, use_reentrant=False)
        else:
            lp, ent = _chunk(head, *args, want)
        lps.append(lp)
        ents.append(ent)
    lp = torch.cat(lps) if lps else source.new_zeros((0,), dtype=torch.float32)
    if not want.entropy:
        return lp, None
    return lp, (torch.cat(ents) if ents else lp.new_zeros((0,)))


def _chunk(head: Any, x: torch.Tensor, targets: torch.Tensor, want: _Want) -> tuple[torch.Tensor, torch.Tensor | None]:
    logits = (head(x) if head is not None else x).float() / want.temperature  # (n, V)
    logp = torch.log_softmax(logits, dim=-1)
    lp = logp.gather(-1, targets[:, None]).squeeze(-1)  # (n,)
    if not want.entropy:
        return lp, None
    if want.entropy_grad:
        return lp, -(logp.exp() * logp).sum(-1)
    with torch.no_grad():
        return lp, -(logp.exp() * logp).sum(-1)


# ----------------------------------------------------------------------
# What a model supports (read once per model)
# ----------------------------------------------------------------------
@dataclass
class _Caps:
    cache_arg: str | None  # "cache" or "past_key_values": prefix sharing; None: no sharing
    logits_to_keep: bool  # forward takes logits_to_keep
    use_cache: bool  # forward takes use_cache
    head: Any  # the output layer whose input is taken (None: score from the model's logits)


_CAPS: weakref.WeakKeyDictionary[Any, _Caps] = weakref.WeakKeyDictionary()


def _capabilities(model: Any) -> _Caps:
    caps = _CAPS.get(model)
    if caps is None:
        caps = _CAPS[model] = _probe(model)
    return caps


def _without_ddp(model: Any) -> Any:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _unwrap(model: Any) -> Any:
    """The transformers model inside DDP and peft wrappers (whose forwards take ``**kwargs``)."""
    while True:
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            inner = _without_ddp(model)
        elif callable(getattr(type(model), "get_base_model", None)):
            inner = model.get_base_model()
        else:
            return model
        if inner is model:
            return model
        model = inner


def _probe(model: Any) -> _Caps:
    params = inspect.signature(_unwrap(model).forward).parameters
    cache_arg = next((n for n in ("cache", "past_key_values") if n in params), None)
    caps = _Caps(cache_arg, "logits_to_keep" in params, "use_cache" in params, None)
    caps.head = _standard_head(model)
    logger.debug("scorer: %s shares prefixes via %s, scores from %s", type(_unwrap(model)).__name__,
                 cache_arg, "hidden states" if caps.head is not None else "logits")
    return caps


def _standard_head(model: Any) -> Any:
    """The output layer if the model's logits are exactly ``head(its input)``
    (one probe forward of three tokens); None for sharded (FSDP) models, models
    without ``get_output_embeddings`` and models that transform the logits
    (soft-capping, scaling)."""
    inner = _without_ddp(model)
    if any("FullyShardedDataParallel" in type(m).__name__ or type(m).__name__.startswith("FSDP")
           for m in inner.modules()):
        return None
    get = getattr(inner, "get_output_embeddings", None)
    head = get() if callable(get) else None
    if not isinstance(head, torch.nn.Module):
        return None
    seen: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    was_training = inner.training
    inner.eval()
    try:
        with torch.no_grad():
            # Not id 0: often the padding token, whose zero embedding can give all-zero logits.
            ids = torch.arange(1, 4, device=_device(inner))[None] % max(int(getattr(head, "out_features", 4)), 4)
            logits = _logits(inner(input_ids=ids))
            ok = len(seen) == 1 and torch.equal(head(seen[0]).float(), logits.float())
    finally:
        handle.remove()
        inner.train(was_training)
    return head if ok else None
