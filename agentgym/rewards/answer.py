"""A generic judged part: the agent's final answer against ``Task.answer``.

For envs whose answers are free-form text (web QA, tool-call envs): the part
asks a judge whether ``answer`` agrees with the task's reference, behind the
default defences (so the reference's content words must be in the answer
before any judge call). Build it with :func:`answer_part` and put it in the
env's :class:`~agentgym.rewards.Reward` as an outcome part; its context is an
:class:`AnswerContext`.

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

__all__ = ["ANSWER_RUBRIC", "AnswerContext", "answer_part"]

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
