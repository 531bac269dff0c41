"""RAFT's selection: successful episodes only."""

from __future__ import annotations

import dataclasses

from agentgym.credit import compute_advantages, raft, raft_select
from tests.credit.helpers import traj


def test_selects_successful_episodes_in_order_and_weights_them_one() -> None:
    ok1, bad, ok2 = traj("a", [0.0, 1.0]), traj("a", [0.0]), traj("b", [1.0])
    crashed = dataclasses.replace(traj("b", [1.0]), failed=True)  # an exception ended it: never trained on
    kept = raft_select([ok1, bad, crashed, ok2])
    assert kept == [ok1, ok2]
    assert raft(kept) == [[1.0, 1.0], [1.0]] == compute_advantages("raft", kept)
    assert raft([bad]) == [[0.0]]


def test_success_is_the_outcome_not_the_return() -> None:
    shaped = traj("a", [1.0, -0.2], success=False)  # positive return, not solved
    assert raft_select([shaped]) == []


def test_no_success_gives_an_empty_batch() -> None:
    assert raft_select([traj("a", [0.0]), traj("a", [0.0])]) == [] and raft([]) == []
