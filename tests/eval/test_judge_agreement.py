"""`agentgym eval` reports judge-vs-verifier agreement where envs report a judge
verdict (episode metric ``judge_pass``) beside ``success`` (issue 17, item 5)."""

from __future__ import annotations

import json

from agentgym.evaluation import evaluate, load_results
from agentgym.evaluation.report import figures_table
from agentgym.evaluation.summary import entry_result, overall_figures
from agentgym.suites import SuiteEntry
from agentgym.trajectory import Trajectory

JUDGED = SuiteEntry("WebQA-v0", "val", 2, {"answer_judge": "agentgym.rewards.scripted:OverlapJudge"})
PLAIN = SuiteEntry("GuessNumber-v0", "val", 2, {"difficulty": "easy"})


def _episode(i: int, success: float, judge: float | None) -> Trajectory:
    metrics = {"success": success} | ({} if judge is None else {"judge_pass": judge})
    return Trajectory(f"t{i}", f"g{i}", metrics=metrics, meta={"eval": {"task_index": i, "episode": 0}})


def test_agreement_per_entry_and_pooled_overall() -> None:
    a = entry_result(JUDGED, [_episode(0, 1.0, 1.0), _episode(1, 0.0, 1.0), _episode(2, 0.0, 0.0), _episode(3, 1.0, None)],
                     k_max=1, seed=0, confidence=0.95, n_boot=100)
    # Same definition as the trainer's rewards/judge_agreement: episodes without a verdict do not count.
    assert a.figures.judge_agreement == {"agreement": 0.666666667, "episodes": 3.0, "false_pass": 0.333333333}
    b = entry_result(PLAIN, [_episode(0, 1.0, None)], k_max=1, seed=0, confidence=0.95, n_boot=100)
    assert b.figures.judge_agreement == {}
    c = entry_result(JUDGED, [_episode(0, 1.0, 1.0)], k_max=1, seed=0, confidence=0.95, n_boot=100)
    overall = overall_figures([a, b, c], seed=0, confidence=0.95, n_boot=100)
    assert overall.judge_agreement == {"agreement": 0.75, "episodes": 4.0, "false_pass": 0.25}  # pooled, not macro


def test_eval_writes_and_prints_agreement(tmp_path) -> None:
    results = evaluate("oracle", [JUDGED, PLAIN], out=tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    judged, plain = data["entries"]
    assert judged["figures"]["judge_agreement"] == {"agreement": 1.0, "episodes": 2.0, "false_pass": 0.0}
    assert plain["figures"]["judge_agreement"] == {}
    assert load_results(tmp_path).overall.judge_agreement["episodes"] == 2.0
    header, rows = figures_table(results)
    assert header[-1] == "judge agreement (n)" and rows[0][-1] == "100.0% (2)" and rows[1][-1] == "–"
    assert "judge agreement (n)" in (tmp_path / "report.md").read_text()
    # An eval without judged envs keeps its table as it was.
    assert "judge agreement (n)" not in figures_table(evaluate("oracle", [PLAIN]))[0]
