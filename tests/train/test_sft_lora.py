"""Behaviour cloning, LoRA training, and every estimator through the loop."""

from __future__ import annotations

import pytest
import torch

import agentgym
from agentgym.rollout import collect
from agentgym.train import SFTConfig, train
from agentgym.train.sft import _sft_micro_step, build_examples, build_rows, sft


def test_sft_prompts_are_exactly_the_rollout_prompts() -> None:
    policy = agentgym.load_policy("tiny", max_new_tokens=6)
    trajs = collect("GuessNumber-v0", policy, tasks=2, max_turns=3, history=1, env_kwargs={"difficulty": "easy"})
    examples = build_examples(policy, trajs, history=1, only_success=False, only_valid=False)
    turns = [turn for t in trajs for turn in t.turns]
    assert [p for p, _ in examples] == [turn.prompt_ids for turn in turns]


def test_packed_sft_loss_equals_the_per_turn_loss() -> None:
    """Full history: one row per demonstration, same loss and gradient as one row
    per turn; a history window leaves nothing to chain (one row per turn)."""
    policy = agentgym.load_policy("tiny", max_new_tokens=6)
    trajs = collect("AskToAct-v0", agentgym.load_policy("scripted:explorer"), tasks=3, max_turns=8,
                    env_kwargs={"difficulty": "easy"})
    kw = {"env_kwargs": {"difficulty": "easy"}, "action_format": "call_spaced"}
    packed, single = build_rows(policy, trajs, pack=True, **kw), build_rows(policy, trajs, pack=False, **kw)
    turns = sum(len(t.turns) for t in trajs)
    assert len(packed) == 3 and len(single) == turns == sum(len(r.members) for r in packed)
    assert len(build_rows(policy, trajs, pack=True, history=2, **kw)) > 3
    results = []
    for rows in (single, packed):
        policy.model.zero_grad(set_to_none=True)
        n_tok = float(sum(e - s for r in rows for s, e in r.spans))
        loss, stats = _sft_micro_step(policy.model, rows, policy.pad_token_id, n_tok, 0.0)
        loss.backward()
        results.append((float(loss), torch.cat([p.grad.flatten() for p in policy.model.parameters()])))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-5 * float(results[0][1].abs().max()))
    # The observation loss adds the environment's replies, weighted.
    loss_obs, stats = _sft_micro_step(policy.model, packed, policy.pad_token_id, 1.0, 0.5)
    assert stats["obs_tokens"] > stats["tokens"] and float(loss_obs) > results[1][0]


def test_sft_on_oracle_demonstrations_lowers_the_nll_and_saves_a_loadable_policy(tmp_path) -> None:
    cfg = SFTConfig(env="GuessNumber-v0", env_kwargs={"difficulty": "easy"}, tasks=12, epochs=4, lr=5e-3,
                    batch_size=2, out_dir=str(tmp_path / "sft"), max_new_tokens=16, threads=1)
    result = sft(cfg)
    nll = [m["sft/nll"] for m in result.metrics]
    assert nll[-1] < 0.6 * nll[0]
    assert (tmp_path / "sft" / "demonstrations.jsonl").is_file()
    again = agentgym.load_policy(f"hf:{tmp_path / 'sft'}")
    assert again.max_new_tokens == 16
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.allclose(again.model(input_ids=ids).logits, result.policy.model(input_ids=ids).logits)


def test_lora_trains_adapters_only_with_the_base_as_kl_reference(tiny_config) -> None:
    base = {n: p.detach().clone() for n, p in agentgym.load_policy("tiny").model.named_parameters()}
    # The entropy bonus gives a gradient even where every advantage is 0 (an untrained
    # policy's all-invalid groups; GiGPO gives their uniform step groups no advantage).
    result = train(tiny_config.replace(iterations=1, lora=True, lora_r=4, kl_coef=0.1, lr=5e-2, entropy_coef=0.01))
    model = result.policy.model  # the PEFT wrapper
    lora_changed = False
    for name, p in model.named_parameters():
        if "lora_" in name:
            lora_changed |= "lora_B" in name and bool(p.detach().abs().sum() > 0)  # B starts at zero
        else:
            key = name.replace("base_model.model.", "").replace(".base_layer", "")
            assert torch.equal(p.detach(), base[key]), name  # the base is frozen
    assert lora_changed
    assert result.metrics[0]["loss/kl"] >= 0.0
    # The exported policy is merged: plain weights, same outputs as base + adapters.
    exported = agentgym.load_policy(f"hf:{result.final_dir}")
    assert not any("lora" in n for n, _ in exported.model.named_parameters())
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.allclose(exported.model(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5)


def test_gigpo_over_igpo_rewards_runs_through_the_loop(tiny_config) -> None:
    result = train(tiny_config.replace(iterations=1, estimator="gigpo", step_rewards="igpo", filter_groups=True))
    m = result.metrics[0]
    assert m["time/scoring"] > 0.0 and "credit/groups_dropped" in m


@pytest.mark.parametrize("estimator", ["grpo", "rloo", "igpo"])
def test_other_estimators_run_through_the_loop(tiny_config, estimator) -> None:
    result = train(tiny_config.replace(iterations=1, estimator=estimator))
    assert result.metrics[0]["train/optimizer_steps"] == 1.0
