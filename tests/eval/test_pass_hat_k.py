"""pass^k (τ-bench's reliability metric: all k tries of a task succeed) beside pass@k in evaluation."""

from __future__ import annotations

from itertools import combinations
from math import comb

import pytest

from agentgym.evaluation.report import figures_table, markdown_report
from agentgym.evaluation.schema import EvalResults, Figures
from agentgym.evaluation.stats import mean_pass_hat_k, pass_at_k, pass_hat_k
from agentgym.evaluation.summary import entry_result, overall_figures
from agentgym.suites import SuiteEntry
from agentgym.trajectory import Trajectory


@pytest.mark.parametrize(("n", "c"), [(1, 0), (1, 1), (4, 2), (5, 5), (7, 3), (8, 6)])
def test_pass_hat_k_is_the_fraction_of_k_subsets_that_all_succeed(n, c):
    outcomes = [1] * c + [0] * (n - c)
    for k in range(1, n + 1):
        subsets = list(combinations(outcomes, k))
        brute = sum(all(s) for s in subsets) / len(subsets)
        assert pass_hat_k(n, c, k) == pytest.approx(brute, abs=1e-12)
        assert pass_hat_k(n, c, k) == pytest.approx(comb(c, k) / comb(n, k), abs=1e-12)


def test_pass_hat_k_falls_with_k_and_starts_at_pass_at_1():
    for n, c in [(10, 3), (10, 9), (6, 6)]:
        values = [pass_hat_k(n, c, k) for k in range(1, n + 1)]
        assert values[0] == pytest.approx(pass_at_k(n, c, 1)) == pytest.approx(c / n)
        assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert pass_hat_k(10, 9, 10) == 0.0 and pass_hat_k(6, 6, 6) == 1.0
    with pytest.raises(ValueError):
        pass_hat_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_hat_k(3, 1, 4)
    assert mean_pass_hat_k([2, 2], [2, 1], 2) == 0.5  # (1 + 0) / 2
    assert mean_pass_hat_k([1], [1], 2) is None


def _episodes(successes_per_task: list[list[int]]) -> list[Trajectory]:
    out = []
    for i, outcomes in enumerate(successes_per_task):
        for j, s in enumerate(outcomes):
            out.append(Trajectory(f"t{i}", f"g{i}", metrics={"success": float(s)},
                                  meta={"eval": {"task_index": i, "episode": j}}))
    return out


def test_evaluation_reports_pass_hat_k_per_entry_and_macro_overall():
    a = SuiteEntry("GuessNumber-v0", "val", 2, {"difficulty": "easy"})
    b = SuiteEntry("GuessNumber-v0", "val", 2, {"difficulty": "hard"})
    kw = {"k_max": 3, "seed": 0, "confidence": 0.95, "n_boot": 200}
    # Entry a: one task 3/3, one task 2/3. Entry b: one task 1/3, one 0/3.
    ra = entry_result(a, _episodes([[1, 1, 1], [1, 1, 0]]), **kw)
    rb = entry_result(b, _episodes([[0, 1, 0], [0, 0, 0]]), **kw)
    fa, fb = ra.figures, rb.figures
    assert fa.pass_hat_k == {"1": pytest.approx(5 / 6), "2": pytest.approx((1 + 1 / 3) / 2), "3": pytest.approx(0.5)}
    assert fb.pass_hat_k == {"1": pytest.approx(1 / 6), "2": 0.0, "3": 0.0}
    assert fa.pass_hat_k["1"] == pytest.approx(fa.pass_at_k["1"])
    assert fa.pass_at_k["3"] == 1.0 > fa.pass_hat_k["3"]  # reliability vs. one-success-in-k
    overall = overall_figures([ra, rb], seed=0, confidence=0.95, n_boot=200)
    assert overall.pass_hat_k["2"] == pytest.approx((fa.pass_hat_k["2"] + fb.pass_hat_k["2"]) / 2)
    results = EvalResults(agentgym_version="0", suite="s", policy="p", episodes_per_task=3, seed=0, max_turns=None,
                          history="all", confidence=0.95, n_bootstrap=200, entries=[ra, rb], overall=overall)
    header, rows = figures_table(results)
    assert header[header.index("pass@3") + 1:header.index("pass@3") + 3] == ["pass^2", "pass^3"]
    assert "pass^1" not in header  # it is pass@1
    assert rows[0][header.index("pass^3")] == "50.0%"
    assert "pass^2" in markdown_report(results)
    # A results file written before pass^k existed still loads (the field is optional).
    old = fa.model_dump()
    del old["pass_hat_k"]
    assert Figures.model_validate(old).pass_hat_k == {}
