"""Reinforce-Rej: the rejection rule (by outcome, logged per group) and the
plain REINFORCE advantage, against hand-computed values."""

from __future__ import annotations

import logging

import pytest

from agentgym.credit import (
    compute_advantages,
    filter_groups,
    reinforce,
    reject_groups,
    rejection_stats,
)
from agentgym.errors import ConfigError
from tests.credit.helpers import assert_rows, traj


def _batch():
    return [
        traj("mixed", [0.0, 1.0]),  # success, return 1
        traj("solved", [1.0]),
        traj("mixed", [0.0]),
        traj("failed", [-0.1]),  # shaped returns differ, but both failed
        traj("solved", [1.0]),
        traj("failed", [0.0]),
        traj("mixed", [0.0]),
        traj("solo", [1.0]),
    ]


def test_both_drops_all_solved_and_all_failed_groups_by_outcome_not_return() -> None:
    ts = _batch()
    kept, decisions = reject_groups(ts)
    assert kept == [ts[0], ts[2], ts[6]]
    assert [(d.group_id, d.size, d.successes, d.kept, d.reason) for d in decisions] == [
        ("mixed", 3, 1, True, "mixed"),
        ("solved", 2, 2, False, "all_success"),
        ("failed", 2, 0, False, "all_failure"),
        ("solo", 1, 1, False, "all_success"),
    ]
    # DAPO's filter_groups (on returns) would have kept the failed group: its returns differ.
    assert ts[3] in filter_groups(ts)[0]
    stats = rejection_stats(decisions)
    assert (stats.groups, stats.dropped, stats.dropped_all_success, stats.dropped_all_failure) == (4, 3, 2, 1)
    assert stats.as_metrics("credit/rej_")["credit/rej_groups_dropped_all_min"] == 1.0


@pytest.mark.parametrize(
    ("drop", "kept_groups"),
    [("all_failure", ["mixed", "solved", "mixed", "solved", "mixed", "solo"]),
     ("all_success", ["mixed", "mixed", "failed", "failed", "mixed"])],
)
def test_one_sided_rules(drop: str, kept_groups: list[str]) -> None:
    kept, _ = reject_groups(_batch(), drop=drop)  # type: ignore[arg-type]
    assert [t.group_id for t in kept] == kept_groups


def test_the_rule_is_filter_groups_on_binary_outcomes() -> None:
    ts = [traj(g, [r]) for g, r in (("a", 1.0), ("a", 0.0), ("b", 1.0), ("b", 1.0), ("c", 0.0), ("c", 0.0))]
    assert reject_groups(ts)[0] == filter_groups(ts)[0] == ts[:2]


def test_drops_are_logged_with_their_reason(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="agentgym.credit.reinforce_rej"):
        reject_groups(_batch())
    assert "dropped 3 of 4 groups" in caplog.text and "failed (all_failure, 0/2)" in caplog.text


def test_reinforce_is_return_minus_group_mean_without_std() -> None:
    ts = [t for t in _batch() if t.group_id == "mixed"]  # returns 1, 0, 0
    assert_rows(reinforce(ts), [[2 / 3, 2 / 3], [-1 / 3], [-1 / 3]])
    # Scale is kept (no std division): returns 10, 0 give +-5, where GRPO would give +-0.707.
    assert_rows(reinforce([traj("g", [10.0]), traj("g", [0.0])]), [[5.0], [-5.0]])
    assert compute_advantages("reinforce_rej", ts) == reinforce(ts)


def test_empty_batches() -> None:
    assert reject_groups([]) == ([], [])
    kept, decisions = reject_groups([traj("s", [1.0]), traj("s", [1.0])])
    assert kept == [] and not decisions[0].kept
    assert reinforce([]) == []


def test_unknown_rule_fails_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="all_failure"):
        reject_groups([], drop="none")  # type: ignore[arg-type]
