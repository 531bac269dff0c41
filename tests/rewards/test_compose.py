"""Composable rewards: weights, gates, per-turn vs outcome parts, unavailable parts."""

from __future__ import annotations

import pytest

from agentgym.errors import ConfigError
from agentgym.rewards import Part, Reward, Unavailable


def _reward() -> Reward:
    return Reward([
        Part("step", lambda c: c["step"], when="turn"),
        Part("execution", lambda c: c["ok"], keep_zero_weight=True),
        Part("style", lambda c: c["style"], weight=0.5, gate="execution"),
        Part("bonus", lambda c: c["bonus"], weight=0.0),
        Part("won", lambda c: c["ok"], omit_zero=True),
    ])


def test_weighted_sum_and_kinds() -> None:
    ctx = {"step": 0.25, "ok": True, "style": 0.8, "bonus": 7.0}
    r = _reward()
    assert r.score(ctx, when="turn").parts == {"step": 0.25}
    out = r.score(ctx, when="outcome")
    assert out.parts == {"execution": 1.0, "style": 0.4, "won": 1.0}  # zero-weight bonus skipped
    assert out.total == pytest.approx(2.4)
    assert r.score(ctx).parts.keys() == {"step", "execution", "style", "won"}


def test_a_closed_gate_skips_the_part_without_calling_it() -> None:
    called = []
    r = Reward([Part("execution", lambda c: c, keep_zero_weight=True),
                Part("judge", lambda c: called.append(c) or 1.0, gate="execution")])
    assert r.score(False).parts == {"execution": 0.0}
    assert called == []
    assert r.score(True).parts == {"execution": 1.0, "judge": 1.0} and called == [True]


def test_unavailable_is_reported_not_scored_and_propagates_through_gates() -> None:
    r = Reward([Part("a", lambda c: Unavailable("timeout")), Part("b", lambda c: 1.0, gate="a"),
                Part("c", lambda c: 2.0)])
    out = r.score(None)
    assert out.parts == {"c": 2.0}
    assert out.unavailable == {"a": "timeout", "b": "gate 'a' unavailable"}


def test_zero_weight_kept_and_omit_zero() -> None:
    r = Reward([Part("execution", lambda c: 1.0, weight=0.0, keep_zero_weight=True),
                Part("won", lambda c: 0.0, omit_zero=True)])
    assert r.score(None).parts == {"execution": 0.0}


def test_with_weights_and_validation() -> None:
    r = _reward()
    assert r.with_weights({"bonus": 2.0}).score({"ok": False, "bonus": 1.0}, "outcome").parts == \
        {"execution": 0.0, "bonus": 2.0}
    with pytest.raises(ConfigError, match="unknown reward part"):
        r.with_weights({"nope": 1.0})
    with pytest.raises(ConfigError, match="earlier part"):
        Reward([Part("x", float, gate="y"), Part("y", float)])
    with pytest.raises(ConfigError, match="same kind"):
        Reward([Part("y", float, when="turn"), Part("x", float, gate="y")])
    with pytest.raises(ConfigError, match="twice"):
        Reward([Part("x", float), Part("x", float)])


def test_apply_refuses_an_env_that_cannot_report_unavailable() -> None:
    class Plain:
        def __init__(self) -> None:
            self.parts: dict[str, float] = {}

        def add_reward(self, name: str, value: float) -> None:
            self.parts[name] = value

    env = Plain()
    Reward([Part("a", lambda c: 1.0)]).apply(env, None)
    assert env.parts == {"a": 1.0}
    with pytest.raises(ConfigError, match="RewardReporting"):
        Reward([Part("b", lambda c: Unavailable("x"))]).apply(env, None)
