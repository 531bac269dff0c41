"""A tiny, fast training config shared by the trainer tests."""

from __future__ import annotations

import pytest

from agentgym.train.config import TrainConfig


@pytest.fixture
def tiny_config(tmp_path) -> TrainConfig:
    return TrainConfig(
        out_dir=str(tmp_path / "run"),
        policy="tiny",
        env="GuessNumber-v0",
        env_kwargs={"difficulty": "easy"},
        iterations=2,
        tasks_per_iter=2,
        group_size=2,
        max_turns=2,
        max_new_tokens=8,
        eval_tasks=2,
        eval_every=0,
        checkpoint_every=0,
        lr=1e-2,
        tensorboard=False,
        threads=1,
    )
