"""A generic judged part: the agent's final answer against ``Task.answer``.

For envs whose answers are free-form text (web QA, tool-call envs): the part
asks a judge whether ``answer`` agrees with the task's reference, behind the
default defences (so the reference's content words must be in the answer
before any judge call). Build it with :func:`answer_part` and put it in the
env's :class:`~agentgym.rewards.Reward` as an outcome part; its context is an
:class:`AnswerContext`. An env without a :class:`~agentgym.rewards.Reward`
uses :class:`FinalAnswerJudge` (the part plus the ``judge_pass`` metric that
judge-vs-verifier monitoring reads; WebQA-v0's ``answer_judge=``).

>>> from agentgym.rewards import LLMJudge, Reward
>>> from agentgym.rewards.scripted import GullibleJudge
>>> reward = Reward([answer_part(LLMJudge(GullibleJudge(), ANSWER_RUBRIC))])
>>> reward.score(AnswerContext("Capital of France?", "It is Paris.", "Paris")).parts
{'answer_judge': 1.0}
>>> reward.score(AnswerContext("Capital of France?", "Thought process:", "Paris")).parts
{'answer_judge': 0.0}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentgym.rewards.compose import Part, Unavailable
from agentgym.rewards.judge import JudgeInput, Rubric

__all__ = ["ANSWER_RUBRIC", "AnswerContext", "FinalAnswerJudge", "answer_part"]

ANSWER_RUBRIC = Rubric(
    "final-answer",
    "The RESPONSE is the agent's final answer to the question. Say YES only if it states the same answer as "
    "the reference (wording, units and format may differ; hedges, several candidate answers or extra false "
    "claims make it NO).",
)


@dataclass(frozen=True)
class AnswerContext:
    """The question (as the agent saw it), the agent's answer and ``Task.answer``."""

    question: str
    answer: str
    reference: str


def answer_part(judge: Any, *, name: str = "answer_judge", weight: float = 1.0, gate: str | None = None) -> Part:
    """An outcome :class:`~agentgym.rewards.Part` judging ``AnswerContext`` with
    ``judge`` (an LLMJudge or JudgeEnsemble); unavailable when the judge is."""

    def fn(ctx: AnswerContext) -> float | Unavailable:
        return judge.judge([JudgeInput(ctx.question, ctx.answer, reference=ctx.reference)])[0].as_part()

    return Part(name, fn, weight=weight, when="outcome", gate=gate, doc="LLM judge: final answer vs Task.answer")


class FinalAnswerJudge:
    """An env's judged final answer: the reward part and the ``judge_pass`` metric.

    For an env whose final answer has a verifier (``success``: exact match,
    execution match, ...) and should also be judged against ``Task.answer``:
    call :meth:`score` when the agent answers and add the parts it returns;
    merge :meth:`metrics` into the episode metrics. The metrics carry
    ``judge_pass`` (1.0 when the judge accepted the answer, 0.0 when not;
    absent when nothing was judged or the judge could not answer), which the
    trainer and ``agentgym eval`` compare with ``success``
    (:func:`agentgym.rewards.monitor.judge_agreement`), and
    ``reward_unavailable`` (1.0 when the judged part counts in the reward and
    the judge could not give it: the episode is masked out of training).

    Args:
        judge: An :class:`~agentgym.rewards.LLMJudge`, a
            :class:`~agentgym.rewards.JudgeEnsemble`, a backend spec
            (``"hf:..."``, ``"openai:URL#MODEL"``, ``"package.module:Class"``)
            or a dict of ``LLMJudge`` arguments with ``policy``
            (:func:`~agentgym.rewards.make_judge`), judged with
            :data:`ANSWER_RUBRIC` behind the default defences.
        weight: The part's weight in the reward; 0 judges and reports
            ``judge_pass`` without changing the reward (a monitor only).
        name: The reward part's name.

    >>> from agentgym.rewards.scripted import GullibleJudge
    >>> fj = FinalAnswerJudge("agentgym.rewards.scripted:GullibleJudge", weight=0.5)
    >>> fj.score("Capital of France?", "Paris, of course.", "Paris"), fj.metrics()
    ({'answer_judge': 0.5}, {'judge_pass': 1.0, 'reward_unavailable': 0.0})
    >>> fj.reset(); fj.metrics()
    {'reward_unavailable': 0.0}
    """

    def __init__(self, judge: Any, *, weight: float = 1.0, name: str = "answer_judge") -> None:
        from agentgym.rewards.judge import make_judge

        self.judge = make_judge(judge, ANSWER_RUBRIC, kwarg="answer_judge")
        self.weight, self.name = float(weight), name
        self.reset()

    def reset(self) -> None:
        """Forget the last episode's verdict (call it on reset)."""
        self.verdict: Any = None

    def score(self, question: str, answer: str, reference: str) -> dict[str, float]:
        """Judge ``answer``; the reward parts to add (``{}`` with weight 0 or no verdict)."""
        self.verdict = self.judge.judge([JudgeInput(question, answer, reference=reference)])[0]
        if self.verdict.value is None or not self.weight:
            return {}
        return {self.name: self.weight * float(self.verdict.value)}

    @property
    def unavailable(self) -> str | None:
        """Why the counted part could not be computed this episode, or None."""
        if self.verdict is None or self.verdict.value is not None or not self.weight:
            return None
        return self.verdict.reason or "judge unavailable"

    def metrics(self) -> dict[str, float]:
        """``judge_pass`` (when judged) and ``reward_unavailable`` (with weight > 0)."""
        out = {} if self.verdict is None or self.verdict.value is None else {"judge_pass": float(self.verdict.value)}
        if self.weight:
            out["reward_unavailable"] = float(self.unavailable is not None)
        return out
