"""IGPO against hand-computed values, and the GiGPO + IGPO combination."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.credit import gigpo, grpo, igpo, igpo_rewards
from agentgym.errors import ConfigError
from tests.credit.helpers import assert_rows, traj

EPS = 1e-6


def _z(x: list[float]) -> list[float]:
    a = np.asarray(x, dtype=np.float64)
    return list((a - a.mean()) / (a.std(ddof=1) + EPS))


def _group(scale: float = 1.0) -> list:
    # T1: two information gains then success; T2: one gain then failure.
    return [
        traj("g", [0.0, 0.0, 1.0], ["a", "b", "c"], gains=[0.3 * scale, 0.1 * scale, None]),
        traj("g", [0.0, 0.0], ["a", "d"], gains=[-0.2 * scale, None]),
    ]


def test_igpo_rewards_normalise_gains_and_outcomes_separately() -> None:
    ig = _z([0.3, 0.1, -0.2])
    out = _z([1.0, 0.0])  # = +-1/sqrt(2)
    assert_rows(igpo_rewards(_group()), [[ig[0], ig[1], out[0]], [ig[2], out[1]]], rel=1e-9)


def test_igpo_advantage_is_discounted_sum_gamma_one() -> None:
    ig, out = _z([0.3, 0.1, -0.2]), _z([1.0, 0.0])
    expected = [[ig[0] + ig[1] + out[0], ig[1] + out[0], out[0]], [ig[2] + out[1], out[1]]]
    assert_rows(igpo(_group()), expected, rel=1e-9)


def test_igpo_discounting() -> None:
    ig, out = _z([0.3, 0.1, -0.2]), _z([1.0, 0.0])
    g = 0.5
    expected = [
        [ig[0] + g * ig[1] + g * g * out[0], ig[1] + g * out[0], out[0]],
        [ig[2] + g * out[1], out[1]],
    ]
    assert_rows(igpo(_group(), gamma=g), expected, rel=1e-9)


def test_igpo_separate_normalisation_makes_gain_scale_irrelevant() -> None:
    # Scaling every information gain by 1000 changes nothing after its own z-score;
    # with a joint normalisation it would swamp the outcome.
    assert_rows(igpo(_group(1000.0)), igpo(_group()), rel=1e-5)


def test_igpo_mean_norm_hand_values() -> None:
    # gains 0.3, 0.1, -0.2 (mean 0.2/3); outcomes 1, 0 (mean 0.5)
    m = 0.2 / 3
    got = igpo(_group(), norm="mean")
    assert_rows(got, [[0.3 - m + 0.1 - m + 0.5, 0.1 - m + 0.5, 0.5], [-0.2 - m - 0.5, -0.5]])


def test_igpo_outcome_is_the_episode_return() -> None:
    # An invalid-action penalty on a middle turn is kept in the outcome.
    ts = [traj("g", [-0.1, 1.0], gains=[0.0, None]), traj("g", [0.0, 1.0], gains=[0.0, None])]
    assert_rows(igpo_rewards(ts, norm="mean"), [[0.0, -0.05], [0.0, 0.05]])


def test_igpo_single_turn_trajectories_need_no_scoring() -> None:
    ts = [traj("g", [1.0]), traj("g", [0.0])]
    assert igpo(ts, norm="mean") == [[0.5], [-0.5]]


def test_igpo_requires_scoring() -> None:
    with pytest.raises(ConfigError, match="score_information_gain"):
        igpo([traj("g", [0.0, 1.0])])


def test_gigpo_over_igpo_rewards_combination() -> None:
    ts = _group()
    r = igpo_rewards(ts)
    gamma, omega = 0.95, 1.0
    # Step group "a" = {T1 t0, T2 t0}: discounted IGPO returns, z-scored among the two.
    g_t1 = r[0][0] + gamma * r[0][1] + gamma**2 * r[0][2]
    g_t2 = r[1][0] + gamma * r[1][1]
    za = _z([g_t1, g_t2])
    e = grpo(ts)  # the episode level stays GRPO on env returns
    expected = [[e[0][0] + omega * za[0], e[0][1], e[0][2]], [e[1][0] + omega * za[1], e[1][1]]]
    assert_rows(gigpo(ts, rewards="igpo", gamma=gamma, omega=omega), expected, rel=1e-9)
