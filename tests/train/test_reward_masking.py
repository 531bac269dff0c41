"""The trainer drops episodes whose judged reward part is unavailable, and
monitors judge-vs-verifier agreement (issue 17, item 5)."""

from __future__ import annotations

import dataclasses
import logging
import zlib

import pytest

from agentgym.envs.guess_number.env import GuessNumberEnv
from agentgym.registry import register
from agentgym.rewards.env import is_masked
from agentgym.rewards.monitor import judge_agreement
from agentgym.train import train
from agentgym.train.logging import read_metrics
from agentgym.trajectory import load_jsonl


class HalfJudgedGuess(GuessNumberEnv):
    """GuessNumber whose "judge" could not answer on about half the tasks (by task
    id), and which passes every episode (a gullible judge: agreement = success rate)."""

    def episode_metrics(self) -> dict[str, float]:
        assert self.task is not None
        unavailable = float(zlib.crc32(self.task.id.encode()) % 2)
        return {**super().episode_metrics(), "reward_unavailable": unavailable, "judge_pass": 1.0}


@pytest.fixture(scope="module", autouse=True)
def _registered() -> None:
    register("HalfJudgedGuess-v0", HalfJudgedGuess, override=True)


def test_masked_episodes_are_left_out_and_agreement_is_logged(tiny_config, caplog) -> None:
    cfg = dataclasses.replace(tiny_config, env="HalfJudgedGuess-v0", iterations=1, tasks_per_iter=6,
                              save_rollouts=True)
    with caplog.at_level(logging.WARNING, logger="agentgym.train.loop"):
        train(cfg)
    episodes = load_jsonl(f"{cfg.out_dir}/rollouts.jsonl")
    masked = [t for t in episodes if is_masked(t)]
    assert 0 < len(masked) < len(episodes)  # the fixture's tasks give both kinds
    row = next(r for r in read_metrics(f"{cfg.out_dir}/metrics.jsonl") if "rollout/success" in r)
    assert row["rollout/reward_unavailable"] == len(masked)
    assert row["rollout/episodes"] == len(episodes) - len(masked)  # statistics over the kept ones only
    assert row["rollout/env_steps"] == sum(len(t.turns) for t in episodes)  # every step was taken
    expected = judge_agreement(episodes)
    assert row["rewards/judge_agreement"] == pytest.approx(expected["judge_agreement"])
    assert row["rewards/judge_episodes"] == len(episodes)
    assert expected["judge_agreement"] < 0.8  # the untrained policy rarely succeeds, the judge passes all:
    assert "fool the judge" in caplog.text     # they diverge, and the trainer says so
