"""GRPO and RLOO against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.credit import grpo, rloo
from agentgym.errors import ConfigError
from tests.credit.helpers import assert_rows, traj

EPS = 1e-6


def test_grpo_mean_std_matches_hand_values() -> None:
    # returns 1, 0, 0, 1: mean 0.5; Bessel std = sqrt(4 * 0.25 / 3) = sqrt(1/3)
    ts = [traj("g", [0.0, 1.0]), traj("g", [0.0]), traj("g", [0.0, 0.0, 0.0]), traj("g", [1.0])]
    s = math.sqrt(1 / 3)
    a = 0.5 / (s + EPS)
    assert_rows(grpo(ts), [[a, a], [-a], [-a, -a, -a], [a]], rel=1e-9)


def test_grpo_std_is_bessel_corrected_like_torch() -> None:
    returns = [2.0, 0.0, 1.0, 0.5, -1.0]
    ts = [traj("g", [r]) for r in returns]
    r = torch.tensor(returns, dtype=torch.float64)
    expected = ((r - r.mean()) / (r.std() + EPS)).tolist()
    assert [row[0] for row in grpo(ts)] == pytest.approx(expected, rel=1e-12)


def test_grpo_mean_norm_is_centred_return() -> None:
    ts = [traj("g", [2.0]), traj("g", [0.0]), traj("g", [1.0])]
    assert grpo(ts, norm="mean") == [[1.0], [-1.0], [0.0]]


def test_grpo_groups_are_independent_and_order_is_kept() -> None:
    # Interleaved groups: a = (1, 0), b = (5, 5, 5) all equal -> zeros; singleton c -> zero.
    ts = [
        traj("a", [1.0]),
        traj("b", [5.0]),
        traj("a", [0.0]),
        traj("b", [5.0]),
        traj("c", [3.0]),
        traj("b", [5.0]),
    ]
    s = math.sqrt(0.5)  # std of (1, 0) with Bessel: sqrt(2 * 0.25 / 1)
    a = 0.5 / (s + EPS)
    assert_rows(grpo(ts), [[a], [0.0], [-a], [0.0], [0.0], [0.0]])


def test_grpo_rejects_unknown_norm() -> None:
    with pytest.raises(ConfigError, match="mean_std"):
        grpo([traj("g", [1.0])], norm="zscore")  # type: ignore[arg-type]


def test_rloo_leave_one_out_baseline() -> None:
    # returns 1, 0, 0, 1: baseline of 0 is (1 + 0 + 1) / 3
    ts = [traj("g", [1.0]), traj("g", [0.0, 0.0]), traj("g", [0.0]), traj("g", [0.5, 0.5])]
    assert_rows(rloo(ts), [[1 - 1 / 3], [-2 / 3, -2 / 3], [-2 / 3], [1 - 1 / 3, 1 - 1 / 3]])


def test_rloo_equals_scaled_centred_return() -> None:
    # A_i = n/(n-1) (R_i - mean): an identity that pins the baseline down.
    returns = [3.0, 1.0, 0.0, 2.0, 2.0]
    ts = [traj("g", [r]) for r in returns]
    m = sum(returns) / 5
    assert [row[0] for row in rloo(ts)] == pytest.approx([5 / 4 * (r - m) for r in returns])


def test_rloo_singleton_and_all_equal_groups_are_zero() -> None:
    ts = [traj("solo", [1.0]), traj("eq", [1.0]), traj("eq", [1.0])]
    assert rloo(ts) == [[0.0], [0.0], [0.0]]
