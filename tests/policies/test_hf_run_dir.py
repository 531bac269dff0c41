"""A training run's directory as a policy (issue 13, item 5): ``hf:runs/mytrain``
loads its ``final/`` weights, or its newest checkpoint before the run has a final,
and says which in a log line."""

from __future__ import annotations

import logging

import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.policies.hf import HFPolicy
from agentgym.policy import load_policy
from agentgym.train.checkpoint import STATE_FILE


@pytest.fixture(scope="module")
def two_models() -> tuple[HFPolicy, HFPolicy]:
    kw = {"hidden_size": 32, "num_hidden_layers": 1, "envs": ["GuessNumber-v0"], "vocab_size": 300}
    return HFPolicy.tiny(seed=0, temperature=0.5, **kw), HFPolicy.tiny(
        seed=1, temperature=0.7, **kw
    )


def _checkpoint(policy: HFPolicy, directory) -> None:
    """What save_checkpoint leaves: the loadable policy plus the trainer's state."""
    policy.save_pretrained(directory)
    torch.save({}, directory / STATE_FILE)


def _same_weights(a: HFPolicy, b: HFPolicy) -> bool:
    return all(
        torch.equal(x, y) for x, y in zip(a.model.parameters(), b.model.parameters(), strict=True)
    )


def test_run_directory_loads_final_else_newest_checkpoint(two_models, tmp_path, caplog):
    early, late = two_models
    run = tmp_path / "mytrain"
    _checkpoint(early, run / "checkpoints" / "iter-000005")
    _checkpoint(late, run / "checkpoints" / "iter-000010")
    (run / "checkpoints" / "iter-000015.tmp").mkdir()  # a save cut short: ignored
    with caplog.at_level(logging.INFO, logger="agentgym.policies.hf"):
        policy = load_policy(f"hf:{run}")
    assert _same_weights(policy, late) and policy.temperature == 0.7
    assert "newest checkpoint" in caplog.text and "iter-000010" in caplog.text

    early.save_pretrained(run / "final")  # the run finished: final/ wins over any checkpoint
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="agentgym.policies.hf"):
        policy = load_policy(str(run))  # a bare directory is hf:DIR
    assert _same_weights(policy, early) and policy.temperature == 0.5
    assert "final weights" in caplog.text and str(run / "final") in caplog.text
    # The directories themselves still load as they are.
    assert _same_weights(load_policy(f"hf:{run / 'checkpoints' / 'iter-000010'}"), late)


def test_directory_without_a_model_says_what_was_expected(tmp_path):
    (tmp_path / "empty-run" / "checkpoints").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"holds no model.*final/.*checkpoints/iter-"):
        load_policy(f"hf:{tmp_path / 'empty-run'}")
