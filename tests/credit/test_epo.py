"""EPO's entropy terms, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.credit.epo import (
    band_penalty,
    epo_history_entry,
    epo_reference,
    epo_term,
    phase_weight,
    trajectory_weights,
)


def test_phase_weight_eases_to_0_8_at_half_then_decays_fast() -> None:
    assert phase_weight(0, 10) == 1.0
    assert phase_weight(5, 10) == pytest.approx(0.8)
    # First half: 1 - 0.2 (1 - e^{-4p}) / (1 - e^{-2}); at p = 0.25:
    assert phase_weight(25, 100) == pytest.approx(1 - 0.2 * (1 - math.exp(-1)) / (1 - math.exp(-2)))
    # Second half: 0.8 e^{-3 (2p - 1)}; continuous at p = 1/2, ends at 0.8 e^{-3}.
    assert phase_weight(75, 100) == pytest.approx(0.8 * math.exp(-1.5))
    assert phase_weight(4999, 10000) == pytest.approx(phase_weight(5001, 10000), abs=1e-3)
    assert phase_weight(10, 10) == pytest.approx(0.8 * math.exp(-3))
    assert phase_weight(12, 10) == phase_weight(10, 10) and phase_weight(3, 0) == 1.0
    weights = [phase_weight(k, 20) for k in range(21)]
    assert all(a >= b for a, b in zip(weights, weights[1:], strict=False))


def test_band_penalty_is_a_hinge_outside_the_band() -> None:
    kw = {"kappa_low": 0.5, "kappa_high": 1.5}
    assert band_penalty(0.5, 1.0, **kw) == 0.0 and band_penalty(1.5, 1.0, **kw) == 0.0
    assert band_penalty(1.0, 1.0, **kw) == 0.0
    assert band_penalty(0.1, 1.0, **kw) == pytest.approx(0.4)
    assert band_penalty(2.5, 2.0, **kw) == 0.0  # the band scales with the reference
    assert band_penalty(3.5, 2.0, **kw) == pytest.approx(0.5)


def test_epo_term_golden_and_its_gradient_pulls_entropy_into_the_band() -> None:
    h = torch.tensor([0.2, 1.2, 2.0], requires_grad=True)
    w = torch.tensor([1.0, 0.5, 0.5])
    ref = torch.ones(3)
    loss, pen = epo_term(h, w, ref, coef=0.1, smooth=1.0, kappa_low=0.5, kappa_high=1.5)
    # 0.1 * [1 * (0.3 - 0.2) + 0.5 * (0 - 1.2) + 0.5 * (0.5 - 2.0)]; penalty 1 * 0.3 + 0 + 0.5 * 0.5
    assert float(loss.detach()) == pytest.approx(-0.125) and float(pen.detach()) == pytest.approx(0.55)
    loss.backward()
    # d/dh of coef * w * (smooth * P - h): below the band -coef*w*(1 + 1), inside -coef*w, above coef*w*(1 - 1)
    assert h.grad.tolist() == pytest.approx([-0.2, -0.05, 0.0])
    # No history (ref None) or no smoothing weight: the trajectory-level bonus alone.
    bonus, none = epo_term(torch.tensor([0.2, 2.0]), torch.tensor([1.0, 1.0]), None, coef=0.1, smooth=1.0,
                           kappa_low=0.5, kappa_high=1.5)
    assert float(bonus) == pytest.approx(-0.22) and float(none) == 0.0
    assert epo_term(0.2, 1.0, 1.0, coef=0.1, smooth=0.0, kappa_low=0.5, kappa_high=1.5) == (-0.02, 0.0)


def test_trajectory_weights_count_each_trajectory_once() -> None:
    w = trajectory_weights([1, 4, 0])
    assert w == [1.0, 0.25, 0.0]
    # Turn weights of the batch: each trajectory sums to 1.
    assert [w[0]] * 1 + [w[1]] * 4 == [1.0, 0.25, 0.25, 0.25, 0.25]


def test_history_entry_and_reference() -> None:
    sums, counts = epo_history_entry([[1.0, 3.0], [2.0, None, 5.0], []])
    assert (sums, counts) == ([3.0, 3.0, 5.0], [2.0, 1.0, 1.0])
    assert epo_history_entry([]) == ([], [])
    assert epo_reference([], window=5, turns=3) is None
    assert epo_reference([[None, None]], window=5, turns=2) is None  # an iteration without tokens
    history = [[9.0, 9.0], [1.0, 2.0], [3.0, None]]
    # window 2: the first entry is forgotten; index 1 only in [1, 2]; index 2 never seen: mean of (1, 2, 3).
    assert epo_reference(history, window=2, turns=3) == [2.0, 2.0, 2.0]
    assert epo_reference(history, window=3, turns=2) == [13.0 / 3, 5.5]
