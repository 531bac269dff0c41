"""SPA's turn rewards and advantages, against hand-computed values."""

from __future__ import annotations

import pytest

from agentgym.credit import compute_advantages, spa, spa_rewards
from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory, Turn
from tests.credit.helpers import assert_rows


def _traj(group: str, rewards: list[float], valid: list[bool]) -> Trajectory:
    turns = [Turn(f"a{t}", "o", r, f"s{t}", action_valid=v) for t, (r, v) in enumerate(zip(rewards, valid, strict=True))]
    return Trajectory("task", group, turns=turns)


def test_turn_reward_is_contribution_plus_grounding() -> None:
    t = _traj("g", [0.0, 1.0], [False, True])
    assert spa_rewards([[0.25, 0.75]], [t.turns], alpha=2.0, beta=0.5) == [[0.5, 2.0]]


def test_golden_advantages_mean_std_and_discount() -> None:
    a = _traj("g", [0.0, 1.0], [True, True])
    b = _traj("g", [0.0], [False])
    # Dense r = c + 0.5 g: a [0.4 + 0.5, 0.6 + 0.5] = [0.9, 1.1], b [0.0]; z-scored (Bessel std):
    dense = [0.9, 1.1, 0.0]
    m = sum(dense) / 3
    s = (sum((x - m) ** 2 for x in dense) / 2) ** 0.5
    z = [(x - m) / (s + 1e-6) for x in dense]
    # Outcomes 1 and 0: z-scored to +-1/sqrt(2) (std of two values), added to each last turn.
    o = 0.5 / ((0.5**0.5) + 1e-6)
    expected = [[z[0] + 0.5 * (z[1] + o), z[1] + o], [z[2] - o]]
    got = spa([a, b], contributions=[[0.4, 0.6], [0.0]], alpha=1.0, beta=0.5, gamma=0.5)
    assert_rows(got, expected, rel=1e-9)


def test_untrained_estimator_gives_grounding_and_outcome_only() -> None:
    a, b = _traj("g", [0.0, 1.0], [True, True]), _traj("g", [0.0, 0.0], [False, True])
    got = spa([a, b], norm="mean")
    # Dense = grounding 0.5 * valid: [0.5, 0.5, 0, 0.5], mean 0.375; outcomes 1, 0 -> +-0.5.
    assert_rows(got, [[0.125 + 0.625, 0.625], [-0.375 + 0.125 - 0.5, 0.125 - 0.5]])
    assert compute_advantages("spa", [a, b], norm="mean") == got


def test_single_member_group_and_empty_batch() -> None:
    # One episode: its outcome normalises to 0; its turns still compare with each other.
    solo = _traj("alone", [0.0, 1.0], [True, False])
    z = 0.05 / (0.05 * 2**0.5 + 1e-6)  # dense [0.8, 0.7]: mean 0.75, Bessel std 0.0707
    assert_rows(spa([solo], contributions=[[0.3, 0.7]]), [[0.0, -z]])
    assert spa([_traj("one", [1.0], [True])], contributions=[[0.9]]) == [[0.0]]
    assert spa([]) == []
    assert spa([Trajectory("task", "g")]) == [[]]


def test_bad_inputs_fail_clearly() -> None:
    t = _traj("g", [1.0], [True])
    with pytest.raises(ValueError, match="one value per turn"):
        spa([t], contributions=[[0.1, 0.2]])
    with pytest.raises(ConfigError, match="gamma"):
        spa([t], gamma=1.5)
