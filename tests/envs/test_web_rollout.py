"""The web envs through agentgym.rollout.collect: the oracle policy and the tiny model."""

from __future__ import annotations

import math

import pytest

import agentgym
from agentgym.envs.web import server as site_server
from agentgym.rollout import collect


@pytest.fixture(scope="module")
def tiny_policy():
    import torch

    from agentgym.policies.hf import HFPolicy

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model is latency-bound (see tests/core/test_rollout.py)
    yield HFPolicy.tiny(seed=0, max_new_tokens=12)
    torch.set_num_threads(before)


@pytest.mark.parametrize("env_id", ["WebShop-v0", "WebQA-v0"])
def test_oracle_policy_through_collect(env_id: str) -> None:
    before = {id(s) for s in site_server.running_servers()}  # another test's env may still hold one
    trajs = collect(env_id, agentgym.load_policy("oracle"), tasks=3, group_size=2, split="val")
    assert len(trajs) == 6 and all(t.metrics["success"] == 1.0 and not t.failed for t in trajs)
    for t in trajs:
        assert math.isclose(t.turns[-1].reward, 1.0) and t.turns[-1].reward_parts
        assert len({turn.anchor for turn in t.turns}) == len(t.turns)  # each step moves to a new page state
    # collect closed its envs: the servers it started stopped
    assert not [s for s in site_server.running_servers() if id(s) not in before]


@pytest.mark.parametrize("env_id", ["WebShop-v0", "WebQA-v0"])
def test_tiny_model_episodes_are_well_formed(tiny_policy, env_id: str) -> None:
    before = {id(s) for s in site_server.running_servers()}
    trajs = collect(env_id, tiny_policy, tasks=2, group_size=2, max_turns=2, seed=3)
    assert len(trajs) == 4
    for t in trajs:
        assert not t.failed and len(t.turns) == 2 and t.initial_observation.startswith(("Instruction:", "Question:"))
        for turn in t.turns:
            assert len(turn.response_ids) == len(turn.logprobs) > 0
            assert math.isclose(turn.reward, sum(turn.reward_parts.values()))
            assert isinstance(turn.anchor, str) and "Page:" not in turn.anchor  # a state key, not the page text
    assert not [s for s in site_server.running_servers() if id(s) not in before]
