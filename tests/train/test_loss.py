"""The PPO-clip, KL and SFT losses against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.train.loss import kl_k3, policy_loss, sft_loss


def _ones(b: int, r: int) -> torch.Tensor:
    return torch.ones(b, r, dtype=torch.bool)


def test_on_policy_loss_is_minus_mean_advantage_and_gradient_is_advantage() -> None:
    lp = torch.zeros(2, 3, requires_grad=True)
    mask = torch.tensor([[True, True, True], [True, False, False]])
    adv = torch.tensor([1.0, -2.0])
    out = policy_loss(lp, lp.detach(), adv, mask)
    # token mean over 4 tokens: -(1 + 1 + 1 - 2) / 4
    assert float(out.loss.detach()) == pytest.approx(-0.25)
    out.loss.backward()
    # d(-A * ratio)/d logp = -A * ratio / n_tokens on real tokens, 0 on padding
    assert lp.grad.flatten().tolist() == pytest.approx([-0.25, -0.25, -0.25, 0.5, 0.0, 0.0])
    assert out.stats["tokens"] == 4.0 and out.stats["clip_frac"] == 0.0


def test_ratio_clipping_is_asymmetric_and_pessimistic() -> None:
    old = torch.zeros(1, 4)
    ratios = torch.tensor([[0.5, 0.9, 1.2, 1.5]])
    lp = torch.log(ratios).requires_grad_(True)
    mask = _ones(1, 4)
    pos = policy_loss(lp, old, torch.tensor([1.0]), mask, clip_eps_low=0.2, clip_eps_high=0.28)
    # A > 0: min(r, clip(r)) -> 0.5, 0.9, 1.2, 1.28 ; loss = -mean
    assert float(pos.loss) == pytest.approx(-(0.5 + 0.9 + 1.2 + 1.28) / 4)
    assert pos.stats["clip_frac"] == 1.0  # only r = 1.5 is clipped
    pos.loss.backward()
    assert lp.grad[0, 3] == 0.0 and lp.grad[0, 0] != 0.0  # clipped token has no gradient
    lp.grad = None
    neg = policy_loss(lp, old, torch.tensor([-1.0]), mask, clip_eps_low=0.2, clip_eps_high=0.28)
    # A < 0: max(-A r, -A clip(r)) = max(r, clip(r)) -> 0.8, 0.9, 1.2, 1.5
    assert float(neg.loss) == pytest.approx((0.8 + 0.9 + 1.2 + 1.5) / 4)
    assert neg.stats["clip_frac"] == 1.0  # only r = 0.5 is clipped


def test_num_tokens_makes_micro_batches_add_up_to_the_full_batch() -> None:
    torch.manual_seed(0)
    lp = torch.randn(4, 5, requires_grad=True)
    old = lp.detach() + 0.1 * torch.randn(4, 5)
    adv = torch.randn(4)
    mask = torch.rand(4, 5) > 0.3
    full = policy_loss(lp, old, adv, mask).loss
    n = float(mask.sum())
    parts = sum(policy_loss(lp[i : i + 2], old[i : i + 2], adv[i : i + 2], mask[i : i + 2], num_tokens=n).loss
                for i in (0, 2))
    assert float(parts) == pytest.approx(float(full), rel=1e-6)


def test_k3_kl_values_and_its_term_in_the_loss() -> None:
    lp = torch.log(torch.tensor([[0.5, 0.25]]))
    ref = torch.log(torch.tensor([[0.25, 0.25]]))
    # r = ref/pi: 0.5 -> 0.5 - 1 - log 0.5 ; 1 -> 0
    k = kl_k3(lp, ref)
    assert k.flatten().tolist() == pytest.approx([0.5 - 1 - math.log(0.5), 0.0])
    with_kl = policy_loss(lp, lp, torch.tensor([0.0]), _ones(1, 2), ref_logprobs=ref, kl_coef=0.1)
    assert float(with_kl.loss) == pytest.approx(0.1 * float(k.mean()))
    assert with_kl.stats["kl"] == pytest.approx(float(k.sum()))
    assert (kl_k3(torch.randn(100), torch.randn(100)) >= 0).all()


def test_entropy_bonus_lowers_the_loss() -> None:
    lp = torch.zeros(1, 2)
    ent = torch.tensor([[1.0, 3.0]])
    out = policy_loss(lp, lp, torch.tensor([0.0]), _ones(1, 2), entropy=ent, entropy_coef=0.01)
    assert float(out.loss) == pytest.approx(-0.01 * 2.0)
    assert out.stats["entropy"] == 4.0


def test_sft_loss_is_token_mean_nll() -> None:
    lp = torch.log(torch.tensor([[0.5, 0.25, 1.0]]))
    mask = torch.tensor([[True, True, False]])
    assert float(sft_loss(lp, mask).loss) == pytest.approx((math.log(2) + math.log(4)) / 2)
