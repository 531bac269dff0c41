"""The one scorer: packed rows equal per-turn rows, shared prefixes equal the
plain forward, chunked log-softmax equals the full one (values and gradients);
a group's prompt is computed once; errors raise."""

from __future__ import annotations

import re

import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.policies.hf import HFPolicy
from agentgym.train.scoring import PackedRow, pack_chain, packed_logprobs, response_logprobs


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


# ----------------------------------------------------------------------
# Chunked output layer, shared group prompts, models seen through their logits
# ----------------------------------------------------------------------
def _rows_of_groups(g: torch.Generator, system: list[int], groups: int, per_group: int) -> list[PackedRow]:
    """Rows of ``groups`` tasks: a shared system prompt, then a task prompt that
    starts with a marker token (700 + group) found nowhere else, then each
    row's own history and response."""
    rows = []
    for k in range(groups):
        task = [700 + k] + torch.randint(3, 400, (49,), generator=g).tolist()
        for _ in range(per_group):
            own = torch.randint(3, 400, (int(torch.randint(1, 12, (1,), generator=g)),), generator=g).tolist()
            response = torch.randint(3, 400, (int(torch.randint(1, 8, (1,), generator=g)),), generator=g).tolist()
            prompt = system + task + own
            rows.append(PackedRow(prompt + response, [(len(prompt), len(prompt) + len(response))], [len(rows)]))
    return rows


def _reference(model, rows: list[PackedRow], temperature: float) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """One unpadded forward per row and the full (T, V) log-softmax: the plainest computation."""
    lps, ents = [], []
    for r in rows:
        logits = model(input_ids=torch.tensor([r.ids])).logits[0].float() / temperature  # (T, V)
        logp = torch.log_softmax(logits, -1)
        for a, e in r.spans:
            lps.append(logp[a - 1 : e - 1].gather(-1, torch.tensor(r.ids[a:e])[:, None]).squeeze(-1))
            ents.append(-(logp[a - 1 : e - 1].exp() * logp[a - 1 : e - 1]).sum(-1))
    return lps, ents


def _loss_and_grads(model, lps, ents) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    lp, ent = torch.cat(lps), torch.cat(ents)
    (lp.sum() + 0.1 * ent.sum()).backward()
    grads = torch.cat([p.grad.flatten() for p in model.parameters()])
    model.zero_grad(set_to_none=True)
    return lp.detach(), ent.detach(), grads


def _split(scores) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    n = scores.mask.sum(-1).tolist()
    return ([scores.logprobs[i, :k] for i, k in enumerate(n)], [scores.entropy[i, :k] for i, k in enumerate(n)])


@pytest.mark.parametrize("chunk_tokens", [1, 7, None])
def test_chunked_output_layer_equals_the_full_log_softmax(tiny: HFPolicy, chunk_tokens: int | None) -> None:
    """Log-probs, entropies and gradients from ``chunk_tokens`` positions at a time
    (the logits of each chunk recomputed in the backward) equal one unpadded
    forward per row with the full (T, V) log-softmax."""
    g = torch.Generator().manual_seed(3)
    rows = _rows_of_groups(g, torch.randint(3, 400, (40,), generator=g).tolist(), groups=2, per_group=3)
    want = _loss_and_grads(tiny.model, *_reference(tiny.model, rows, 0.7))
    s, _ = packed_logprobs(tiny.model, rows, pad_token_id=tiny.pad_token_id, with_entropy=True, temperature=0.7,
                           chunk_tokens=chunk_tokens)
    got = _loss_and_grads(tiny.model, *_split(s))
    assert torch.allclose(got[0], want[0], atol=1e-5) and torch.allclose(got[1], want[1], atol=1e-5)
    assert torch.allclose(got[2], want[2], atol=1e-5 * float(want[2].abs().max()))


def test_entropy_without_gradients_has_the_same_values(tiny: HFPolicy) -> None:
    g = torch.Generator().manual_seed(4)
    rows = _rows_of_groups(g, torch.randint(3, 400, (10,), generator=g).tolist(), groups=1, per_group=2)
    kw = {"pad_token_id": tiny.pad_token_id, "with_entropy": True, "chunk_tokens": 4}
    a, _ = packed_logprobs(tiny.model, rows, **kw)
    b, _ = packed_logprobs(tiny.model, rows, entropy_grad=False, **kw)
    assert a.entropy.requires_grad and not b.entropy.requires_grad and b.logprobs.requires_grad
    assert torch.allclose(a.entropy.detach(), b.entropy, atol=1e-6)


def _embedded(model) -> tuple[list[list[int]], object]:
    seen: list[list[int]] = []
    hook = model.get_input_embeddings().register_forward_pre_hook(lambda m, args: seen.extend(args[0].tolist()))
    return seen, hook


def test_a_groups_prompt_is_computed_once(tiny: HFPolicy) -> None:
    """Two groups of three rows in one micro-batch: the system prompt runs once,
    each group's task prompt once (not three times), and the scores and
    gradients equal the unshared forward."""
    g = torch.Generator().manual_seed(5)
    rows = _rows_of_groups(g, torch.randint(3, 400, (40,), generator=g).tolist(), groups=2, per_group=3)
    results = []
    for share in (0, 16):
        seen, hook = _embedded(tiny.model)
        s, _ = packed_logprobs(tiny.model, rows, pad_token_id=tiny.pad_token_id, with_entropy=True,
                               share_prefix=share)
        hook.remove()
        flat = [t for row in seen for t in row]
        results.append(((flat.count(700), flat.count(701)), _loss_and_grads(tiny.model, *_split(s))))
    (plain_counts, plain), (shared_counts, shared) = results
    assert plain_counts == (3, 3) and shared_counts == (1, 1)
    assert torch.allclose(shared[0], plain[0], atol=1e-5) and torch.allclose(shared[1], plain[1], atol=1e-5)
    assert torch.allclose(shared[2], plain[2], atol=1e-5 * float(plain[2].abs().max()))


class _LogitsOnly(torch.nn.Module):
    """A causal LM seen only through its logits: no ``logits_to_keep``, no cache,
    no output layer to take hidden states from; ``transform`` applied to the logits
    (e.g. soft-capping), and ``head`` exposed if given."""

    def __init__(self, lm, transform=None, expose_head: bool = False) -> None:
        super().__init__()
        self.lm, self.transform, self.expose_head = lm, transform, expose_head

    def get_output_embeddings(self):  # noqa: ANN201
        return self.lm.lm_head if self.expose_head else None

    def forward(self, input_ids, attention_mask=None, position_ids=None):  # noqa: ANN001, ANN201
        logits = self.lm(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).logits
        return logits if self.transform is None else self.transform(logits)


@pytest.mark.parametrize("capped", [False, True])
def test_models_seen_through_their_logits_score_the_same(tiny: HFPolicy, capped: bool) -> None:
    """Read from the signature, not tried and caught: a forward without
    ``logits_to_keep`` or a cache argument gets neither. A model that soft-caps
    its logits after the output layer is found by the probe and scored from its
    own logits (the hidden states would give the uncapped numbers)."""
    from agentgym.train.scoring import _capabilities

    cap = (lambda x: 3.0 * torch.tanh(x / 3.0)) if capped else None
    model = _LogitsOnly(tiny.model, cap, expose_head=capped)
    caps = _capabilities(model)
    assert caps.cache_arg is None and not caps.logits_to_keep and caps.head is None
    g = torch.Generator().manual_seed(6)
    rows = _rows_of_groups(g, torch.randint(3, 400, (40,), generator=g).tolist(), groups=1, per_group=3)
    s, _ = packed_logprobs(model, rows, pad_token_id=tiny.pad_token_id, with_entropy=True, chunk_tokens=5)
    got = _loss_and_grads(tiny.model, *_split(s))
    plain = _LogitsOnly(tiny.model, cap)
    want = _loss_and_grads(tiny.model, *_reference(lambda input_ids: type("O", (), {"logits": plain(input_ids)}),
                                                   rows, 1.0))
    assert torch.allclose(got[0], want[0], atol=1e-5) and torch.allclose(got[1], want[1], atol=1e-5)
    assert torch.allclose(got[2], want[2], atol=1e-5 * float(want[2].abs().max()))


class _FailsOnce(torch.nn.Module):
    """Raises ``error`` on its first forward (the memory-frugal call), then works."""

    def __init__(self, lm, error: BaseException) -> None:
        super().__init__()
        self.lm, self.error, self.calls = lm, error, 0

    def forward(self, input_ids, attention_mask=None, position_ids=None, logits_to_keep=0, **kwargs):  # noqa: ANN001, ANN201
        self.calls += 1
        if self.calls == 1:
            raise self.error
        return self.lm(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                       logits_to_keep=logits_to_keep)


@pytest.mark.parametrize("error", [RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB"),
                                   TypeError("forward() got an unexpected keyword argument 'logits_to_keep'")])
def test_errors_inside_the_forward_raise(tiny: HFPolicy, error: BaseException) -> None:
    """No retry with full logits: an out-of-memory error (or any error) raised
    inside the model's forward reaches the caller."""
    row = PackedRow(list(range(3, 30)), spans=[(10, 12), (20, 22)], members=[0, 1])
    with pytest.raises(type(error), match=re.escape(str(error))):
        packed_logprobs(_FailsOnce(tiny.model, error), [row], pad_token_id=tiny.pad_token_id)
