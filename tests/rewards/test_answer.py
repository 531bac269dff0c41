"""The generic judged final-answer part (for free-form answers against Task.answer)."""

from __future__ import annotations

from agentgym.rewards import ANSWER_RUBRIC, AnswerContext, LLMJudge, Reward, answer_part

from .helpers import ScriptedBackend


def test_answer_part_judges_against_the_reference(overlap: ScriptedBackend) -> None:
    reward = Reward([answer_part(LLMJudge(overlap, ANSWER_RUBRIC), weight=0.5)])
    assert reward.score(AnswerContext("Who wrote Emma?", "Jane Austen wrote it.", "Jane Austen")).parts == \
        {"answer_judge": 0.5}
    assert reward.score(AnswerContext("Who wrote Emma?", "Charlotte Bronte.", "Jane Austen")).parts == \
        {"answer_judge": 0.0}


def test_answer_part_is_unavailable_when_the_judge_is() -> None:
    judge = LLMJudge(ScriptedBackend(lambda s, n: "no idea"), ANSWER_RUBRIC, retries=0)
    out = Reward([answer_part(judge)]).score(AnswerContext("Q?", "It is 4.", "4"))
    assert out.parts == {} and "no verdict" in out.unavailable["answer_judge"]
