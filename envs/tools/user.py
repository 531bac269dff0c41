"""The simulated user of ToolCalls-v0.

The env talks to a user through :class:`User`, two methods:

* ``reply(question, view) -> Reply`` — the answer to the agent's ``ask_user``,
  and which of the user's facts it gave away;
* ``request(view) -> str`` — the user's message that opens turn
  ``view.turn_index`` (the first request, then each follow-up).

:class:`ScriptedUser` (the default) is deterministic and reads everything from
the task: each turn's ``facts`` (things the user knows but did not say, each
with the words that ask for it). A question that mentions a fact's words gets
that fact; a question that mentions none gets every fact still untold (the user
is cooperative); a question when there is nothing to tell gets "you have
everything you need".

:class:`PolicyUser` plays the user with any :class:`~agentgym.Policy` (a local
HF model, an OpenAI-compatible endpoint): its system prompt is the scripted
user's request and facts, with the instruction to answer only from them. The
facts it gave away are those whose words (a number, a name, an address) appear
in its reply. Requests stay the task's own text unless ``paraphrase=True``
(the grading depends on what the user asked for).

>>> from agentgym.envs.tools.user import ScriptedUser, UserView
>>> turns = [{"request": "Move money to savings.", "facts": {"amount": {"say": "$250.", "keywords": ["how much"]}}}]
>>> view = UserView(turns, 0, frozenset(), [])
>>> ScriptedUser().reply("How much should I move?", view)
Reply(text='$250.', revealed=frozenset({'amount'}))
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from agentgym.errors import ConfigError

__all__ = ["NOTHING_TO_ADD", "PolicyUser", "Reply", "ScriptedUser", "User", "UserView", "load_user"]

logger = logging.getLogger(__name__)

NOTHING_TO_ADD = "I think you have everything you need from me."


@dataclass(frozen=True)
class Reply:
    text: str
    revealed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UserView:
    """What the user knows: the task's turns, the current turn, the facts already
    given, and the dialogue so far (``(role, text)`` pairs, role ``user``/``agent``)."""

    turns: Sequence[Mapping[str, Any]]
    turn_index: int
    revealed: frozenset[str]
    dialogue: Sequence[tuple[str, str]]

    @property
    def facts(self) -> Mapping[str, Mapping[str, Any]]:
        return self.turns[self.turn_index]["facts"]

    @property
    def untold(self) -> list[str]:
        return [k for k in self.facts if k not in self.revealed]


@runtime_checkable
class User(Protocol):
    def reply(self, question: str, view: UserView) -> Reply: ...

    def request(self, view: UserView) -> str: ...


class ScriptedUser:
    """The deterministic user (see the module docstring)."""

    def reply(self, question: str, view: UserView) -> Reply:
        facts = view.facts
        if not facts:
            return Reply(NOTHING_TO_ADD)
        q = " " + " ".join(re.sub(r"[^a-z0-9@.\-]+", " ", question.lower()).split()) + " "
        asked = [k for k, f in facts.items() if any(_mentions(q, w) for w in f["keywords"])]
        chosen = asked or view.untold or list(facts)
        return Reply(" ".join(facts[k]["say"] for k in chosen), frozenset(chosen))

    def request(self, view: UserView) -> str:
        return str(view.turns[view.turn_index]["request"])


def _mentions(q: str, word: str) -> bool:
    return f" {word} " in q or (len(word) > 4 and word in q)


class PolicyUser:
    """A user played by a policy, instructed with the scripted user's facts.

    Args:
        policy: Any object with ``act(conversations, tools)`` (an
            :class:`~agentgym.Policy`).
        paraphrase: Let the policy word the follow-up requests too.
        max_chars: Replies are cut to this length.
    """

    SYSTEM = (
        "You are a customer talking to an assistant. Stay in character and answer in one or two short "
        "sentences. What you want: {request}\nFacts you know (give them when asked; never invent others):\n"
        "{facts}\nIf the assistant asks for something that is not in your facts, say you don't know."
    )

    def __init__(self, policy: Any, *, paraphrase: bool = False, max_chars: int = 600) -> None:
        if not callable(getattr(policy, "act", None)):
            raise ConfigError(f"PolicyUser needs a policy with act(conversations, tools), got {type(policy).__name__}.")
        self.policy = policy
        self.paraphrase = paraphrase
        self.max_chars = max_chars
        self.fallback = ScriptedUser()

    def _ask(self, view: UserView, last: str) -> str | None:
        turn = view.turns[view.turn_index]
        facts = "\n".join(f"- {f['say']}" for f in turn["facts"].values()) or "- (nothing beyond your request)"
        messages: list[dict[str, str]] = [{"role": "system", "content": self.SYSTEM.format(request=turn["request"],
                                                                                          facts=facts)}]
        # The policy plays the user: the agent's words are its "user" turns.
        for role, text in view.dialogue:
            messages.append({"role": "assistant" if role == "user" else "user", "content": text})
        messages.append({"role": "user", "content": last})
        try:
            completion = self.policy.act([messages], [[]])[0]
        except Exception as e:  # a user model that fails must not kill the episode
            logger.warning("PolicyUser: the policy raised %s: %s; the scripted user answers", type(e).__name__, e)
            return None
        if getattr(completion, "finish_reason", "stop") == "error":
            return None
        text = " ".join(str(completion.text).split())[: self.max_chars]
        return text or None

    def reply(self, question: str, view: UserView) -> Reply:
        text = self._ask(view, question)
        if text is None:
            return self.fallback.reply(question, view)
        low = text.lower()
        said = {t.strip(".,:") for t in re.findall(r"[\w.@:-]+", low)}
        revealed = frozenset(k for k, f in view.facts.items() if _fact_tokens(f["say"]) & said)
        return Reply(text, revealed)

    def request(self, view: UserView) -> str:
        scripted = self.fallback.request(view)
        if not self.paraphrase or view.turn_index == 0:
            return scripted
        text = self._ask(view, f"(Now say this next request in your own words: {scripted})")
        return text or scripted


_STOP = {"it", "is", "the", "a", "an", "and", "to", "of", "let's", "it's", "i", "i'm", "my", "be", "should", "say"}


def _fact_tokens(say: str) -> set[str]:
    """The distinctive tokens of a fact (numbers, ids, addresses, names)."""
    tokens = {t.strip(".,:") for t in re.findall(r"[\w.@:$-]+", say.lower())}
    return {t.lstrip("$") for t in tokens if t and t not in _STOP and (any(c.isdigit() for c in t) or "@" in t or len(t) > 3)}


def load_user(user: Any) -> User:
    """``None``/``"scripted"`` -> :class:`ScriptedUser`; a :class:`User` -> itself;
    an object with ``act`` (a policy) -> :class:`PolicyUser`; another string -> a
    policy spec for :func:`agentgym.load_policy` (``"openai:URL#MODEL"``, ``"hf:PATH"``)
    played as a :class:`PolicyUser`."""
    if user is None or user == "scripted":
        return ScriptedUser()
    if isinstance(user, User):
        return user
    if isinstance(user, str):
        policy_module = importlib.import_module("agentgym.policy")
        return PolicyUser(policy_module.load_policy(user))
    if callable(getattr(user, "act", None)):
        return PolicyUser(user)
    raise ConfigError(
        f"user must be 'scripted', a policy spec string, a Policy or an object with reply()/request(); "
        f"got {type(user).__name__}."
    )
