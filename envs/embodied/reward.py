"""The question reward of AskToAct, a pluggable component.

After every ``ask`` the env builds a :class:`QuestionOutcome` (the question,
the answer, the set of target candidates consistent with everything the agent
was told before and after it, the question count and budget) and adds
``question_reward(outcome)`` as the ``question`` reward part. Anything callable
with that signature can replace the default, e.g. an LLM judge that scores the
question (the LLM-reward issue wires one in)::

    env = agentgym.make("AskToAct-v0", question_reward=my_llm_reward)

The default, :class:`InfoGainReward`, pays the information the answer gives
about which object is wanted: ``scale * log2(|C_before| / |C_after|)``; zero for
a redundant question (one whose answer was already implied) or one the user
did not understand; and a fixed penalty for every question past the budget.

:class:`JudgedQuestionReward` asks an LLM judge instead (``question_judge=``
on the env): is the question relevant to telling the wanted object apart
from the other candidates, and minimal (one thing at a time, not already
answered)? The judge sees the privileged target, the agent never does. A judge
that cannot answer makes the part unavailable (see :mod:`agentgym.rewards`).

>>> r = InfoGainReward(scale=0.1, over_budget_penalty=0.1)
>>> o = QuestionOutcome("Is it red?", "Yes.", True, frozenset({1, 2, 3, 4}), frozenset({1, 2}), 1, 2)
>>> round(r(o), 3)
0.1
>>> r(QuestionOutcome("Is it red?", "Yes.", True, frozenset({1, 2}), frozenset({1, 2}), 3, 2))
-0.1
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from agentgym.errors import ConfigError
from agentgym.rewards import JudgeInput, Rubric, Unavailable

__all__ = ["InfoGainReward", "JudgedQuestionReward", "QUESTION_RUBRIC", "QuestionOutcome", "QuestionReward",
           "load_question_reward"]


@dataclass(frozen=True)
class QuestionOutcome:
    """One question and its effect on the candidate set (object ids).

    ``before``/``after``: the candidates consistent with what the agent had been
    told before and after the answer (``after == before`` when the user's answer
    has no known meaning). ``asked``: questions so far, this one included.
    """

    question: str
    answer: str
    understood: bool
    before: frozenset[int]
    after: frozenset[int]
    asked: int
    budget: int
    context: str = ""
    """Privileged facts for a judge (the wanted object, the candidates); filled
    only for a reward with ``wants_context = True``."""
    request: str = ""
    """The user's request, as the agent saw it (filled with ``context``)."""

    @property
    def redundant(self) -> bool:
        """Understood, but the answer ruled nothing out."""
        return self.understood and len(self.after) == len(self.before)

    @property
    def bits(self) -> float:
        """Information gained, in bits (0 when the answer contradicts earlier ones)."""
        if not self.after or len(self.after) >= len(self.before):
            return 0.0
        return math.log2(len(self.before) / len(self.after))


@runtime_checkable
class QuestionReward(Protocol):
    """``reward(outcome) -> float``: the ``question`` reward part of an ``ask``."""

    def __call__(self, outcome: QuestionOutcome) -> float | Unavailable: ...


@dataclass(frozen=True)
class InfoGainReward:
    """Information gain of the answer, scaled; a penalty past the budget.

    Args:
        scale: Reward per bit of information.
        over_budget_penalty: Subtracted for each question past the budget
            (instead of any gain).
    """

    scale: float = 0.1
    over_budget_penalty: float = 0.1

    def __call__(self, outcome: QuestionOutcome) -> float:
        if outcome.asked > outcome.budget:
            return -self.over_budget_penalty
        if not outcome.understood:
            return 0.0
        return self.scale * outcome.bits


QUESTION_RUBRIC = Rubric(
    "asktoact-question",
    "The agent must fetch one specific object; several objects fit the user's request. The RESPONSE is a "
    "question the agent asked the user. Say YES only if the question is relevant (its answer helps tell the "
    "wanted object apart from the other candidates, given the privileged facts) and minimal (it asks about "
    "one thing, and the answer is not already implied by what the agent was told).",
)


@dataclass
class JudgedQuestionReward:
    """The ``question`` part from an LLM judge: ``scale`` for a YES, ``-no_penalty``
    for a NO, the budget penalty past the budget (without a judge call), and
    :class:`~agentgym.rewards.Unavailable` when the judge cannot answer.

    Args:
        judge: An :class:`~agentgym.rewards.LLMJudge` or
            :class:`~agentgym.rewards.JudgeEnsemble` (anything with ``judge(items)``).
    """

    judge: Any
    scale: float = 0.1
    no_penalty: float = 0.0
    over_budget_penalty: float = 0.1
    wants_context = True

    def __call__(self, outcome: QuestionOutcome) -> float | Unavailable:
        if outcome.asked > outcome.budget:
            return -self.over_budget_penalty
        verdict = self.judge.judge([JudgeInput(outcome.request, outcome.question, context=outcome.context)])[0]
        if verdict.value is None:
            return Unavailable(verdict.reason or "judge unavailable")
        return self.scale if verdict.value >= 0.5 else -self.no_penalty


def make_question_judge(spec: Any) -> JudgedQuestionReward:
    """A judged question reward from an LLMJudge/ensemble, a backend spec
    (``"hf:..."``, ``"openai:..."``, ``"package.module:Class"``), or a dict of
    :class:`~agentgym.rewards.LLMJudge` arguments with ``policy`` (what a TOML
    config or ``--env_kwargs`` can say: ``{"policy": "hf:smollm2-135m",
    "verdict": "logprob"}``), judged with :data:`QUESTION_RUBRIC`."""
    from agentgym.rewards import make_judge

    if isinstance(spec, JudgedQuestionReward):
        return spec
    return JudgedQuestionReward(make_judge(spec, QUESTION_RUBRIC, kwarg="question_judge", timeout_s=60.0))


def load_question_reward(spec: QuestionReward | str | None) -> QuestionReward:
    """``None`` -> :class:`InfoGainReward`; ``"module:attr"`` -> that class or
    factory, called without arguments; a callable -> itself."""
    if spec is None:
        return InfoGainReward()
    if isinstance(spec, str):
        module, _, attr = spec.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)()
        except (ImportError, AttributeError, ValueError) as e:
            raise ConfigError(
                f"cannot load question reward {spec!r} ({e}); give 'package.module:ClassName'."
            ) from e
    if not callable(spec):
        raise ConfigError(f"question_reward must be callable(outcome) -> float, got {type(spec).__name__}.")
    return spec
