"""Monitoring reward hacking: does the judge agree with the verifier?

Where an episode's outcome is scored both by a verifier (the env's ``success``)
and by an LLM judge, the env reports the judge's verdict on that outcome as the
episode metric ``judge_pass`` (1.0: the judge accepted it). A policy that learns
to fool the judge drives the two apart: the judge keeps saying yes while the
verifier says no. Training logs :func:`judge_agreement` every iteration
(``rewards/judge_agreement``) and warns when it falls below a threshold;
``agentgym eval`` reports it per env.

Where the judge looks at only part of the outcome (ToolCalls-v0 judges the
replies, not the back-end's state), the env also reports ``judge_verifier``:
the verifier's verdict on that same part (there ``message_match``), which is
then compared instead of ``success``.

>>> from agentgym.trajectory import Trajectory
>>> ts = [Trajectory("a", "g", metrics={"success": 1.0, "judge_pass": 1.0}),
...       Trajectory("b", "g", metrics={"success": 0.0, "judge_pass": 1.0}),
...       Trajectory("c", "g", metrics={"success": 0.0})]          # no judge: not counted
>>> judge_agreement(ts)
{'judge_agreement': 0.5, 'judge_episodes': 2.0, 'judge_false_pass': 0.5}
>>> judge_agreement([Trajectory("d", "g", metrics={"success": 0.0, "judge_pass": 1.0, "judge_verifier": 1.0})])
{'judge_agreement': 1.0, 'judge_episodes': 1.0, 'judge_false_pass': 0.0}
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.trajectory import Trajectory

__all__ = ["JUDGE_PASS_KEY", "JUDGE_VERIFIER_KEY", "judge_agreement", "agreement_counts", "agreement_from_counts"]

JUDGE_PASS_KEY = "judge_pass"
JUDGE_VERIFIER_KEY = "judge_verifier"


def agreement_counts(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    """Sums over the episodes that carry a judge verdict (failed episodes are
    left out: nothing judged them): ``n``, ``agree`` and ``false_pass`` (the
    judge said yes, the verifier no; the verifier is ``judge_verifier`` where
    the env reports it, else ``success``). Sums, so processes can add them up."""
    n = agree = false_pass = 0.0
    for t in trajectories:
        if t.failed or JUDGE_PASS_KEY not in t.metrics:
            continue
        judge = float(t.metrics[JUDGE_PASS_KEY]) > 0.5
        verifier = float(t.metrics.get(JUDGE_VERIFIER_KEY, t.metrics.get("success", 0.0))) > 0.5
        n += 1
        agree += float(judge == verifier)
        false_pass += float(judge and not verifier)
    return {"n": n, "agree": agree, "false_pass": false_pass}


def agreement_from_counts(counts: dict[str, float]) -> dict[str, float]:
    """``judge_agreement`` (fraction of judged episodes where the judge's verdict
    equals the verifier's), ``judge_episodes`` and ``judge_false_pass`` (the
    fraction the judge passed and the verifier failed: the hacking direction);
    ``{}`` when no episode was judged."""
    n = counts.get("n", 0.0)
    if n <= 0:
        return {}
    return {"judge_agreement": counts["agree"] / n, "judge_episodes": n, "judge_false_pass": counts["false_pass"] / n}


def judge_agreement(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    """Judge-vs-verifier agreement over ``trajectories`` (see the module doc)."""
    return agreement_from_counts(agreement_counts(trajectories))
