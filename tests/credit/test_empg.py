"""EMPG: entropy-modulated advantages, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from agentgym.credit import empg, empg_metrics
from agentgym.errors import ConfigError
from tests.credit.helpers import assert_rows


def test_golden_modulation_and_future_bonus() -> None:
    adv = [[1.0, 1.0, 1.0], [-1.0, -1.0]]
    ent = [[0.0, 1.0, 2.0], [2.0, 0.0]]
    # Min-max over the batch's 5 steps: Hn = 0, .5, 1 | 1, 0; exp(-Hn) = 1, e^-.5, e^-1 | e^-1, 1.
    e = [1.0, math.exp(-0.5), math.exp(-1.0), math.exp(-1.0), 1.0]
    mean = sum(e) / 5  # the scale g = exp(-Hn) / mean has batch mean 1
    g = [x / mean for x in e]
    f = e  # k_future = 1: the clarity of each step
    expected = [[g[0] + 0.1 * f[1], g[1] + 0.1 * f[2], g[2]], [-g[3] + 0.1 * f[4], -g[4]]]
    assert_rows(empg(adv, ent, k=1.0, k_future=1.0, zeta=0.1), expected, rel=1e-7)
    # Confident steps are amplified, uncertain ones attenuated; a confident error is penalised more.
    assert g[0] > 1 > g[2] and empg(adv, ent, zeta=0.0)[1][1] < -1.0


def test_the_scale_keeps_the_batch_mean() -> None:
    ent = [[0.3, 2.5, 1.1], [0.0], [4.0, 0.7]]
    out = empg([[1.0] * 3, [1.0], [1.0] * 2], ent, k=2.0, zeta=0.0)
    assert sum(a for row in out for a in row) / 6 == pytest.approx(1.0)


def test_all_equal_entropies_leave_advantages_but_the_bonus() -> None:
    adv = [[0.5, -2.0, 1.0]]
    assert_rows(empg(adv, [[0.7, 0.7, 0.7]], zeta=0.1), [[0.6, -1.9, 1.0]])
    assert empg(adv, [[0.7, 0.7, 0.7]], zeta=0.0) == adv


def test_turns_without_tokens_keep_their_advantage_and_give_no_bonus() -> None:
    adv = [[1.0, 1.0], [2.0]]
    out = empg(adv, [[None, 0.0], [1.0]], zeta=0.1)
    e = [1.0, math.exp(-1.0)]
    mean = sum(e) / 2
    assert_rows(out, [[1.0 + 0.1 * 1.0, 1.0 / mean], [2.0 * e[1] / mean]], rel=1e-7)
    assert empg([[3.0]], [[None]]) == [[3.0]]


def test_empty_batch_shapes_and_parameters() -> None:
    assert empg([], []) == [] and empg_metrics([]) == {}
    with pytest.raises(ValueError, match="one value per turn"):
        empg([[1.0, 1.0]], [[0.1]])
    with pytest.raises(ConfigError, match="empg_zeta"):
        empg([[1.0]], [[0.1]], zeta=-0.1)
    assert empg_metrics([[1.0, None], [3.0]]) == {
        "credit/step_entropy_mean": 2.0, "credit/step_entropy_min": 1.0, "credit/step_entropy_max": 3.0}
