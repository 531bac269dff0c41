"""The simulated user of AskToAct: knows which object it wants and answers questions.

The env talks to a user through a small protocol, :class:`User`: one method,
``answer(question, view, rng) -> Answer``. :class:`RuleBasedUser` is the
default and needs no model. It understands

* yes/no questions about the wanted object's colour, material, size, room or
  receptacle, or about one named object ("Is it the red mug (1)?"), several
  attributes at once meaning "and" ("Is it the small red one?");
* "which one" questions: naming several objects ("Which one: red mug (1) or
  blue mug (2)?") or several values of one attribute ("Is it red or blue?");
* a "which"/"what" question about one thing, answered as a statement rather
  than a bare yes or no: "Which red one?" gets "Yes, it is red." or "No, it is
  not red.", and a question about another kind of object than the one wanted
  ("Which mug?" when it wants a lamp) gets "I want the lamp, not a mug.";

and says it does not understand anything else. An LLM-backed user implements
the same protocol; it may return ``Answer(text, consistent=None)`` when it
cannot say which objects its answer rules out, and the env then learns nothing
from it. :class:`LLMFallbackUser` is one: rule-based where the rules apply,
any ``generate(prompt) -> text`` function for the rest, with a timeout and a
reply that says so when the model cannot answer. The env builds it with
``user="llm", user_model="hf:smollm2-135m"`` (any policy or policy spec).

``noise`` makes the rule-based user answer wrongly with that probability.

>>> import random, numpy as np
>>> from agentgym.envs.embodied.home import LEVELS, Home, generate_layout
>>> home = Home(generate_layout(random.Random(1), LEVELS["easy"], "ambiguous"))
>>> view = UserView(home)
>>> name = home.objects[home.target].name
>>> RuleBasedUser().answer(f"Is it the {name}?", view, np.random.default_rng(0)).text
'Yes.'
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from agentgym.envs.embodied.home import COLOURS, MATERIALS, ROOM_CATALOG, SIZES, TYPES, Home
from agentgym.errors import ConfigError

__all__ = [
    "Answer",
    "LLMFallbackUser",
    "Query",
    "RuleBasedUser",
    "User",
    "UserView",
    "load_user",
    "parse_question",
    "policy_generate",
]

logger = logging.getLogger(__name__)

NOT_UNDERSTOOD = (
    "Sorry, I do not understand. Ask a yes/no question about its colour, material, size, "
    "room or place, or ask which one, naming the options."
)
ONE_THING = "Please ask about one thing at a time."


@dataclass(frozen=True)
class Answer:
    """What the user said. ``consistent``: the instances of the wanted type that
    this answer allows (``None``: unknown, the env learns nothing); ``kinds``:
    the attributes the question was about (``"object"`` for named objects)."""

    text: str
    understood: bool = True
    consistent: frozenset[int] | None = None
    kinds: frozenset[str] = frozenset()


class UserView:
    """What the user knows: the home as it was at the start, and the target."""

    __slots__ = ("home",)

    def __init__(self, home: Home) -> None:
        self.home = home

    @property
    def target(self) -> int:
        return self.home.target

    @property
    def target_name(self) -> str:
        return self.home.objects[self.home.target].name

    def describe_target(self) -> str:
        """A full description, for an LLM-backed user's prompt."""
        h, o = self.home, self.home.objects[self.home.target]
        return f"the {o.size} {o.colour} {o.material} {o.type} ({o.n}) on the {o.start} in the {h.receptacle_room[o.start]}"


@runtime_checkable
class User(Protocol):
    """Anything that answers the agent's questions."""

    def answer(self, question: str, view: UserView, rng: np.random.Generator) -> Answer: ...


# --------------------------------------------------------------------------
# Parsing questions
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """A parsed question. ``form``: ``yes_no`` (all ``conditions`` hold?),
    ``which_object`` (which of ``options``, object ids) or ``which_value``
    (which of ``options``, values of attribute ``kind``)."""

    form: str
    conditions: tuple[tuple[str, Any], ...] = ()
    options: tuple[Any, ...] = ()
    kind: str = ""
    wh: bool = False
    """Asked as "which"/"what" (a ``yes_no`` query is then answered as a statement)."""

    @property
    def kinds(self) -> frozenset[str]:
        if self.form == "yes_no":
            return frozenset(k for k, _ in self.conditions)
        return frozenset({"object" if self.form == "which_object" else self.kind})

    def evaluate(self, home: Home, i: int) -> Any:
        """The true answer if object ``i`` were the wanted one."""
        if self.form == "yes_no":
            return all(home.attribute(i, k) == v for k, v in self.conditions)
        value = i if self.form == "which_object" else home.attribute(i, self.kind)
        return value if value in self.options else None


_RECEPTACLES = sorted((r for rs in ROOM_CATALOG.values() for r, _ in rs), key=len, reverse=True)
# Longest first, so "kitchen table" is a receptacle, not the kitchen.
_VOCAB: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("receptacle", tuple(_RECEPTACLES)),
    ("room", tuple(sorted(ROOM_CATALOG, key=len, reverse=True))),
    ("colour", COLOURS),
    ("material", MATERIALS),
    ("size", SIZES),
    ("type", tuple(TYPES)),
)
_SYNONYMS = {"big": "large", "little": "small", "wood": "wooden"}
_AUXILIARIES = frozenset("is are was were do does did can could would will should shall has have may might must".split())


def _asks_which(text: str) -> bool:
    """A "which"/"what" question (not "Is it the one which ...?"), on normalised text."""
    words = text.split()
    return bool(words) and words[0] not in _AUXILIARIES and not {"which", "what"}.isdisjoint(words)
_NAMED = re.compile(r"\b(?:(" + "|".join(COLOURS) + r") )?([a-z]+) (\d+)\b")


def _normalise(question: str) -> str:
    text = re.sub(r"[^a-z0-9]+", " ", question.lower())
    words = [_SYNONYMS.get(w, w) for w in text.split()]
    words = [w[:-1] if w.endswith("s") and w[:-1] in TYPES else w for w in words]  # "mugs"
    return " " + " ".join(words) + " "


def parse_question(question: str, home: Home) -> Query | str:
    """Parse ``question`` into a :class:`Query`, or return the reply to a question
    the rule-based user does not understand."""
    text = _normalise(question)
    named: list[int] = []
    for m in _NAMED.finditer(text):
        i = home.names.get(f"{m.group(2)} {m.group(3)}")
        if i is not None and (m.group(1) is None or m.group(1) == home.objects[i].colour):
            named.append(i)
    if named:
        named = list(dict.fromkeys(named))
        if len(named) == 1:
            return Query("yes_no", conditions=(("object", named[0]),), wh=_asks_which(text))
        return Query("which_object", options=tuple(named))
    mentions: dict[str, list[str]] = {}
    for kind, values in _VOCAB:
        for v in values:
            needle = f" {v} "
            if needle in text:
                mentions.setdefault(kind, []).append(v)
                text = text.replace(needle, " # ")
    # The wanted type is implied by the request; naming it adds nothing.
    types = [t for t in mentions.pop("type", []) if t != home.target_type]
    if types:
        mentions["type"] = types
    if not mentions:
        return NOT_UNDERSTOOD
    if all(len(v) == 1 for v in mentions.values()):
        wh = _asks_which(text)
        return Query("yes_no", conditions=tuple((k, v[0]) for k, v in mentions.items()), wh=wh)
    if len(mentions) == 1:
        (kind, values), = mentions.items()
        return Query("which_value", options=tuple(values), kind=kind)
    return ONE_THING


# --------------------------------------------------------------------------
# The rule-based user
# --------------------------------------------------------------------------
class RuleBasedUser:
    """The default user (see the module docstring).

    Args:
        noise: Probability of a wrong answer to an understood question.
    """

    def __init__(self, noise: float = 0.0) -> None:
        if not 0.0 <= noise <= 1.0:
            raise ConfigError(f"answer noise must be in [0, 1], got {noise}.")
        self.noise = float(noise)

    def answer(self, question: str, view: UserView, rng: np.random.Generator) -> Answer:
        home = view.home
        query = parse_question(question, home)
        if isinstance(query, str):
            return Answer(query, understood=False)
        value = query.evaluate(home, home.target)
        # (The draw comes first: a question's answer never shifts the noise of later ones.)
        if self.noise and rng.random() < self.noise and not _other_type(query):
            value = _wrong(query, value, rng)
        consistent = frozenset(i for i in home.instances if query.evaluate(home, i) == value)
        return Answer(_say(query, value, home), True, consistent, query.kinds)


class LLMFallbackUser:
    """The rule-based user, with free-form questions it does not understand
    passed to a language model.

    ``generate(prompt) -> reply`` is any text generator (a local model, an
    OpenAI-compatible endpoint; :func:`policy_generate` makes one from a policy
    or a policy spec); the prompt tells it which object the user wants and asks
    for a short, truthful reply. Its answers carry no known meaning
    (``consistent=None``), so they earn no information-gain reward.

    The model gets ``timeout_s`` per reply. When it cannot answer (timeout,
    exception, error completion, empty reply) the user's reply says so
    (:data:`NO_REPLY`), the question still counts as asked, and nothing is
    learned from it; the env never raises. ``failures`` counts such replies.

    >>> user = LLMFallbackUser(lambda prompt: "It is the one I drink tea from.")
    >>> import random
    >>> from agentgym.envs.embodied.home import LEVELS, Home, generate_layout
    >>> view = UserView(Home(generate_layout(random.Random(1), LEVELS["easy"], "ambiguous")))
    >>> user.answer("What do you use it for?", view, np.random.default_rng(0)).text
    'It is the one I drink tea from.'
    >>> def broken(prompt): raise TimeoutError("model server down")
    >>> LLMFallbackUser(broken).answer("What do you use it for?", view, np.random.default_rng(0)).text[:35]
    'The user could not answer right now'
    """

    PROMPT = (
        "You are a person at home who asked a robot to bring you {target}. The robot asks: "
        '"{question}"\nAnswer truthfully in one short sentence, without naming the object\'s number.'
    )

    def __init__(self, generate: Any, noise: float = 0.0, max_chars: int = 200, timeout_s: float = 30.0) -> None:
        if not callable(generate):
            raise ConfigError(f"generate must be callable(prompt) -> str, got {type(generate).__name__}.")
        if timeout_s <= 0:
            raise ConfigError(f"the LLM user's timeout_s must be positive, got {timeout_s}.")
        self.generate = generate
        self.rules = RuleBasedUser(noise)
        self.max_chars = max_chars
        self.timeout_s = float(timeout_s)
        self.failures = 0

    def answer(self, question: str, view: UserView, rng: np.random.Generator) -> Answer:
        ruled = self.rules.answer(question, view, rng)
        if ruled.understood:
            return ruled
        prompt = self.PROMPT.format(target=view.describe_target(), question=question)
        reply, error = _call_with_timeout(self.generate, prompt, self.timeout_s)
        # Object numbers are the agent's handles; the user speaks of the object, not its label.
        reply = _NUMBER.sub("", " ".join(str(reply or "").split()))[: self.max_chars].strip()
        if not reply:
            self.failures += 1
            logger.warning("LLM user gave no reply (%s)", error or "empty reply")
            return Answer(NO_REPLY.format(why=error or "empty reply"), understood=True, consistent=None)
        return Answer(reply, understood=True, consistent=None)


NO_REPLY = ("The user could not answer right now ({why}). Ask again, or ask a yes/no question about its colour, "
            "material, size, room or place.")
_NUMBER = re.compile(r"\s*\(\d+\)")


def _call_with_timeout(fn: Any, prompt: str, timeout_s: float) -> tuple[str, str]:
    """``(reply, "")`` or ``("", why)``: ``fn(prompt)`` run in a daemon thread
    (a backend that never returns cannot hold up the episode or the process)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["out"] = fn(prompt)
        except Exception as e:  # the user's model failing is an observation, never a crash of the env
            box["err"] = f"{type(e).__name__}: {e}"

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        return "", f"no reply within {timeout_s:g} s"
    if "err" in box:
        return "", box["err"][:200]
    return str(box.get("out") or ""), ""


def policy_generate(model: Any, *, max_new_tokens: int = 48) -> Any:
    """``generate(prompt) -> text`` from a policy or a spec: a policy object
    (``act(conversations, tools)``), a policy spec (``"hf:smollm2-135m"``,
    ``"openai:URL#MODEL"``; greedy, ``max_new_tokens``), a
    ``"package.module:Class"`` backend, or a plain callable (returned as is)."""
    from agentgym.rewards.judge import load_judge_policy

    if callable(model) and not hasattr(model, "act"):
        return model
    if isinstance(model, str) and model.split(":", 1)[0] in ("hf", "openai", "tiny"):
        policy = load_judge_policy(model, temperature=0.0, max_new_tokens=max_new_tokens)
    else:
        policy = load_judge_policy(model)

    def generate(prompt: str) -> str:
        c = policy.act([[{"role": "user", "content": prompt}]], [[]])[0]
        if getattr(c, "finish_reason", "") == "error":
            raise RuntimeError(f"backend error: {getattr(c, 'error', '')}")
        return c.text

    return generate


def _wrong(query: Query, value: Any, rng: np.random.Generator) -> Any:
    if query.form == "yes_no":
        return not value
    others = [v for v in (*query.options, None) if v != value]
    return others[int(rng.integers(len(others)))]


def _say(query: Query, value: Any, home: Home) -> str:
    if query.form == "yes_no" and query.wh:
        return _state(query, bool(value), home)
    if query.form == "yes_no":
        return "Yes." if value else "No."
    if value is None:
        return "None of those."
    if query.form == "which_object":
        return f"The {home.objects[value].name}."
    if query.kind == "room":
        return f"The one in the {value}."
    if query.kind == "receptacle":
        return f"The one {'in' if value in home.openable else 'on'} the {value}."
    return f"The {value} one."


def _article(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _other_type(query: Query) -> bool:
    """A "which"/"what" question about another kind of object: its answer (the
    wanted type) is not a fact the user can be wrong about."""
    return query.wh and any(k == "type" for k, _ in query.conditions)


def _state(query: Query, value: bool, home: Home) -> str:
    """A yes/no answer to a "which"/"what" question, as a statement of the fact."""
    other = [v for k, v in query.conditions if k == "type"]
    if other:  # "Which mug?" when it wants a lamp: the question does not apply
        return f"I want the {home.target_type}, not {_article(other[0])}."
    said = []
    for kind, v in query.conditions:
        if kind == "object":
            said.append(f"the {home.objects[v].name}")
        elif kind == "material":
            said.append(f"made of {v}")
        elif kind == "room":
            said.append(f"in the {v}")
        elif kind == "receptacle":
            said.append(f"{'in' if v in home.openable else 'on'} the {v}")
        else:
            said.append(str(v))
    fact = " and ".join(said)
    return f"Yes, it is {fact}." if value else f"No, it is not {fact}."


def load_user(user: User | str | None, noise: float = 0.0, *, model: Any = None, timeout_s: float = 30.0) -> User:
    """``None`` -> :class:`RuleBasedUser` with ``noise``; ``"llm"`` ->
    :class:`LLMFallbackUser` on ``model`` (see :func:`policy_generate`) with
    ``timeout_s``; a ``"module:attr"`` string -> that class or factory, called
    with ``noise=``; a user object -> itself."""
    if user == "llm":
        if model is None:
            raise ConfigError("user='llm' needs user_model= (a policy spec such as 'hf:smollm2-135m', a Policy, "
                              "or a generate(prompt) -> text function).")
        return LLMFallbackUser(policy_generate(model), noise=noise, timeout_s=timeout_s)
    if model is not None:
        raise ConfigError(f"user_model= is only used with user='llm' (got user={user!r}); set user='llm' or drop it.")
    if user is None:
        return RuleBasedUser(noise)
    if isinstance(user, str):
        module, _, attr = user.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as e:
            raise ConfigError(f"cannot load user {user!r} ({e}); give 'llm' or 'package.module:ClassName'.") from e
        return factory(noise=noise)
    if not isinstance(user, User):
        raise ConfigError(f"user must have an answer(question, view, rng) method, got {type(user).__name__}.")
    return user
