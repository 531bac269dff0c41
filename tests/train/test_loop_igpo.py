"""IGPO inside the training loop: information gain is scored only for the groups
that survive filtering, with the configured gain."""

from __future__ import annotations

import pytest

from agentgym.errors import ConfigError
from agentgym.train import train


def test_information_gain_is_scored_for_the_groups_kept_only(tiny_config, monkeypatch) -> None:
    import agentgym.train.loop as loop

    kept, scored = [], []
    real_filter, real_score = loop.filter_groups, loop.score_information_gain

    def keep_first_group(trajectories):  # noqa: ANN001, ANN202
        _, stats = real_filter(trajectories)
        first = [t for t in trajectories if t.group_id == trajectories[0].group_id]
        kept.append([id(t) for t in first])
        return first, stats

    def spy(policy, trajectories, **kwargs):  # noqa: ANN001, ANN003, ANN202
        scored.append(([id(t) for t in trajectories], kwargs["info_gain"]))
        return real_score(policy, trajectories, **kwargs)

    monkeypatch.setattr(loop, "filter_groups", keep_first_group)
    monkeypatch.setattr(loop, "score_information_gain", spy)
    cfg = tiny_config.replace(estimator="igpo", filter_groups=True, iterations=1, info_gain="logprob")
    train(cfg)
    assert len(kept) == 1 and 0 < len(kept[0]) < cfg.tasks_per_iter * cfg.group_size  # a group was dropped
    assert scored == [(kept[0], "logprob")]


def test_info_gain_is_validated_with_a_fix() -> None:
    from agentgym.train import TrainConfig

    assert TrainConfig().info_gain == "prob"  # the paper's definition
    with pytest.raises(ConfigError, match="'prob'.*'logprob'"):
        TrainConfig(info_gain="log_prob_diff")
    assert TrainConfig.from_args(["--info_gain", "logprob"]).info_gain == "logprob"
