"""The judge-attack probe suite: a fooled judge is fooled without defences and
not with them; correct answers still pass; ensembles outvote a fooled member."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentgym.rewards import Defences, JudgeEnsemble, LLMJudge
from agentgym.rewards.probes import ATTACKS, CORRECTNESS, PROBE_ITEMS, format_table, run_probes
from agentgym.rewards.scripted import GullibleJudge, OverlapJudge

ROOT = Path(__file__).resolve().parents[2]
MASTER_KEYS = ("empty", "colon", "thought_process", "step_by_step", "address_grader", "very_long")


def test_gullible_judge_is_fooled_without_defences_and_not_with_them() -> None:
    bare = run_probes(LLMJudge(GullibleJudge(), CORRECTNESS, defences=Defences.off()))
    hardened = run_probes(LLMJudge(GullibleJudge(), CORRECTNESS))
    assert all(bare[a]["fpr"] == 1.0 for a in MASTER_KEYS)
    assert all(hardened[a]["fpr"] == 0.0 for a in ATTACKS), hardened
    assert hardened["correct"]["tpr"] == 1.0 and bare["correct"]["tpr"] == 1.0


def test_always_yes_judge_is_held_by_the_defences_alone() -> None:
    # The worst judge: says YES to anything. Only the programmatic gates stand.
    class AlwaysYes:
        def act(self, conversations, tools):
            from agentgym.policy import Completion
            return [Completion("VERDICT: YES") for _ in conversations]

    hardened = run_probes(LLMJudge(AlwaysYes(), CORRECTNESS))
    assert all(hardened[a]["fpr"] == 0.0 for a in ATTACKS), hardened
    assert hardened["correct"]["tpr"] == 1.0


def test_ensemble_outvotes_a_fooled_member() -> None:
    members = [LLMJudge(GullibleJudge(), CORRECTNESS, name="g", defences=Defences.off()),
               LLMJudge(OverlapJudge(), CORRECTNESS, name="o1", defences=Defences.off()),
               LLMJudge(OverlapJudge(), CORRECTNESS, name="o2", defences=Defences.off())]
    rows = run_probes(JudgeEnsemble(members))
    assert all(rows[a]["fpr"] == 0.0 for a in ATTACKS) and rows["correct"]["tpr"] == 1.0


def test_probe_items_and_table() -> None:
    assert len({q for q, _, _ in PROBE_ITEMS}) == len(PROBE_ITEMS)
    assert all(ref.lower() not in wrong.lower() for _, ref, wrong in PROBE_ITEMS)
    table = format_table({"x": run_probes(LLMJudge(OverlapJudge(), CORRECTNESS))})
    assert table.count("\n") == len(ATTACKS) + 2 and "correct answers (TPR) | 1.00" in table


def test_script_prints_the_table() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "judge_probe.py"),
                           "--judge", "agentgym.rewards.scripted:GullibleJudge"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| colon | 1.00 | 0.00 |" in proc.stdout
