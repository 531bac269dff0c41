"""The training losses, as pure functions of tensors (one copy of each formula).

Shapes: ``B`` sequences (turns), ``R`` response tokens (right-padded); ``mask``
is True on real response tokens. Every loss is a *token mean*: a sum over all
response tokens divided by ``num_tokens`` — by default the mask's count, but the
trainer passes the count of the whole mini-batch (all micro-batches and all
processes), so that gradient accumulation and data parallelism give exactly the
gradient of one big batch.

>>> import torch
>>> lp = torch.zeros(1, 2, requires_grad=True)
>>> out = policy_loss(lp, torch.zeros(1, 2), torch.tensor([1.0]), torch.ones(1, 2, dtype=torch.bool))
>>> round(float(out.loss), 4), out.stats["clip_frac"]
(-1.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["LossOutput", "policy_loss", "kl_k3", "sft_loss", "masked_sum"]


@dataclass
class LossOutput:
    """``loss``: the scalar to back-propagate. ``stats``: token *sums* of the
    diagnostics (``pg``, ``kl``, ``entropy``, ``clip_frac``, ``ratio``,
    ``approx_kl_old``) plus ``tokens``; divide by the total token count to log
    them (:func:`agentgym.train.loop` does)."""

    loss: torch.Tensor
    stats: dict[str, float]


def masked_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of ``x`` over the positions where ``mask`` is True."""
    return torch.where(mask, x, torch.zeros_like(x)).sum()


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """Per-token low-variance KL(pi || ref) estimator ``k3 = r - 1 - log r`` with
    ``r = pi_ref / pi`` (Schulman, 2020): unbiased, always >= 0.

    >>> float(kl_k3(torch.tensor([0.0]), torch.tensor([0.0])))
    0.0
    """
    log_r = (ref_logprobs - logprobs).clamp(-20.0, 20.0)  # guards exp() against overflow
    return torch.exp(log_r) - log_r - 1.0


def policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_eps_low: float = 0.2,
    clip_eps_high: float = 0.28,
    ref_logprobs: torch.Tensor | None = None,
    kl_coef: float = 0.0,
    entropy: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
    num_tokens: float | None = None,
) -> LossOutput:
    """PPO-clip policy-gradient loss with optional KL and entropy terms, token-mean.

    Args:
        logprobs: ``(B, R)`` log-probabilities of the response tokens under the
            policy being trained (with grad).
        old_logprobs: ``(B, R)`` the same under the policy that sampled them.
        advantages: ``(B,)`` one per sequence (a turn), or ``(B, R)`` per token.
        mask: ``(B, R)`` bool, True on response tokens.
        clip_eps_low, clip_eps_high: the ratio is clipped to
            ``[1 - clip_eps_low, 1 + clip_eps_high]`` (asymmetric: DAPO).
        ref_logprobs: ``(B, R)`` under the reference policy, for the k3 KL.
        entropy: ``(B, R)`` per-token entropy of the policy, for the bonus.
        num_tokens: the token count to divide by (default: ``mask.sum()``).
    """
    mask = mask.bool()
    if advantages.dim() == 1:
        advantages = advantages[:, None].expand_as(logprobs)  # (B,) -> (B, R)
    advantages = advantages.to(logprobs.dtype)
    denom = float(num_tokens) if num_tokens is not None else float(mask.sum().clamp_min(1))

    log_ratio = logprobs - old_logprobs.detach()  # (B, R)
    ratio = torch.exp(log_ratio.clamp(-20.0, 20.0))
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - clip_eps_low, 1.0 + clip_eps_high)
    pg = torch.maximum(unclipped, clipped)  # (B, R): the pessimistic bound
    per_token = pg
    stats: dict[str, float] = {}
    if ref_logprobs is not None:
        kl = kl_k3(logprobs, ref_logprobs.detach())  # (B, R)
        if kl_coef:
            per_token = per_token + kl_coef * kl
        stats["kl"] = float(masked_sum(kl.detach(), mask))
    if entropy is not None:
        if entropy_coef:
            per_token = per_token - entropy_coef * entropy
        stats["entropy"] = float(masked_sum(entropy.detach(), mask))
    loss = masked_sum(per_token, mask) / denom

    with torch.no_grad():
        stats["pg"] = float(masked_sum(pg, mask))
        stats["clip_frac"] = float(masked_sum((clipped > unclipped).to(pg.dtype), mask))
        stats["ratio"] = float(masked_sum(ratio, mask))
        stats["approx_kl_old"] = float(masked_sum(0.5 * log_ratio.pow(2), mask))
        stats["tokens"] = float(mask.sum())
    return LossOutput(loss, stats)


def sft_loss(logprobs: torch.Tensor, mask: torch.Tensor, *, num_tokens: float | None = None) -> LossOutput:
    """Behaviour cloning: the token-mean negative log-likelihood of the responses.

    >>> lp = torch.log(torch.tensor([[0.5, 0.25]]))
    >>> round(float(sft_loss(lp, torch.ones(1, 2, dtype=torch.bool)).loss), 4)
    1.0397
    """
    mask = mask.bool()
    denom = float(num_tokens) if num_tokens is not None else float(mask.sum().clamp_min(1))
    nll = masked_sum(-logprobs, mask)
    return LossOutput(nll / denom, {"nll": float(nll.detach()), "tokens": float(mask.sum())})
