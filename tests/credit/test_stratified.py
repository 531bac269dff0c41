"""Stratified GRPO (SAN blended with the group normalisation), against
hand-computed values; strata keys."""

from __future__ import annotations

import math

import pytest

from agentgym.credit import (
    compute_advantages,
    gigpo,
    grpo,
    needs_scoring,
    strata,
    strata_stats,
    stratified,
    stratified_gigpo,
)
from agentgym.credit.stratified import resolve_key, tool_call_counts
from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory, Turn
from tests.credit.helpers import assert_rows


def _t(group: str, actions: list[str], ret: float, **metrics: float) -> Trajectory:
    rewards = [0.0] * (len(actions) - 1) + [ret]
    turns = [Turn(a, "o", r, "s") for a, r in zip(actions, rewards, strict=True)]
    return Trajectory("task", group, turns=turns, metrics={"success": float(ret > 0), **metrics})


ASK = '<tool_call>{"name": "ask", "arguments": {"question": "which?"}}</tool_call>'


def _group() -> list[Trajectory]:
    return [
        _t("g", [ASK, ASK], 1.0),  # stratum {ask: 2}
        _t("g", ['ask("colour?")', 'ask("size?")'], 0.0),  # {ask: 2} too (call syntax parses alike)
        _t("g", ['pick("mug")'], 1.0),  # {pick: 1}: alone
        _t("g", ["I give up"], 0.0),  # {<unparsed>: 1}: alone
    ]


def test_golden_blend_with_single_member_strata() -> None:
    ts = _group()
    assert strata(ts) == [[0, 1], [2], [3]]
    san = 0.5 / (math.sqrt(0.5) + 1e-6)  # stratum {0, 1}: returns 1, 0 -> mean 0.5, Bessel std sqrt(0.5)
    gn = 0.5 / (math.sqrt(1 / 3) + 1e-6)  # group: returns 1, 0, 1, 0 -> mean 0.5, Bessel std sqrt(1/3)
    expected = [[0.5 * san + 0.5 * gn] * 2, [-0.5 * san - 0.5 * gn] * 2, [0.5 * gn], [-0.5 * gn]]
    assert_rows(stratified(ts, alpha=0.5), expected)
    assert_rows(compute_advantages("stratified", ts, alpha=0.5, key="tool_calls", norm="mean_std"), expected)
    # alpha = 1: singleton strata get 0 (nothing to compare with).
    assert_rows(stratified(ts, alpha=1.0), [[san] * 2, [-san] * 2, [0.0], [0.0]])


def test_alpha_zero_and_a_single_stratum_are_grpo() -> None:
    ts = _group()
    assert_rows(stratified(ts, alpha=0.0), grpo(ts))
    assert_rows(stratified(ts, alpha=0.7, key=lambda t: "same"), grpo(ts))


def test_mean_norm_and_strata_stay_inside_groups() -> None:
    ts = [_t("a", [ASK], 1.0), _t("b", [ASK], 0.0), _t("a", [ASK], 0.0), _t("b", [ASK], 0.0)]
    assert strata(ts) == [[0, 2], [1, 3]]
    assert_rows(stratified(ts, alpha=1.0, norm="mean"), [[0.5], [0.0], [-0.5], [0.0]])


def test_keys_metric_turns_function_and_module() -> None:
    ts = [_t("g", [ASK], 1.0, questions_asked=1.0), _t("g", [ASK, ASK], 0.0, questions_asked=1.0),
          _t("g", [ASK], 0.0, questions_asked=0.0)]
    assert strata(ts, "metric:questions_asked") == [[0, 1], [2]]
    assert strata(ts, "turns") == [[0, 2], [1]]
    assert strata(ts, lambda t: t.success) == [[0], [1, 2]]
    assert resolve_key("agentgym.credit.stratified:tool_call_counts") is tool_call_counts
    assert tool_call_counts(ts[1]) == (("ask", 2),)
    stats = strata_stats(ts, "turns")
    assert (stats["credit/strata"], stats["credit/strata_singleton_frac"]) == (2.0, pytest.approx(1 / 3))


@pytest.mark.parametrize("key", ["tool_count", "metric:", "agentgym.nothing_here:f", "agentgym.credit:ESTIMATORS"])
def test_bad_keys_fail_with_the_accepted_forms(key: str) -> None:
    with pytest.raises(ConfigError):
        resolve_key(key)


def test_bad_alpha_and_empty_batch() -> None:
    with pytest.raises(ConfigError, match="alpha"):
        stratified(_group(), alpha=1.5)
    assert stratified([]) == []


def test_inside_gigpo_the_episode_level_is_stratified_and_the_step_level_unchanged() -> None:
    ts = _group()
    ts[0].turns[0].anchor = ts[2].turns[0].anchor = "start"  # one step group across trajectories 0 and 2
    params = {"gamma": 0.9, "omega": 0.7}
    both = stratified_gigpo(ts, alpha=0.5, **params)
    # = Stratified GRPO's episode term + GiGPO's step term (GiGPO minus its GRPO episode term).
    expected = [[s + (g - e) for s, g in zip(srow, grow, strict=True)]
                for srow, grow, e in zip(stratified(ts, alpha=0.5), gigpo(ts, **params),
                                         [row[0] for row in grpo(ts)], strict=True)]
    assert_rows(both, expected)
    assert both[0][0] != both[0][1]  # the step level is there
    assert_rows(stratified_gigpo(ts, alpha=0.0, **params), gigpo(ts, **params))
    assert_rows(stratified_gigpo(ts, alpha=0.5, gamma=0.9, omega=0.0), stratified(ts, alpha=0.5))
    assert compute_advantages("stratified_gigpo", ts, alpha=0.5, key="tool_calls", **params) == both
    assert needs_scoring("stratified_gigpo", {"rewards": "igpo"}) and not needs_scoring("stratified_gigpo")
