"""Group filtering (DAPO / Reinforce-Rej) and the estimator dispatcher."""

from __future__ import annotations

import pytest

from agentgym.credit import (
    advantage_metrics,
    compute_advantages,
    filter_groups,
    gigpo,
    needs_scoring,
)
from agentgym.errors import ConfigError
from tests.credit.helpers import traj


def test_filter_drops_all_equal_and_singleton_groups_and_counts_them() -> None:
    ts = [
        traj("mixed", [1.0]),
        traj("solved", [1.0]),
        traj("mixed", [0.0]),
        traj("solved", [1.0]),
        traj("failed", [0.0]),
        traj("failed", [0.0]),
        traj("solo", [1.0]),
    ]
    kept, stats = filter_groups(ts)
    assert kept == [ts[0], ts[2]]
    assert (stats.groups, stats.dropped, stats.dropped_all_success, stats.dropped_all_failure) == (
        4,
        3,
        2,
        1,
    )
    assert stats.as_metrics()["credit/groups_dropped"] == 3.0


def test_dispatcher_and_scoring_flag() -> None:
    ts = [traj("g", [1.0]), traj("g", [0.0])]
    assert compute_advantages("gigpo", ts, gamma=0.9) == gigpo(ts, gamma=0.9)
    assert (
        needs_scoring("igpo")
        and needs_scoring("gigpo", {"rewards": "igpo"})
        and not needs_scoring("gigpo")
    )
    with pytest.raises(ConfigError, match="gigpo"):
        compute_advantages("gigp0", ts)


def test_advantage_metrics() -> None:
    m = advantage_metrics([[1.0, 1.0], [-1.0], [0.0]])
    assert m["credit/adv_mean"] == pytest.approx(0.25)
    assert m["credit/adv_zero_frac"] == pytest.approx(0.25)
    assert m["credit/adv_max"] == 1.0
