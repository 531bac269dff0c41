"""Packed scoring: every turn of a conversation in one row.

With a full history, turn ``t+1``'s prompt is turn ``t``'s prompt, its response
and the next observation, so the per-turn rows of one episode repeat each
other: an episode of ``T`` turns and ``L`` tokens costs ``~T·L/2`` token
forwards scored turn by turn. Packing scores **one row per episode** (the last
prompt followed by the last response) and reads every turn's response
log-probabilities off it. Attention is causal, so the prediction at position
``j`` depends on tokens ``< j`` only: the numbers equal the per-turn forward's
to float precision (tested), at the cost of one forward over ``L`` tokens.

A link is packed only when it holds token for token (turn ``t+1``'s recorded
prompt ids start with turn ``t``'s prompt and response ids); otherwise the chain
is cut there and the rest becomes a new row. With a history window the prompt
drops old turns, so nothing chains and every turn is its own row: packing is
always correct, and a speed-up where histories are full.

Rows that share a prefix (the system prompt and tool list) compute it once, as
:func:`agentgym.logprobs.response_logprobs` does, and only the positions whose
predictions are used reach the output layer (the logits over a 49k vocabulary
would otherwise dominate).

>>> rows = pack_chain([[1, 2], [1, 2, 3, 4, 5]], [[3, 4], [6]])
>>> [(r.ids, r.spans) for r in rows]
[([1, 2, 3, 4, 5, 6], [(2, 4), (5, 6)])]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from agentgym.errors import ConfigError
from agentgym.logprobs import ResponseScores, _device, _shared_past, common_prefix_length

__all__ = ["PackedRow", "pack_chain", "packed_logprobs"]


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


def packed_logprobs(
    model: Any,
    rows: Sequence[PackedRow],
    *,
    pad_token_id: int,
    temperature: float = 1.0,
    with_entropy: bool = False,
    micro_batch_size: int | None = None,
    share_prefix: int = 32,
    context: bool = False,
) -> tuple[ResponseScores, ResponseScores | None]:
    """Score every member's response: ``ResponseScores`` of shape
    ``(n_members, R_max)``, one row per member in increasing member id, as
    :func:`~agentgym.logprobs.response_logprobs` would return for the per-turn
    prompts and responses. With ``context=True`` also the context tokens
    (:attr:`PackedRow.context`), one row per context span, in row order.
    Gradients flow unless called under ``torch.no_grad()``."""
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0 for log-probabilities, got {temperature}.")
    members = sorted(m for r in rows for m in r.members)
    if len(set(members)) != len(members):
        raise ConfigError("packed_logprobs: a member id appears twice across rows.")
    if any(not r.spans for r in rows):
        raise ConfigError("packed_logprobs: a row without responses to score.")
    device = _device(model)
    size = micro_batch_size or max(1, len(rows))
    resp: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
    ctx: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    for s in range(0, len(rows), size):
        r_out, c_out = _score_rows(model, rows[s : s + size], pad_token_id, temperature, with_entropy, device,
                                   share_prefix, context)
        resp.update(r_out)
        ctx.extend(c_out)
    responses = _stack([resp[m] for m in members], with_entropy, device)
    return responses, (_stack(ctx, with_entropy, device) if context else None)


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


def _score_rows(
    model: Any, rows: Sequence[PackedRow], pad: int, temperature: float, with_entropy: bool, device: torch.device,
    share_prefix: int, context: bool,
) -> tuple[dict[int, tuple[torch.Tensor, torch.Tensor | None]], list[tuple[torch.Tensor, torch.Tensor | None]]]:
    b = len(rows)
    # Token j is predicted at position j-1; the first scored token of a row is its
    # first response token, so a prefix ending before that position can be shared.
    first = min(r.spans[0][0] for r in rows)
    shared = common_prefix_length([r.ids for r in rows], limit=first - 1) if share_prefix > 0 and b > 1 else 0
    if shared < max(share_prefix, 1):
        shared = 0
    L = max(len(r.ids) for r in rows) - shared
    ids = torch.full((b, L), pad, dtype=torch.long)
    attn = torch.zeros((b, shared + L), dtype=torch.long)
    attn[:, :shared] = 1
    keep = torch.zeros((b, L), dtype=torch.bool)  # positions whose prediction is used
    wanted: list[list[tuple[int, int]]] = []
    for i, r in enumerate(rows):
        n = len(r.ids) - shared
        ids[i, :n] = torch.as_tensor(r.ids[shared:], dtype=torch.long)
        attn[i, shared : shared + n] = 1
        spans = list(r.spans) + (list(r.context) if context else [])
        wanted.append(spans)
        for a, e in spans:
            keep[i, a - 1 - shared : e - 1 - shared] = True
    pos = torch.arange(shared, shared + L)[None].expand(b, -1)
    ids, attn, keep, pos = ids.to(device), attn.to(device), keep.to(device), pos.to(device)
    prefix = rows[0].ids[:shared]

    def make_past() -> Any:
        return _shared_past(model, prefix, b, device) if shared else None

    logits = _kept_logits(model, ids, attn, pos, keep, make_past).float() / temperature  # (K, V), row-major order of keep
    logp_all = torch.log_softmax(logits, dim=-1)
    # Targets: the token after each kept position.
    targets = torch.roll(ids, shifts=-1, dims=1)[keep]
    lp = logp_all.gather(-1, targets[:, None]).squeeze(-1)  # (K,)
    ent = -(logp_all.exp() * logp_all).sum(-1) if with_entropy else None
    # Split the flat (row-major) kept positions back into spans.
    index = torch.full((b, L), -1, dtype=torch.long, device=device)
    index[keep] = torch.arange(int(keep.sum()), device=device)
    resp: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
    ctx: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    for i, r in enumerate(rows):
        for k, (a, e) in enumerate(wanted[i]):
            sel = index[i, a - 1 - shared : e - 1 - shared]
            part = (lp[sel], ent[sel] if ent is not None else None)
            if k < len(r.spans):
                resp[r.members[k]] = part
            else:
                ctx.append(part)
    return resp, ctx


def _kept_logits(model: Any, ids: torch.Tensor, attn: torch.Tensor, pos: torch.Tensor, keep: torch.Tensor,
                 make_past: Any) -> torch.Tensor:
    """Logits at the ``keep`` positions, ``(keep.sum(), V)`` in row-major order.
    Models whose ``logits_to_keep`` takes no boolean mask compute every logit
    (a fresh shared cache: the failed call may have extended the first)."""
    def run(**extra: Any) -> torch.Tensor:
        past = make_past()
        kwargs: dict[str, Any] = {"use_cache": past is not None, **extra}
        if past is not None:
            kwargs["past_key_values"] = past
        out = model(input_ids=ids, attention_mask=attn, position_ids=pos, **kwargs)
        return out.logits if hasattr(out, "logits") else out[0]

    try:
        logits = run(logits_to_keep=keep)
        if logits.dim() == 2 and logits.shape[0] == int(keep.sum()):
            return logits
    except (TypeError, IndexError, RuntimeError, ValueError):
        pass
    return run()[keep]
