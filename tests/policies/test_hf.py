"""HFPolicy on the tiny model: exact token-in/token-out, logprob consistency,
reproducible sampling, save/load, and the tokenizer it is built with."""

from __future__ import annotations

import logging
import math
import warnings

import pytest
import torch

from agentgym.policies.hf import HFPolicy
from agentgym.policy import load_policy
from agentgym.train.scoring import response_logprobs


@pytest.fixture(scope="module")
def tiny() -> HFPolicy:
    return HFPolicy.tiny(seed=0, max_new_tokens=16, temperature=0.8)


def _convs(n: int) -> list[list[dict[str, str]]]:
    # Prompts of different lengths, so left padding differs per row.
    return [
        [{"role": "system", "content": "Guess the number."}, {"role": "user", "content": "between 1 and 9 " * (1 + 3 * i)}]
        for i in range(n)
    ]


def _frequent_stops(policy: HFPolicy) -> list[int]:
    """Make ~1 token in 6 a stop token, so rows finish at different steps and the
    decoding loop's row dropping is exercised (a random model rarely samples EOS)."""
    saved = policy.stop_ids
    policy.stop_ids = sorted(set(range(0, len(policy.tokenizer), 6)) | {policy.eot_id})
    return saved


@pytest.mark.parametrize("top_p", [1.0, 0.9])
def test_sampling_logprobs_match_a_separate_forward(tiny: HFPolicy, top_p: float) -> None:
    saved = _frequent_stops(tiny)
    tiny.top_p = top_p
    try:
        completions = tiny.act(_convs(6), [[]] * 6)
    finally:
        tiny.stop_ids, tiny.top_p = saved, 1.0
    lengths = {len(c.response_ids) for c in completions}
    assert len(lengths) > 1, "rows should finish at different steps"
    assert any(c.finish_reason == "stop" for c in completions)
    prompts = [c.prompt_ids for c in completions]
    responses = [c.response_ids for c in completions]
    with torch.no_grad():
        batched = response_logprobs(
            tiny.model, prompts, responses, pad_token_id=tiny.pad_token_id, temperature=0.8, micro_batch_size=4
        )
    for i, c in enumerate(completions):
        n = len(c.response_ids)
        assert len(c.logprobs) == n and batched.mask[i].sum() == n
        assert torch.allclose(batched.logprobs[i, :n], torch.tensor(c.logprobs), atol=1e-4)
        # and against the plainest possible forward: one unpadded sequence
        ids = torch.tensor([c.prompt_ids + c.response_ids])
        with torch.no_grad():
            logits = tiny.model(ids).logits[0, len(c.prompt_ids) - 1 : -1].float() / 0.8
        plain = torch.log_softmax(logits, -1).gather(-1, torch.tensor(c.response_ids)[:, None]).squeeze(-1)
        assert torch.allclose(plain, torch.tensor(c.logprobs), atol=1e-4)


def test_greedy_decoding_equals_transformers_generate(tiny: HFPolicy) -> None:
    greedy = HFPolicy(tiny.model, tiny.tokenizer, temperature=0.0, max_new_tokens=12)
    convs = _convs(3)
    completions = greedy.act(convs, [[]] * 3)
    for c in completions:
        ids = torch.tensor([c.prompt_ids])
        with torch.no_grad():
            ref = tiny.model.generate(
                ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=12,
                eos_token_id=greedy.stop_ids, pad_token_id=greedy.pad_token_id,
            )
        assert c.response_ids == ref[0, ids.shape[1] :].tolist()


def test_response_logprobs_gradients_and_entropy(tiny: HFPolicy) -> None:
    prompts, responses = [[5, 6, 7], [8]], [[9, 10], [11, 12, 13]]
    scores = response_logprobs(tiny.model, prompts, responses, pad_token_id=tiny.pad_token_id, with_entropy=True)
    assert scores.logprobs.shape == (2, 3) and scores.mask.tolist() == [[True, True, False], [True, True, True]]
    assert scores.logprobs[0, 2] == 0 and (scores.logprobs[scores.mask] < 0).all()
    assert scores.entropy is not None
    assert ((scores.entropy[scores.mask] > 0) & (scores.entropy[scores.mask] <= math.log(len(tiny.tokenizer)) + 1e-4)).all()
    scores.sums().sum().backward()
    grad = tiny.model.model.embed_tokens.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    tiny.model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("micro_batch_size", [None, 2])
def test_shared_prefix_scoring_equals_the_plain_forward(tiny: HFPolicy, micro_batch_size: int | None) -> None:
    """A common system prompt is run once per micro-batch: same logprobs,
    entropies and gradients as without sharing (rows of different lengths, one
    whose prompt is the prefix plus a single token)."""
    g = torch.Generator().manual_seed(0)
    prefix = torch.randint(3, 400, (60,), generator=g).tolist()
    prompts = [prefix + torch.randint(3, 400, (n,), generator=g).tolist() for n in (25, 1, 40, 7)]
    responses = [torch.randint(3, 400, (n,), generator=g).tolist() for n in (4, 9, 1, 6)]
    results = []
    for share in (0, 16):
        tiny.model.zero_grad(set_to_none=True)
        s = response_logprobs(tiny.model, prompts, responses, pad_token_id=tiny.pad_token_id, with_entropy=True,
                              micro_batch_size=micro_batch_size, share_prefix=share)
        assert s.entropy is not None
        (s.sums().sum() + 0.1 * s.entropy.sum()).backward()
        grads = torch.cat([p.grad.flatten() for p in tiny.model.parameters()])
        results.append((s.logprobs.detach(), s.entropy.detach(), grads))
    tiny.model.zero_grad(set_to_none=True)
    (lp0, ent0, g0), (lp1, ent1, g1) = results
    assert torch.allclose(lp0, lp1, atol=1e-5) and torch.allclose(ent0, ent1, atol=1e-5)
    assert torch.allclose(g0, g1, atol=1e-5 * float(g0.abs().max()))


def test_common_prefix_length() -> None:
    from agentgym.train.scoring import common_prefix_length

    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2, 3, 9]]) == 2
    assert common_prefix_length([[1, 2, 3], [1, 2, 3]], limit=2) == 2
    assert common_prefix_length([[5], [1]]) == 0 and common_prefix_length([]) == 0


def test_prompt_ids_and_response_ids_are_what_act_uses(tiny: HFPolicy) -> None:
    tools = [{"type": "function", "function": {"name": "guess", "description": "Guess.", "parameters": {
        "type": "object", "properties": {"number": {"type": "integer"}}, "required": ["number"]}}}]
    conv = _convs(1)[0]
    c = tiny.act([conv], [tools])[0]
    assert c.prompt_ids == tiny.prompt_ids(conv, tools)
    assert "guess(number: integer)" in tiny.render(conv, tools)
    assert tiny.tokenizer.decode(c.prompt_ids).endswith("<|im_start|>assistant\n")
    assert c.text == tiny.decode(c.response_ids)
    reply = '<tool_call>{"name": "guess", "arguments": {"number": 5}}</tool_call>'
    ids = tiny.response_ids(reply)
    assert ids[-1] == tiny.eot_id and tiny.decode(ids) == reply
    # A scripted reply tokenized this way closes the turn exactly as the chat template does.
    full = tiny.tokenizer.apply_chat_template(conv + [{"role": "assistant", "content": reply}], tokenize=False)
    assert full.startswith(tiny.tokenizer.decode(tiny.prompt_ids(conv) + ids))


def test_sampling_is_reproducible_per_seed(tiny: HFPolicy) -> None:
    def sample(seed: int) -> list[list[int]]:
        p = HFPolicy(tiny.model, tiny.tokenizer, seed=seed, max_new_tokens=8)
        return [c.response_ids for c in p.act(_convs(2), [[]] * 2)]

    torch.manual_seed(123)  # the global RNG must not matter
    a = sample(1)
    torch.manual_seed(456)
    assert sample(1) == a and sample(2) != a


def test_tiny_tokenizer_is_deterministic_and_compact(tiny: HFPolicy) -> None:
    other = HFPolicy.tiny(seed=0)
    assert other.tokenizer.get_vocab() == tiny.tokenizer.get_vocab()
    text = 'I am thinking of a whole number between 12 and 27 (inclusive). <tool_call>{"name": "guess"} héllo ✓'
    ids = tiny.tokenizer.encode(text, add_special_tokens=False)
    assert tiny.tokenizer.decode(ids) == text
    assert len(ids) < len(text.encode()) / 2.5  # the point of a trained BPE over bytes


def test_save_and_load_round_trip(tiny: HFPolicy, tmp_path) -> None:
    tiny.save_pretrained(tmp_path / "ckpt")
    loaded = load_policy(str(tmp_path / "ckpt"))
    assert isinstance(loaded, HFPolicy)
    assert loaded.temperature == tiny.temperature and loaded.max_new_tokens == tiny.max_new_tokens
    conv = _convs(1)[0]
    assert loaded.prompt_ids(conv) == tiny.prompt_ids(conv)
    ids = torch.tensor([tiny.prompt_ids(conv)])
    with torch.no_grad():
        assert torch.allclose(loaded.model(ids).logits, tiny.model(ids).logits, atol=1e-6)
    spec = load_policy(f"hf:{tmp_path / 'ckpt'}", temperature=0.3)
    assert spec.temperature == 0.3


def test_tiny_spec_options() -> None:
    p = load_policy("tiny:hidden_size=32,num_hidden_layers=1,seed=3,max_new_tokens=4")
    assert p.model.config.hidden_size == 32 and p.model.config.num_hidden_layers == 1
    assert p.max_new_tokens == 4 and p.seed == 3


def test_bad_options_raise_with_a_fix(tiny: HFPolicy) -> None:
    from agentgym.errors import ConfigError

    with pytest.raises(ConfigError, match="temperature"):
        HFPolicy(tiny.model, tiny.tokenizer, temperature=-1)
    with pytest.raises(ConfigError, match="key=value"):
        load_policy("tiny:hidden_size")
    with pytest.raises(ConfigError, match="bundled"):
        HFPolicy.from_pretrained("no-such-model")
    with pytest.raises(ConfigError, match="could not load the model 'someorg/nothing-here'"):
        HFPolicy.from_pretrained("someorg/nothing-here")  # offline in tests: fails fast


def test_reseed_restarts_the_sampling_stream(tiny: HFPolicy) -> None:
    p = HFPolicy(tiny.model, tiny.tokenizer, seed=5, max_new_tokens=6)
    first = p.act(_convs(2), [[]] * 2)
    assert p.act(_convs(2), [[]] * 2)[0].response_ids != first[0].response_ids  # the stream moved on
    p.reseed(5)
    assert [c.response_ids for c in p.act(_convs(2), [[]] * 2)] == [c.response_ids for c in first]


def test_prefix_cache_is_used_and_exact_across_turns(tiny: HFPolicy) -> None:
    from agentgym.rollout import collect

    p = HFPolicy(tiny.model, tiny.tokenizer, seed=2, max_new_tokens=10, temperature=0.9)
    saved = _frequent_stops(p)  # some replies end with a stop token, some are cut
    stops = set(p.stop_ids)
    trajs = collect("GuessNumber-v0", p, tasks=2, group_size=3, max_turns=4)
    p.stop_ids = saved
    assert p.stats["reused_tokens"] > p.stats["prompt_tokens"] / 2  # turns 2..4 mostly reuse
    turns = [t for x in trajs for t in x.turns]
    assert len(turns) == 24 and any(t.response_ids[-1] in stops for t in turns)
    assert any(len(t.response_ids) == 10 and t.response_ids[-1] not in stops for t in turns)
    with torch.no_grad():
        scores = response_logprobs(p.model, [t.prompt_ids for t in turns], [t.response_ids for t in turns],
                                   pad_token_id=p.pad_token_id, temperature=0.9)
    for i, t in enumerate(turns):
        assert torch.allclose(scores.logprobs[i, : len(t.logprobs)], torch.tensor(t.logprobs), atol=1e-4)


def test_prefix_cache_gives_the_same_greedy_episodes(tiny: HFPolicy) -> None:
    from agentgym.rollout import collect

    def run(cache: bool) -> list[list[int]]:
        p = HFPolicy(tiny.model, tiny.tokenizer, temperature=0.0, max_new_tokens=8, prefix_cache=cache)
        return [t.response_ids for x in collect("GuessNumber-v0", p, tasks=2, group_size=2, max_turns=3) for t in x.turns]

    assert run(True) == run(False)


def test_rows_of_one_call_share_the_system_prompt(tiny: HFPolicy) -> None:
    """First turns have nothing in the store, but share system prompt + tools:
    that prefix is run once, and the samples equal those without any reuse."""
    from agentgym.rollout import collect

    def run(cache: bool) -> tuple[list[list[float]], dict[str, int]]:
        p = HFPolicy(tiny.model, tiny.tokenizer, temperature=1.0, max_new_tokens=6, prefix_cache=cache, seed=3)
        trajs = collect("AskToAct-v0", p, tasks=3, group_size=2, max_turns=2, seed=5)
        return [t.logprobs for x in trajs for t in x.turns], p.stats

    (with_cache, stats), (without, _) = run(True), run(False)
    assert stats["shared_tokens"] > 100 * 5  # the ~150-token system prompt, skipped for 5 of 6 first turns
    assert len(with_cache) == len(without)
    for a, b in zip(with_cache, without, strict=True):
        assert a == pytest.approx(b, abs=1e-4)


def test_prefix_cache_is_dropped_when_the_weights_change() -> None:
    p = HFPolicy.tiny(seed=1, max_new_tokens=4)
    conv = _convs(1)[0]
    c = p.act([conv], [[]])[0]
    follow = conv + [{"role": "assistant", "content": c.text}, {"role": "user", "content": "again"}]
    p.act([follow], [[]])
    assert p.stats["reused_tokens"] > 0
    before = p.stats["reused_tokens"]
    with torch.no_grad():
        p.model.model.embed_tokens.weight.mul_(1.01)  # an in-place update, as an optimizer step does
    follow2 = follow + [{"role": "assistant", "content": "x"}, {"role": "user", "content": "more"}]
    p.act([follow2], [[]])
    assert p.stats["reused_tokens"] == before
    follow3 = follow2 + [{"role": "assistant", "content": "y"}, {"role": "user", "content": "and more"}]
    p.act([follow3], [[]])
    assert p.stats["reused_tokens"] > before  # unchanged weights: reused again
    before = p.stats["reused_tokens"]
    p.model.model.norm.weight.data.add_(0.5)  # a write the version counter does not see
    p.act([follow3 + [{"role": "assistant", "content": "z"}, {"role": "user", "content": "end"}]], [[]])
    assert p.stats["reused_tokens"] == before


class _TransformersLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_two_turns_emit_no_deprecation_or_future_warning(tiny: HFPolicy) -> None:
    """The decoding loop passes its KV cache under the current argument name: the old
    one (``past_key_values``) raised a FutureWarning on every forward and logged a
    deprecation once."""
    from transformers.utils import logging as hf_logging

    hf_logging.warning_once.cache_clear()  # a once-per-process message: let it show again
    log = _TransformersLog()
    hf_logging.get_logger("transformers").addHandler(log)
    system = {"role": "system", "content": "Find the number. Call guess(number) once per turn. " * 6}
    convs = [[system, {"role": "user", "content": f"between {i} and {i + 9}"}] for i in range(3)]
    p = HFPolicy(tiny.model, tiny.tokenizer, seed=0, max_new_tokens=6)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            first = p.act(convs, [[]] * 3)
            follow = [c + [{"role": "assistant", "content": x.text}, {"role": "user", "content": "higher"}]
                      for c, x in zip(convs, first, strict=True)]
            p.act(follow, [[]] * 3)
    finally:
        hf_logging.get_logger("transformers").removeHandler(log)
    # Every path ran: the shared system prompt (turn 1), the stored keys/values (turn 2).
    assert p.stats["shared_tokens"] > 0 and p.stats["reused_tokens"] > p.stats["shared_tokens"]
    bad = [f"{w.category.__name__} at {w.filename}:{w.lineno}: {w.message}" for w in seen
           if issubclass(w.category, (DeprecationWarning, FutureWarning))]
    assert bad == []
    assert [m for m in log.messages if "deprecated" in m] == []


class _ToolsFail:
    """A tokenizer whose chat template fails when given tools, with ``error``."""

    def __init__(self, tokenizer: object, error: BaseException) -> None:
        self._tokenizer, self._error = tokenizer, error

    def __getattr__(self, name: str) -> object:
        return getattr(self._tokenizer, name)

    def apply_chat_template(self, messages, tools=None, **kwargs):
        if tools:
            raise self._error
        return self._tokenizer.apply_chat_template(messages, tools=tools, **kwargs)


def test_tools_probe_falls_back_on_template_errors_only(tiny: HFPolicy) -> None:
    from jinja2 import TemplateError

    tool = {"type": "function", "function": {"name": "guess", "description": "Guess.", "parameters": {}}}
    conv = [{"role": "user", "content": "hi"}]
    p = HFPolicy(tiny.model, _ToolsFail(tiny.tokenizer, TemplateError("tools are not supported")))
    assert not p.template_renders_tools
    assert '"name": "guess"' in p.render(conv, [tool])  # the tools go into the system message
    # Anything else (out of memory, a bug) is not "the template has no tools": it raises.
    for error in (RuntimeError("CUDA out of memory"), MemoryError(), KeyError("tools")):
        p = HFPolicy(tiny.model, _ToolsFail(tiny.tokenizer, error))
        with pytest.raises(type(error)):
            p.render(conv, [tool])


def test_rows_to_run_first_minimises_padding() -> None:
    from agentgym.policies.hf import _rows_to_run_first

    assert _rows_to_run_first([50, 60, 55, 900]) == [3]  # 4 x 900 padded -> 4 x 60 + 900
    assert _rows_to_run_first([50, 60, 55, 70]) == []  # nothing to gain
    assert _rows_to_run_first([40] * 60 + [700, 650]) == [60, 61]
    assert _rows_to_run_first([300]) == []


def test_a_long_new_conversation_does_not_pad_the_batch(tiny: HFPolicy) -> None:
    """Turn 2 of two conversations beside the first turn of a long new one: the long
    prompt runs first, on its own, and the batch pads to the short continuations
    only; the samples are those of a plain forward."""
    def run(cache: bool) -> tuple[list[list[float]], list[int]]:
        p = HFPolicy(tiny.model, tiny.tokenizer, temperature=1.0, max_new_tokens=5, seed=4, prefix_cache=cache)
        widths: list[int] = []
        forward = p._forward

        def spy(ids, mask, pos, cache_, keep):
            widths.append(ids.shape[1])
            return forward(ids, mask, pos, cache_, keep)

        p._forward = spy  # type: ignore[method-assign]
        convs = _convs(2)
        first = p.act(convs, [[]] * 2)
        follow = [c + [{"role": "assistant", "content": x.text}, {"role": "user", "content": "go on"}]
                  for c, x in zip(convs, first, strict=True)]
        long = [{"role": "system", "content": "A different game. " * 40}, {"role": "user", "content": "start"}]
        widths.clear()
        second = p.act([*follow, long], [[]] * 3)
        return [c.logprobs for c in first + second], widths

    (cached, widths), (plain, plain_widths) = run(True), run(False)
    long_prompt = plain_widths[0]  # without the cache, one pass as wide as the long prompt
    assert long_prompt > 150
    prefill_widths = [w for w in widths if w > 1]
    # (the long prompt still reuses the few template tokens it shares with a stored turn)
    assert len(prefill_widths) == 2 and long_prompt - 10 < prefill_widths[0] < long_prompt
    assert prefill_widths[1] < 40
    for a, b in zip(cached, plain, strict=True):
        assert a == pytest.approx(b, abs=1e-4)
