"""Statistics: pass@k against its definition, bootstrap intervals, significance tests."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

from agentgym.evaluation.stats import (
    bootstrap_rate,
    compare_rates,
    holm,
    mean_pass_at_k,
    pass_at_k,
    wilson,
)


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (4, 1), (5, 2), (6, 3), (7, 0), (7, 7)])
def test_pass_at_k_equals_the_fraction_of_k_subsets_with_a_success(n, c):
    outcomes = [1] * c + [0] * (n - c)
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), k))
        brute = sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)
        assert pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12)
        assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)


def test_pass_at_k_rejects_impossible_counts_and_averages_over_tasks():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)
    assert mean_pass_at_k([2, 2], [0, 2], 1) == 0.5
    assert mean_pass_at_k([2, 2], [0, 1], 2) == 0.5
    assert mean_pass_at_k([1], [1], 2) is None  # no task has 2 samples


def test_bootstrap_interval_is_seeded_contains_the_mean_and_narrows_with_more_tasks():
    rng = np.random.default_rng(1)
    small = rng.integers(0, 2, size=20)
    big = rng.integers(0, 2, size=2000)
    a = bootstrap_rate([small], [np.ones(20)], seed=3)
    assert a == bootstrap_rate([small], [np.ones(20)], seed=3)
    assert a[0] <= small.mean() <= a[1]
    b = bootstrap_rate([big], [np.ones(2000)], seed=3)
    assert (b[1] - b[0]) < (a[1] - a[0]) / 5  # ~1/sqrt(100) as wide



def test_all_fail_or_all_succeed_gets_a_wilson_interval_not_a_false_certainty():
    lo, hi = bootstrap_rate([np.zeros(20)], [np.full(20, 4)])
    assert lo == 0.0 and hi == pytest.approx(wilson(0.0, 20)[1]) and 0.15 < hi < 0.17
    lo, hi = bootstrap_rate([np.full(10, 3)], [np.full(10, 3)])
    assert hi == 1.0 and 0.6 < lo < 0.75
    # More tasks, a tighter bound.
    assert bootstrap_rate([np.zeros(200)], [np.ones(200)])[1] < 0.02


def test_bootstrap_interval_covers_the_true_rate_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = 0
    for trial in range(200):
        x = (rng.random(60) < 0.3).astype(float)
        lo, hi = bootstrap_rate([x], [np.ones(60)], n_boot=1000, seed=trial)
        hits += lo <= 0.3 <= hi
    assert 0.88 <= hits / 200 <= 0.99


def test_cluster_bootstrap_keeps_a_task_s_episodes_together():
    # 10 tasks, 10 episodes each: tasks are all-or-nothing. Treating the 100
    # episodes as independent would give a much narrower (wrong) interval.
    c = np.array([10, 0] * 5)
    n = np.full(10, 10)
    lo, hi = bootstrap_rate([c], [n], seed=0)
    lo_iid, hi_iid = bootstrap_rate([np.repeat([1, 0] * 5, 10)], [np.ones(100)], seed=0)
    assert (hi - lo) > 2 * (hi_iid - lo_iid)


def test_paired_and_unpaired_tests_find_real_differences_and_not_fake_ones():
    rng = np.random.default_rng(0)
    a = (rng.random(40) < 0.3).astype(float)
    b = np.clip(a + (rng.random(40) < 0.5), 0, 1)  # b solves everything a solves, and more
    d = compare_rates([a], [b], paired=True, seed=0)
    assert d.diff == pytest.approx(b.mean() - a.mean()) and d.low > 0 and d.p_value < 0.01
    same = compare_rates([a], [a.copy()], paired=True, seed=0)
    assert same.diff == 0 and same.p_value == 1.0
    noise = compare_rates([(rng.random(40) < 0.5).astype(float)], [(rng.random(40) < 0.5).astype(float)], paired=False, seed=0)
    assert noise.p_value > 0.05 and noise.low < 0 < noise.high
    strong = compare_rates([np.zeros(30)], [np.ones(30)], paired=False, seed=0)
    assert strong.p_value < 0.001


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm([0.5]) == [0.5]
