"""The tiny model behind :meth:`HFPolicy.tiny`: a random Llama and a small BPE.

Why a trained BPE and not bytes: prompt length dominates the CPU cost of a
rollout (NOTES.md: a 1,200-byte prompt costs ~4x a 400-byte one), and an
agentgym prompt is mostly the same words again and again (the system prompt,
the tool list, the observations' phrasing). A byte-level BPE with ~1k entries,
trained deterministically with the ``tokenizers`` library on that very text,
encodes it ~3-4x shorter than bytes while still encoding *any* text (it falls
back to single bytes), and needs no downloaded file.

The corpus is a fixed built-in text (tool-call syntax, JSON, template words,
common English) plus, for each env id in ``envs`` that is registered, the
rendered conversations of a few oracle episodes on the train split. The same
arguments give the same tokenizer, token for token (tested).

The chat template is ChatML (``<|im_start|>role ... <|im_end|>``, like
SmolLM2's) with the tools rendered compactly, one signature line each
(``- guess(number: integer): Guess the secret number.``), instead of their full
JSON schemas: the model sees every tool and argument at a fraction of the
tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["build_tiny", "build_tokenizer", "CHAT_TEMPLATE", "MODEL_KEYS", "DEFAULT_ENVS"]

logger = logging.getLogger(__name__)

DEFAULT_ENVS = ("GuessNumber-v0", "AskToAct-v0")
MODEL_KEYS = frozenset(
    {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
     "max_position_embeddings", "rope_theta"}
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CHAT_TEMPLATE = (
    # transformers renders templates with trim_blocks: newlines are written as {{ '\\n' }}.
    "{% if messages and messages[0].role == 'system' %}{% set system = messages[0].content %}"
    "{% set rest = messages[1:] %}{% else %}{% set system = '' %}{% set rest = messages %}{% endif %}"
    "{% if system or tools %}<|im_start|>system{{ '\\n' }}{{ system }}"
    "{% if tools %}{% if system %}{{ '\\n\\n' }}{% endif %}Tools:"
    "{% for t in tools %}{% set f = t.function if t.function is defined else t %}{{ '\\n- ' }}{{ f.name }}("
    "{% if f.parameters is defined and f.parameters.properties is defined %}"
    "{% for k, v in f.parameters.properties.items() %}{{ k }}{{ ': ' }}"
    "{% if v.enum is defined %}{{ v.enum | join('|') }}{% else %}{{ v.type | default('any') }}{% endif %}"
    "{% if not loop.last %}{{ ', ' }}{% endif %}{% endfor %}{% endif %}){{ ': ' }}{{ f.description }}"
    "{% endfor %}{% endif %}<|im_end|>{{ '\\n' }}{% endif %}"
    "{% for m in rest %}<|im_start|>{{ m.role }}{{ '\\n' }}{{ m.content }}<|im_end|>{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant{{ '\\n' }}{% endif %}"
)

_BUILTIN_CORPUS = """\
Call a tool like this: <tool_call>{"name": "TOOL", "arguments": {"ARG": "VALUE"}}</tool_call>
Call exactly one tool per turn. You may call several tools per turn.
<tool_call>{"name": "guess", "arguments": {"number": 42}}</tool_call>
<tool_call>{"name": "ask", "arguments": {"question": "Which one do you want?"}}</tool_call>
<tool_call>{"name": "answer", "arguments": {"text": "yes"}}</tool_call>
{"type": "function", "function": {"name": "go", "description": "Walk to another room.",
"parameters": {"type": "object", "properties": {"room": {"type": "string"}}, "required": ["room"]}}}
Tools: string integer number boolean array object enum any
Error: Unknown tool. Available tools: Usage: got unexpected argument is missing the argument must be
The action must be text. You made tool calls; make exactly one per turn. is outside the range
Correct! The number was too low. The secret is higher. too high. The secret is lower.
I am thinking of a whole number between and (inclusive). Find it.
You are an assistant in a house. The user asks you to do something. Ask a question when the
request is ambiguous, then act. You see the kitchen, the living room, the bedroom, the bathroom.
There is a table, a shelf, a cabinet, a drawer, a fridge, a counter, a sofa, a bed.
On the table you see a red mug, a blue cup, an apple, a book, a plate, a knife, a key.
You pick up the. You put the on the. You open the. You close the. It is closed. It is open.
Nothing happens. You cannot do that. Done. Success. The task is complete. Thank you.
SELECT name, COUNT(*) FROM table WHERE id = 1 GROUP BY name ORDER BY name LIMIT 10;
def main(): return None  # fix the bug in the function so that the tests pass
click the button, type in the search box, open the page, go back, the price is $12.50
What would you like? Which one? Where should I put it? Yes. No. I don't know.
0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 20 25 32 42 50 64 99 100 128 256 500 999 1000
"""


def build_tokenizer(*, vocab_size: int = 1024, envs: Sequence[str] | None = None) -> Any:
    """A byte-level BPE ``PreTrainedTokenizerFast`` with the ChatML template.

    >>> tok = build_tokenizer(vocab_size=512, envs=())
    >>> tok.decode(tok.encode("héllo <tool_call>"), skip_special_tokens=False)
    'héllo <tool_call>'
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [_BUILTIN_CORPUS, *_env_corpus(DEFAULT_ENVS if envs is None else envs)]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        clean_up_tokenization_spaces=False,
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build_tiny(
    *,
    seed: int = 0,
    envs: Sequence[str] | None = None,
    vocab_size: int = 1024,
    hidden_size: int = 64,
    intermediate_size: int = 192,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    num_key_value_heads: int = 2,
    max_position_embeddings: int = 8192,
    rope_theta: float = 10000.0,
) -> tuple[Any, Any]:
    """``(model, tokenizer)``: a randomly initialised ``LlamaForCausalLM`` (seeded,
    without touching the global RNG) over :func:`build_tokenizer`'s vocabulary."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(vocab_size=vocab_size, envs=envs)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads,
        max_position_embeddings=max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": rope_theta},
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model, tokenizer


def _render(messages: list[dict[str, str]]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


def _env_corpus(env_ids: Sequence[str], episodes: int = 8, max_steps: int = 12) -> Iterator[str]:
    """Rendered oracle episodes of each registered env (train split)."""
    import agentgym

    known = {info.id for info in agentgym.list_envs()}
    for env_id in env_ids:
        full = env_id if env_id.startswith("agentgym/") else f"agentgym/{env_id}"
        if full not in known:
            logger.debug("tiny tokenizer: %s is not registered; not in the corpus", env_id)
            continue
        try:
            texts = list(_episodes_text(full, episodes, max_steps))
        except Exception:  # a broken env must not break the tiny model; its text is left out
            logger.warning("tiny tokenizer: could not collect text from %s", env_id, exc_info=True)
            continue
        yield from texts


def _episodes_text(env_id: str, episodes: int, max_steps: int) -> Iterator[str]:
    import agentgym
    from agentgym.tools import tool_specs

    env: Any = agentgym.make(env_id, split="train").unwrapped
    yield "\n".join(spec.signature() + ": " + spec.description for spec in tool_specs(env).values())
    for i in range(episodes):
        obs, info = env.reset(seed=i, options={"task_index": i})
        messages = [{"role": "system", "content": info["system"]}, {"role": "user", "content": obs}]
        for _ in range(max_steps):
            action = env.scripted_action("oracle") if "oracle" in env.scripted_policies else ""
            obs, _, terminated, truncated, _ = env.step(action)
            messages += [{"role": "assistant", "content": action}, {"role": "user", "content": obs}]
            if terminated or truncated:
                break
        yield _render(messages)
    try:
        env.close()
    except Exception:  # closing must not cost the tokenizer its corpus
        logger.debug("tiny tokenizer: closing %s failed", env_id, exc_info=True)
