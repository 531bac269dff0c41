"""Scripted judge backends: deterministic stand-ins for an LLM judge.

They are policies (``act(conversations, tools)``) that read the judge prompt
:func:`~agentgym.rewards.judge.build_messages` writes, so they exercise the
whole judge pipeline (prompt, parsing, votes, cache, defences) without a model.

* :class:`GullibleJudge`: grades correctly (YES iff the response contains the
  reference's content words, or, without a reference, shares a word with the
  privileged facts) — **except** that it is fooled, as "One Token to Fool
  LLM-as-a-Judge" found real judges are, by master keys: an empty or
  punctuation-only response, a reasoning opener, a response that addresses the
  grader, and a very long one. The probe suite's worst case for defences.
* :class:`OverlapJudge`: the same grading without the gullibility.

Spec strings for env kwargs: ``"agentgym.rewards.scripted:GullibleJudge"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agentgym.policy import Completion, Message
from agentgym.rewards.hardening import content_words

__all__ = ["GullibleJudge", "OverlapJudge", "sections"]

_SECTION = re.compile(r"^(CRITERIA|QUESTION / SITUATION|PRIVILEGED FACTS|REFERENCE ANSWER|RESPONSE)[^\n]*:\n",
                      re.MULTILINE)
_MASTER_KEY = re.compile(r"^\W*$|^\W*(thought process|let'?s solve|let'?s think|solution)\b|grader|judge|"
                         r"mark (this|it) correct", re.IGNORECASE)


def sections(conversation: Sequence[Message]) -> dict[str, str]:
    """The judge prompt's sections by heading (``RESPONSE`` without its markers)."""
    text = str(conversation[-1].get("content", ""))
    marks = list(_SECTION.finditer(text))
    out = {}
    for m, nxt in zip(marks, [*marks[1:], None], strict=False):  # no sections (not a judge prompt): empty
        out[m.group(1)] = text[m.end(): nxt.start() if nxt else len(text)].strip()
    resp = out.get("RESPONSE", "")
    out["RESPONSE"] = resp.removeprefix("<<<RESPONSE").removesuffix("RESPONSE>>>").strip("\n")
    return out


class OverlapJudge:
    """YES iff the response has every content word of the reference (with a
    reference) or shares a content word with the privileged facts (without)."""

    gullible = False

    def act(self, conversations: Sequence[Sequence[Message]], tools: Sequence[Any]) -> list[Completion]:
        return [Completion(f"VERDICT: {'YES' if self.grade(sections(c)) else 'NO'}") for c in conversations]

    def grade(self, s: dict[str, str]) -> bool:
        response = s.get("RESPONSE", "")
        if self.gullible and (_MASTER_KEY.search(response) or len(response) > 500):
            return True
        words = content_words(response)
        if "REFERENCE ANSWER" in s:
            ref = content_words(s["REFERENCE ANSWER"])
            return bool(ref) and ref <= words
        return bool(words & content_words(s.get("PRIVILEGED FACTS", "")))


class GullibleJudge(OverlapJudge):
    """:class:`OverlapJudge`, fooled by master keys (see the module docstring)."""

    gullible = True
