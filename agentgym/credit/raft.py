"""RAFT: rejection-sampling fine-tuning inside the RL loop (Dong et al., 2023;
the baseline of Xiong et al., 2025, "A Minimalist Approach to LLM Reasoning").

Each iteration samples ``group_size`` episodes per task exactly as the RL
estimators do, keeps only the **successful** episodes (the paper's "positive
samples", reward 1) and takes the supervised fine-tuning step on them: the
token-mean negative log-likelihood of their response tokens
(:func:`agentgym.train.loss.sft_loss`), no advantage, no ratio, no clipping.
Because it runs in the same loop, it is compared with GRPO and the others at
equal environment steps (``rollout/env_steps_total`` in the logs).

:func:`raft_select` is the selection; :func:`raft` gives every turn of a kept
episode the weight 1 (what the trainer's samples carry; the SFT loss ignores
it). An iteration without a success trains on nothing: its optimizer step is
skipped, as any empty step is (``train/empty_steps``).

Deviations: every turn of a successful episode is imitated, invalid ones
included (the paper's responses are single turns; a multi-turn success that
recovered from an invalid call still imitates that call). The paper's RAFT
has no KL term; neither has ours (``kl_coef`` and ``entropy_coef`` must be 0).

>>> from agentgym.trajectory import Trajectory
>>> ok, bad = Trajectory("t", "g", metrics={"success": 1.0}), Trajectory("t", "g", metrics={"success": 0.0})
>>> raft_select([ok, bad]) == [ok]
True
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgym.trajectory import Trajectory

__all__ = ["raft", "raft_select"]


def raft_select(trajectories: Sequence[Trajectory]) -> list[Trajectory]:
    """The successful episodes that did not fail with an error, in order."""
    return [t for t in trajectories if t.success and not t.failed]


def raft(trajectories: Sequence[Trajectory]) -> list[list[float]]:
    """Weight 1 on every turn of a successful episode, 0 on the others (the
    trainer selects first, so it sees only ones).

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> raft([Trajectory("t", "g", turns=[Turn("a", "o", 1.0, "s")] * 2, metrics={"success": 1.0})])
    [[1.0, 1.0]]
    """
    return [[1.0 if t.success else 0.0] * len(t.turns) for t in trajectories]
