"""The simulated customer of Tau2Retail-v0, built from a τ² task's user scenario.

A τ² scenario is prose for an LLM to act out: ``reason_for_call`` (what the
customer wants, often with conditions: "if the agent asks for confirmation,
only exchange the desk lamp"), ``known_info`` ("You are Yusuf Rossi in zip
code 19122."), ``unknown_info`` ("You do not remember your email address.")
and ``task_instructions`` (a persona). τ² plays it with an LLM; here two users
talk through one interface (``opening(view)``, ``reply(message, view)``):

:class:`ScriptedUser` (the default) is deterministic:

* It opens with the reason for the call, rewritten mechanically into the
  first person (:func:`first_person`): every preference and condition of the
  scenario is in that one message.
* It answers what it recognizes in the agent's message: its identity (e-mail,
  name, zip code, user id: only those the scenario says it knows, read off the
  scenario text and checked against the customer's record), its order numbers
  (those the scenario names; otherwise "I don't remember, can you look it
  up?"), and requests for confirmation ("Yes, please go ahead.").
* It ends the conversation ("###STOP###") as soon as its goal is served: the
  database equals the one τ²'s gold actions produce and every fact the agent
  must say (``communicate_info``) has been said. It also ends after
  ``patience`` replies in a row that it had nothing to answer to (a recap of
  the request first, then "please go ahead"), and when transferred to a human.
  In the 5 tasks whose gold changes nothing and says nothing (τ² ids 10, 25, 50,
  57, 65: the right outcome is to change nothing), the goal is served from the
  start, so the first message ends the call — graded 1.0 if nothing was changed,
  as τ²'s DB × COMMUNICATE reward grades such a conversation too.

Its limits, by design: it never acts out the scenario's conditional turns (it
states them up front and always confirms), it cannot answer free-form
questions (which colour? which size?) beyond what its opening says, and it
ignores the persona. Knowing when the goal is served uses the grader's
verdict, so the dialogue never ends early on a failing episode; an agent that
never gets there is ended by the user's patience and graded on what it did.

:class:`PolicyUser` plays the scenario with any :class:`~agentgym.Policy`
(a local HF model, an OpenAI-compatible endpoint), τ²-style: its system
prompt holds the whole scenario and the stop tokens; it ends the conversation
when it says ``###STOP###`` (or ``###TRANSFER###``/``###OUT-OF-SCOPE###``).
A policy failure falls back on the scripted user for that turn.

>>> first_person("You received your order #W1 and you want to return it. If the agent asks you, say yes.")
'I received my order #W1 and I want to return it. If you ask me, say yes.'
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from agentgym.errors import ConfigError

__all__ = ["PolicyUser", "ScriptedUser", "User", "UserTurn", "UserView", "first_person", "load_user", "STOP"]

logger = logging.getLogger(__name__)

STOP = "###STOP###"
STOP_TOKENS = ("###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###")
GREETING = "Hi! How can I help you today?"


@dataclass(frozen=True)
class UserTurn:
    """What the user says, the facts it gave away, whether it ended the conversation,
    and whether it had something to answer (``False``: a recap or a nudge)."""

    text: str
    revealed: frozenset[str] = frozenset()
    done: bool = False
    answered: bool = True


@dataclass(frozen=True)
class UserView:
    """What the user sees: the task's ``meta`` (scenario and facts), the facts
    already given, the dialogue (``(role, text)``, role ``user``/``agent``), how
    many replies in a row had nothing to answer, and whether the goal is served."""

    meta: Mapping[str, Any]
    revealed: frozenset[str]
    dialogue: Sequence[tuple[str, str]]
    idle: int
    served: bool


@runtime_checkable
class User(Protocol):
    def opening(self, view: UserView) -> str: ...

    def reply(self, message: str, view: UserView) -> UserTurn: ...


# --------------------------------------------------------------------------
# Second person -> first person
# --------------------------------------------------------------------------
_AGENT_VERBS = {"asks": "ask", "says": "say", "tells": "tell", "offers": "offer", "mentions": "mention",
                "confirms": "confirm", "finds": "find", "does": "do", "has": "have", "is": "are",
                "provides": "provide", "suggests": "suggest", "lists": "list", "insists": "insist",
                "refuses": "refuse", "agrees": "agree", "needs": "need", "wants": "want", "informs": "inform"}
_FIXED = [
    (r"\byou are\b", "I am"), (r"\byou're\b", "I'm"), (r"\byou were\b", "I was"), (r"\byou've\b", "I've"),
    (r"\byou'd\b", "I'd"), (r"\byou'll\b", "I'll"), (r"\byourself\b", "myself"), (r"\byours\b", "mine"),
    (r"\byour\b", "my"),
]
# "you" as a subject: at the start of a clause; elsewhere it is an object ("me").
_SUBJECT = re.compile(
    r"(^|[.!?;:(]\s*|,\s*|\b(?:and|but|or|if|so|that|because|since|when|whenever|then|as|unless|while|though|"
    r"although|where|what|which|how|once|until|before|after|whether|sure|recently)\s+)you\b",
    re.IGNORECASE,
)

# "you" before a verb is a subject too ("the charger you just bought").
_BEFORE_VERB = re.compile(
    r"\byou(?=\s+(?:have|had|will|would|just|want|wanted|can|could|need|do|did|don't|didn't|should|might|may|must|"
    r"also|only|still|already|prefer|like|think|know|use|say|mention|got|get|bought|ordered|received|paid|made|"
    r"placed|thought|realize|realized|wonder|regret|live|lived)\b)",
    re.IGNORECASE,
)


def first_person(text: str) -> str:
    """The scenario's second-person prose as the customer's own words (mechanical: good, not perfect)."""
    text = " ".join(str(text).split()).lstrip(". ")
    # Notes to the simulator that are not things a customer says.
    text = re.sub(r",?\s*(?:but\s+)?(?:do not|don't)\s+(?:reveal|mention)\s+(?:it|this|that)(?:\s+to the agent)?",
                  "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*\((?:you can mention this to the agent)\)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*\(\s*\)", "", text)
    text = re.sub(r"\s+([.,;!?])", r"\1", text)
    text = re.sub(r"\bthe agent\s+(\w+)", lambda m: "\x00 " + _AGENT_VERBS.get(m.group(1).lower(), m.group(1)),
                  text, flags=re.IGNORECASE)
    text = re.sub(r"\bthe agent\b", "\x00", text, flags=re.IGNORECASE)
    for pattern, repl in _FIXED:
        text = re.sub(pattern, lambda m, r=repl: _case(m.group(0), r), text, flags=re.IGNORECASE)
    text = _SUBJECT.sub(lambda m: m.group(1) + "I", text)
    text = _BEFORE_VERB.sub("I", text)
    text = re.sub(r"\byou\b", "me", text, flags=re.IGNORECASE)
    text = text.replace("\x00", "you")
    text = re.sub(r"(^|[.!?]\s+)you\b", lambda m: m.group(1) + "You", text)
    return text


def _case(found: str, repl: str) -> str:
    return repl[0].upper() + repl[1:] if found[0].isupper() and repl[0] != "I" else repl


# --------------------------------------------------------------------------
# The scripted user
# --------------------------------------------------------------------------
_ASKS = {
    "email": re.compile(r"e-?mail"),
    "name": re.compile(r"\b(?:full |first |last )?name\b"),
    "zip": re.compile(r"\b(?:zip|postal|post code|postcode)\b"),
    "user_id": re.compile(r"\buser ?id\b|\busername\b|\baccount id\b"),
    "identity": re.compile(r"\b(?:identify|identity|verify|verification|authenticate|authentication|locate your "
                           r"account|find your account|look up your account|look you up)\b"),
    "orders": re.compile(r"\border (?:id|number|#|no\.?)|\bwhich order|\bthe order ids?\b|\border numbers?\b"),
    "confirm": re.compile(r"\bconfirm|\byes or no\b|\byes/no\b|\bproceed\b|\bgo ahead\b|\bshall i\b|\bshould i\b|"
                          r"\bwould you like (?:me|to)\b|\bdo you want (?:me|to)\b|\bis (?:that|this) (?:correct|"
                          r"right|ok)\b|\bare you sure\b|\bcan i go\b"),
}
RECAP = "To recap what I need: {request}"
PLEASE = "I have nothing to add. Could you please take care of my request?"
GIVE_UP = "I don't think we are getting anywhere. I'll leave it here, goodbye. " + STOP
THANKS = "Great, thank you for your help! That's all I needed. " + STOP


class ScriptedUser:
    """The deterministic customer (see the module docstring).

    Args:
        patience: Replies in a row with nothing to answer before it ends the conversation.
    """

    def __init__(self, patience: int = 3) -> None:
        if patience < 1:
            raise ConfigError(f"patience must be >= 1, got {patience}.")
        self.patience = patience

    def opening(self, view: UserView) -> str:
        return "Hi! " + view.meta["request"]

    def reply(self, message: str, view: UserView) -> UserTurn:
        if view.served:
            return UserTurn(THANKS, done=True)
        q = " ".join(message.lower().split())
        asked = {k for k, rx in _ASKS.items() if rx.search(q)}
        facts: Mapping[str, Any] = view.meta["facts"]
        said: list[str] = []
        revealed: set[str] = set()
        identity = asked & {"email", "name", "zip", "user_id", "identity"}
        if identity:
            said += _identity(identity, facts, revealed)
        if "orders" in asked:
            if facts.get("orders"):
                ids = facts["orders"]
                said.append(f"The order number{'s are' if len(ids) > 1 else ' is'} {_join(ids)}.")
                revealed.add("orders")
            else:
                said.append("I don't remember the order number. Can you look it up in my account?")
        if "confirm" in asked and not identity:
            said.append("Yes, please go ahead.")
        if said:
            return UserTurn(" ".join(said), frozenset(revealed))
        if view.idle + 1 >= self.patience:
            return UserTurn(GIVE_UP, done=True)
        if view.idle == 0:
            return UserTurn(RECAP.format(request=view.meta["request"]), answered=False)
        return UserTurn(PLEASE, answered=False)


def _identity(asked: set[str], facts: Mapping[str, Any], revealed: set[str]) -> list[str]:
    emails, zip_code, user_id = facts.get("emails"), facts.get("zip"), facts.get("user_id")
    name = facts.get("name") or facts.get("first_name")
    if asked == {"identity"}:  # "can you verify your identity?": the customer picks what it knows
        asked = {"email"} if emails else {"name", "zip"} if name and zip_code else {"user_id", "zip"}
    out = []
    if "email" in asked:
        if emails:
            out.append(f"My email is {emails[0]}." if len(emails) == 1 else
                       f"My email is {emails[0]}, or maybe {_join(emails[1:], 'or')}.")
            revealed.add("email")
        else:
            out.append("I don't remember my email address.")
            asked = asked | ({"name", "zip"} if name and zip_code else {"user_id", "zip"})
    if "name" in asked and name:
        out.append(f"My name is {name}.")
        revealed.add("name")
    if "zip" in asked and zip_code:
        out.append(f"My zip code is {zip_code}.")
        revealed.add("zip")
    if "user_id" in asked and user_id:
        out.append(f"My user id is {user_id}.")
        revealed.add("user_id")
    if not out:
        out.append("I'm afraid I don't know that.")
    return out


def _join(items: Sequence[str], word: str = "and") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


# --------------------------------------------------------------------------
# A user played by a policy
# --------------------------------------------------------------------------
class PolicyUser:
    """A customer played by a policy, from the scenario (τ²'s way, with any backend).

    Args:
        policy: Any object with ``act(conversations, tools)``.
        max_chars: Replies are cut to this length.
    """

    SYSTEM = (
        "You are a customer talking to a retail store's customer service agent. Act out the scenario below, one "
        "short message at a time, in your own words. Do not give all your information at once; give what the "
        "agent asks for. Never invent information that is not in the scenario (say you don't know). Follow the "
        "scenario's instructions about how to react.\n\nScenario:\n{reason}\nWhat you know: {known}\nWhat you "
        "don't know: {unknown}\nYour personality: {persona}\n\nWhen your request has been handled (or cannot be), "
        "end the conversation with your last message followed by ###STOP###. If you are transferred to a human "
        "agent, answer ###TRANSFER###."
    )

    def __init__(self, policy: Any, *, max_chars: int = 1000) -> None:
        if not callable(getattr(policy, "act", None)):
            raise ConfigError(f"PolicyUser needs a policy with act(conversations, tools), got {type(policy).__name__}.")
        self.policy = policy
        self.max_chars = max_chars
        self.fallback = ScriptedUser()

    def _say(self, view: UserView, last: str) -> str | None:
        m = view.meta
        system = self.SYSTEM.format(reason=m["reason_for_call"], known=m["known_info"] or "-",
                                    unknown=m["unknown_info"] or "-", persona=m["task_instructions"] or "-")
        messages: list[dict[str, str]] = [{"role": "system", "content": system},
                                          {"role": "user", "content": GREETING}]
        # The policy plays the customer: the agent's words are its "user" turns.
        for role, text in view.dialogue:
            messages.append({"role": "assistant" if role == "user" else "user", "content": text})
        if last:
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

    def opening(self, view: UserView) -> str:
        text = self._say(view, "")
        if text is None:
            return self.fallback.opening(view)
        return _strip_stop(text)[0] or self.fallback.opening(view)

    def reply(self, message: str, view: UserView) -> UserTurn:
        text = self._say(view, message)
        if text is None:
            return self.fallback.reply(message, view)
        text, done = _strip_stop(text)
        low = text.lower()
        facts = view.meta["facts"]
        revealed = frozenset(k for k in ("name", "zip", "user_id") if facts.get(k) and str(facts[k]).lower() in low)
        revealed |= {"email"} if any(e.lower() in low for e in facts.get("emails", ())) else set()
        revealed |= {"orders"} if any(o.lower() in low for o in facts.get("orders", ())) else set()
        return UserTurn(text + (f" {STOP}" if done else ""), frozenset(revealed), done)


def _strip_stop(text: str) -> tuple[str, bool]:
    done = any(t in text for t in STOP_TOKENS)
    for t in STOP_TOKENS:
        text = text.replace(t, "")
    return text.strip(), done


def load_user(user: Any, *, patience: int = 3) -> User:
    """``None``/``"scripted"`` -> :class:`ScriptedUser`; a :class:`User` -> itself; a
    policy (an object with ``act``) or a policy spec string (``"openai:URL#MODEL"``,
    ``"hf:PATH"``) -> :class:`PolicyUser`."""
    if user is None or user == "scripted":
        return ScriptedUser(patience)
    if isinstance(user, User):
        return user
    if isinstance(user, str):
        return PolicyUser(importlib.import_module("agentgym.policy").load_policy(user))
    if callable(getattr(user, "act", None)):
        return PolicyUser(user)
    raise ConfigError(
        f"user must be 'scripted', a policy spec string, a Policy or an object with opening()/reply(); "
        f"got {type(user).__name__}."
    )
