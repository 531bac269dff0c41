"""reweight_rewards: the training reward from weighted reward parts."""

from __future__ import annotations

import pytest

from agentgym.credit import compute_advantages, reweight_rewards
from agentgym.errors import ConfigError
from agentgym.train.config import TrainConfig
from agentgym.trajectory import Trajectory, Turn


def _turn(**parts: float) -> Turn:
    return Turn("a", "o", sum(parts.values()), "s", reward_parts=dict(parts))


def test_weights_recompute_turn_rewards_and_leave_inputs_alone() -> None:
    t = Trajectory("t", "g", turns=[_turn(invalid_action=-0.1), _turn(question=0.2),
                                     _turn(success=1.0, invalid_action=-0.1), Turn("a", "o", 0.5, "s")])
    out = reweight_rewards([t], {"invalid_action": 0.0, "question": 0.5})
    assert [turn.reward for turn in out[0].turns] == pytest.approx([0.0, 0.1, 1.0, 0.5])  # no parts: kept
    assert out[0].episode_return == pytest.approx(1.6)
    assert [turn.reward for turn in t.turns] == pytest.approx([-0.1, 0.2, 0.9, 0.5])  # the input is unchanged
    assert reweight_rewards([t], {})[0].episode_return == pytest.approx(t.episode_return)


def test_success_only_reward_changes_which_failure_is_preferred() -> None:
    # With the penalty, the failure that avoided invalid actions beats the one that tried;
    # with success alone they tie (GRPO, mean baseline).
    tried = Trajectory("t", "g", turns=[_turn(invalid_action=-0.1), _turn(invalid_action=-0.1)])
    idle = Trajectory("t", "g", turns=[_turn(), _turn()])
    won = Trajectory("t", "g", turns=[_turn(invalid_action=-0.1), _turn(success=1.0)])
    shaped = compute_advantages("grpo", [tried, idle, won], norm="mean")
    assert shaped[0][0] < shaped[1][0]
    plain = compute_advantages("grpo", reweight_rewards([tried, idle, won], {"invalid_action": 0}), norm="mean")
    assert plain[0][0] == pytest.approx(plain[1][0]) == pytest.approx(-1 / 3)
    assert plain[2][0] == pytest.approx(2 / 3)


def test_config_reads_a_table_and_rejects_non_numbers(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[reward_weights]\ninvalid_action = 0.0\nquestion = 0\n')
    assert TrainConfig.from_toml(path).reward_weights == {"invalid_action": 0.0, "question": 0}
    with pytest.raises(ConfigError, match="finite numbers"):
        TrainConfig(reward_weights={"question": "none"})
    with pytest.raises(ConfigError, match="finite numbers"):
        reweight_rewards([], {"question": float("nan")})
