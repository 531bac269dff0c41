"""Packed scoring equals per-turn scoring: log-probs, entropies and gradients."""

from __future__ import annotations

import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.logprobs import response_logprobs
from agentgym.packing import PackedRow, pack_chain, packed_logprobs
from agentgym.policies.hf import HFPolicy


@pytest.fixture(scope="module")
def tiny() -> HFPolicy:
    return HFPolicy.tiny(seed=0)


def _conversation(g: torch.Generator, system: list[int], turns: int) -> tuple[list[list[int]], list[list[int]]]:
    """Prompts and responses of one full-history conversation."""
    prompts, responses, seq = [], [], list(system) + torch.randint(3, 400, (5,), generator=g).tolist()
    for _ in range(turns):
        prompts.append(list(seq))
        r = torch.randint(3, 400, (int(torch.randint(1, 6, (1,), generator=g)),), generator=g).tolist()
        responses.append(r)
        seq += r + torch.randint(3, 400, (int(torch.randint(2, 9, (1,), generator=g)),), generator=g).tolist()
    return prompts, responses


def test_pack_chain_cuts_where_the_tokens_do_not_chain() -> None:
    rows = pack_chain([[1, 2], [1, 2, 3, 9], [7, 7], [7, 7, 8, 5]], [[3], [4], [8], [6]], members=[10, 11, 12, 13])
    assert [(r.ids, r.spans, r.members) for r in rows] == [
        ([1, 2, 3, 9, 4], [(2, 3), (4, 5)], [10, 11]),
        ([7, 7, 8, 5, 6], [(2, 3), (4, 5)], [12, 13]),
    ]
    assert rows[0].context == [(3, 4)] and rows[1].context == [(3, 4)]
    assert rows[0].only([11]).spans == [(4, 5)] and rows[0].only([11]).context == [(3, 4)]
    with pytest.raises(ConfigError):
        pack_chain([[1]], [])


@pytest.mark.parametrize("micro_batch_size", [None, 2])
def test_packed_scores_equal_per_turn_scores(tiny: HFPolicy, micro_batch_size: int | None) -> None:
    g = torch.Generator().manual_seed(1)
    system = torch.randint(3, 400, (40,), generator=g).tolist()
    prompts, responses, rows = [], [], []
    for turns in (3, 1, 4):
        p, r = _conversation(g, system, turns)
        rows += pack_chain(p, r, members=range(len(prompts), len(prompts) + turns))
        prompts += p
        responses += r
    assert len(rows) == 3  # one row per conversation
    results = []
    for packed in (False, True):
        tiny.model.zero_grad(set_to_none=True)
        if packed:
            s, _ = packed_logprobs(tiny.model, rows, pad_token_id=tiny.pad_token_id, with_entropy=True,
                                   micro_batch_size=micro_batch_size, temperature=0.7)
        else:
            s = response_logprobs(tiny.model, prompts, responses, pad_token_id=tiny.pad_token_id, with_entropy=True,
                                  temperature=0.7, share_prefix=0)
        assert s.entropy is not None
        (s.sums().sum() + 0.1 * s.entropy.sum()).backward()
        grads = torch.cat([p.grad.flatten() for p in tiny.model.parameters()])
        results.append((s.logprobs.detach(), s.mask, s.entropy.detach(), grads))
    tiny.model.zero_grad(set_to_none=True)
    (lp0, m0, e0, g0), (lp1, m1, e1, g1) = results
    assert torch.equal(m0, m1)
    assert torch.allclose(lp0, lp1, atol=1e-5) and torch.allclose(e0, e1, atol=1e-5)
    assert torch.allclose(g0, g1, atol=1e-5 * float(g0.abs().max()))


def test_context_tokens_are_scored_in_order(tiny: HFPolicy) -> None:
    """Context spans (observations between responses) score like responses would."""
    row = PackedRow(list(range(3, 30)), spans=[(10, 12), (20, 22)], members=[0, 1], context=[(12, 20)])
    with torch.no_grad():
        _, ctx = packed_logprobs(tiny.model, [row], pad_token_id=tiny.pad_token_id, context=True)
        ref = response_logprobs(tiny.model, [row.ids[:12]], [row.ids[12:20]], pad_token_id=tiny.pad_token_id)
    assert ctx is not None and ctx.logprobs.shape == (1, 8)
    assert torch.allclose(ctx.logprobs, ref.logprobs, atol=1e-5)


def test_members_must_be_unique(tiny: HFPolicy) -> None:
    row = PackedRow([1, 2, 3], [(2, 3)], [1])
    with pytest.raises(ConfigError, match="twice"):
        packed_logprobs(tiny.model, [row, row], pad_token_id=0)
