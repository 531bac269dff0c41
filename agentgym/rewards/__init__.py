"""``agentgym.rewards``: composable reward parts and LLM-generated rewards.

* :mod:`~agentgym.rewards.compose`: :class:`Part`, :class:`Reward` (named
  parts, weights, gates, per-turn and outcome parts), :class:`Unavailable`, :class:`VetoReward`.
* :mod:`~agentgym.rewards.env`: how an unavailable part travels
  (:class:`RewardReporting`, :func:`mask_unavailable`).
* :mod:`~agentgym.rewards.judge`: :class:`LLMJudge` on any policy backend.
* :mod:`~agentgym.rewards.ensemble`: :class:`JudgeEnsemble`.
* :mod:`~agentgym.rewards.hardening`: :class:`Defences` against judge attacks.
* :mod:`~agentgym.rewards.probes`: the attack probe suite.
* :mod:`~agentgym.rewards.answer`: a judged "final answer vs ``Task.answer``" part.

Light to import: no model is loaded until a judge is called.
"""

from __future__ import annotations

from agentgym.rewards.answer import ANSWER_RUBRIC, AnswerContext, FinalAnswerJudge, answer_part
from agentgym.rewards.compose import Part, Reward, Scored, Unavailable, VetoReward, When
from agentgym.rewards.ensemble import JudgeEnsemble
from agentgym.rewards.env import UNAVAILABLE_KEY, RewardReporting, mask_unavailable
from agentgym.rewards.hardening import Defences
from agentgym.rewards.judge import JudgeInput, LLMJudge, Rubric, Verdict, make_judge, parse_verdict

__all__ = [
    "ANSWER_RUBRIC", "AnswerContext", "FinalAnswerJudge", "answer_part", "Defences", "JudgeEnsemble", "JudgeInput", "LLMJudge", "Part", "Reward", "RewardReporting", "Rubric",
    "Scored", "UNAVAILABLE_KEY", "Unavailable", "Verdict", "VetoReward", "When", "make_judge", "mask_unavailable", "parse_verdict",
]
