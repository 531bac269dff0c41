"""SPA's progress estimator: features at turn ends, fitting, state round trip."""

from __future__ import annotations

import pytest
import torch

from agentgym.train.spa import ProgressEstimator, progress_loss
from agentgym.trajectory import Trajectory, Turn


def test_fit_makes_the_contributions_add_up_to_the_outcome() -> None:
    torch.manual_seed(0)
    feats = [[torch.randn(3), torch.randn(3)], [torch.randn(3)], [None, torch.randn(3)]]
    outcomes = [1.0, 0.0, 0.5]
    est = ProgressEstimator(3, lr=0.1)
    assert est.predict(feats) == [[0.0, 0.0], [0.0], [0.0, 0.0]]  # starts at zero: no progress signal
    first = est.fit(feats, outcomes, steps=300)
    assert first == pytest.approx((1.0 + 0.0 + 0.25) / 3)  # (0 - R)^2 averaged before the first step
    c = est.predict(feats)
    assert [sum(row) for row in c] == pytest.approx(outcomes, abs=1e-3)
    assert c[2][0] == 0.0  # a turn without tokens contributes nothing
    assert float(progress_loss(torch.tensor([1.0, 0.5]), torch.tensor([1.0, 0.0]))) == 0.125


def test_state_round_trip_continues_identically() -> None:
    feats = [[torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])]]
    a = ProgressEstimator(2, lr=0.05)
    a.fit(feats, [1.0], steps=3)
    b = ProgressEstimator(2, lr=0.05)
    b.load_state_dict(a.state_dict())
    a.fit(feats, [1.0], steps=2)
    b.fit(feats, [1.0], steps=2)
    assert a.predict(feats) == b.predict(feats)


def test_features_are_the_last_hidden_state_at_each_turn_end() -> None:
    import agentgym

    policy = agentgym.load_policy("tiny")
    model = policy.model
    t0 = Turn("a", "o", 0.0, "s", prompt_ids=[5, 6, 7], response_ids=[8, 9])
    t1 = Turn("b", "o", 1.0, "s", prompt_ids=[5, 6, 7, 8, 9, 10], response_ids=[11])  # chains: one packed row
    scripted = Turn("c", "o", 0.0, "s")
    traj = Trajectory("t", "g", turns=[t0, t1, scripted])
    feats = ProgressEstimator(model.config.hidden_size, lr=0.1).features(model, [traj], pad_token_id=0,
                                                                         micro_batch_size=4)
    with torch.no_grad():
        hidden = model(input_ids=torch.tensor([[5, 6, 7, 8, 9, 10, 11]]), output_hidden_states=True).hidden_states[-1]
    assert torch.allclose(feats[0][0], hidden[0, 4], atol=1e-5)  # the last token of turn 0's response
    assert torch.allclose(feats[0][1], hidden[0, 6], atol=1e-5)
    assert feats[0][2] is None
