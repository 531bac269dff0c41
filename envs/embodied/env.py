"""The AskToAct environment: fetch a specific object from an ambiguous request.

Task: a text home (rooms, receptacles, some closed, object instances with
colour, material and size). The user asks for "the mug" and wants one
specific mug; the agent sees only the room it is in and the inside of open
receptacles, may examine objects, and may ask the user questions.
Tools: ``look``, ``go(room)``, ``open(receptacle)``, ``close(receptacle)``,
``examine(object)``, ``pick(object)``, ``place(object, receptacle)``,
``ask(question)``. Objects are named as observations print them ("red mug (1)");
type and number alone ("mug (1)") name the same object (numbers are unique per type).
Reward parts (an :class:`agentgym.rewards.Reward`, ``env.reward``): ``success``
(outcome; +1 for placing the wanted object on the goal receptacle, not
reported otherwise), ``question`` (per turn, per ``ask``, from a pluggable
:class:`~.reward.QuestionReward`; default information gain, zero for redundant
or not-understood questions, a penalty past the question budget; with
``question_judge=`` an LLM judge's verdict on relevance and minimality),
``invalid_action`` (base class). A judged part the judge could not give is
left out of ``reward_parts``, named in ``info["reward_unavailable"]`` and
counted in the ``reward_unavailable`` metric (judged envs only).
Termination: an object of the wanted type is placed on the goal receptacle
(success only if it is the wanted instance). Truncation: ``max_turns``
(per difficulty: 12 / 20 / 30).
Metrics: ``success``, ``questions_asked``, ``redundant_questions``,
``irrelevant_questions``, ``resolved_by_asking``, ``steps`` (tool calls
executed), ``candidates`` (instances fitting the instruction);
``user_no_reply`` with ``user="llm"`` (free-form questions the LLM user could
not answer).
Simulated user: rule-based by default; ``user="llm"`` with ``user_model=``
lets a language model answer the free-form questions the rules do not
understand, told the wanted object (see :mod:`.user`).
State key: room, held object, open receptacles, the candidates still
consistent with what the agent was told and has seen, the candidates
consistent with what it was told, and moved objects; never turn counters.

Change log: v0 — first version.
"""

from __future__ import annotations

from typing import Any

from agentgym import AgentEnv, Task, tool
from agentgym.envs.embodied.home import EXAMINE_KINDS, VISIBLE_KINDS, Home
from agentgym.envs.embodied.reward import (
    QuestionOutcome,
    QuestionReward,
    load_question_reward,
    make_question_judge,
)
from agentgym.envs.embodied.tasks import AskToActTasks
from agentgym.envs.embodied.user import User, UserView, load_user
from agentgym.errors import ConfigError, InvalidActionError, did_you_mean
from agentgym.rewards import Part, Reward, RewardReporting, Unavailable

__all__ = ["AskToActEnv"]


def _knowledge_level(kinds: frozenset[str]) -> int:
    """What the agent must know of an object to rule it out with a fact about
    ``kinds``: 0 nothing, 1 to have seen it, 2 to have examined it."""
    if kinds & EXAMINE_KINDS:
        return 2
    return 1 if kinds & VISIBLE_KINDS else 0


class AskToActEnv(RewardReporting, AgentEnv):
    """See the module docstring. Extra keyword arguments (the rest go to
    :class:`~agentgym.AgentEnv`):

    Args:
        user: The simulated user (a :class:`~.user.User`, a ``"module:Class"``
            string, None for the rule-based user, or ``"llm"``: the
            rule-based user with free-form questions it does not understand
            answered by a language model, ``user_model``, that is told the
            wanted object; :class:`~.user.LLMFallbackUser`). Its replies carry
            no known meaning: no information-gain reward, nothing ruled out.
        user_model: The LLM user's model (only with ``user="llm"``): a policy
            spec (``"hf:smollm2-135m"``, ``"openai:URL#MODEL"``; greedy, 48
            new tokens), a :class:`~agentgym.Policy`, a ``"package.module:Class"``
            backend, or a ``generate(prompt) -> text`` function.
        user_timeout_s: Seconds the LLM user may take per reply. When it cannot
            answer (timeout, error, empty reply), the observation says so
            ("User: The user could not answer right now (...)"), the question
            counts as asked, and the ``user_no_reply`` metric counts it; never
            an exception.
        answer_noise: Probability that the rule-based user answers wrongly.
        question_reward: The ``question`` reward part (a callable on
            :class:`~.reward.QuestionOutcome`, a ``"module:Class"`` string, or
            None for information gain).
        question_budget: Questions allowed before the penalty (default: per difficulty).
        question_judge: Score each question with an LLM judge instead of
            information gain: an :class:`~agentgym.rewards.LLMJudge` or
            :class:`~agentgym.rewards.JudgeEnsemble`, a
            :class:`~.reward.JudgedQuestionReward`, or a judge backend spec
            (``"hf:smollm2-135m"``, ``"openai:URL#MODEL"``,
            ``"agentgym.rewards.scripted:OverlapJudge"``), or a dict of
            ``LLMJudge`` arguments (``{"policy": "hf:smollm2-135m", "verdict":
            "logprob"}``), judged with :data:`~.reward.QUESTION_RUBRIC`. The
            judge sees the wanted object.

    >>> env = AskToActEnv(split="val", difficulty="easy")
    >>> obs, info = env.reset(seed=0)
    >>> obs.startswith("Bring me the")
    True
    """

    family = "embodied"
    instructions = (
        "You are a home robot. Fetch the object the user asks for and put it where they say. "
        "Several objects may fit the request: you see only the room you are in and open "
        "receptacles; examine objects, and ask the user when you cannot tell which one they "
        "mean (yes/no about colour, material, size, room or place, or which one of named "
        "objects). Ask only useful questions. Placing the wrong one on the goal fails."
    )
    default_max_turns = 30
    scripted_policies = {
        "oracle": "agentgym.envs.embodied.oracle:oracle",
        "never_ask": "agentgym.envs.embodied.oracle:never_ask",
        "always_ask": "agentgym.envs.embodied.oracle:always_ask",
        "explorer": "agentgym.envs.embodied.oracle:explorer",
        "noisy_explorer": "agentgym.envs.embodied.oracle:noisy_explorer",
        "terse_explorer": "agentgym.envs.embodied.oracle:terse_explorer",
    }

    def __init__(
        self,
        *,
        user: User | str | None = None,
        user_model: Any = None,
        user_timeout_s: float = 30.0,
        answer_noise: float = 0.0,
        question_reward: QuestionReward | str | None = None,
        question_budget: int | None = None,
        question_judge: Any = None,
        **kwargs: Any,
    ) -> None:
        if question_judge is not None and question_reward is not None:
            raise ConfigError("give question_reward or question_judge, not both (question_judge sets the question reward).")
        self._max_turns_given = kwargs.get("max_turns") is not None
        super().__init__(**kwargs)
        self.user = load_user(user, noise=answer_noise, model=user_model, timeout_s=user_timeout_s)
        self.question_reward = (make_question_judge(question_judge) if question_judge is not None
                                else load_question_reward(question_reward))
        self.reports_unavailable = bool(getattr(self.question_reward, "wants_context", False))
        self.reward = Reward([
            Part("question", self._question_part, when="turn", doc="per ask: the question reward"),
            Part("success", float, when="outcome", omit_zero=True, doc="the wanted object on the goal"),
        ])
        self.question_budget_override = question_budget
        self._home_meta: Any = None

    def make_generator(self, seed: int) -> AskToActTasks:
        return AskToActTasks(seed)

    # ------------------------------------------------------------------
    # Episode
    # ------------------------------------------------------------------
    def on_reset(self, task: Task) -> str:
        if task.meta is not self._home_meta:  # a group resets the same task G times
            self.home = Home(task.meta)
            self.view = UserView(self.home)
            self._home_meta = task.meta
        h = self.home
        if not self._max_turns_given:
            self.max_turns = h.max_turns
        self.question_budget = (
            h.question_budget if self.question_budget_override is None else self.question_budget_override
        )
        self.room = h.start_room
        self.held: int | None = None
        self.loc: list[str | None] = [o.start for o in h.objects]
        self.contents = {r: list(ids) for r, ids in h.start_contents.items()}
        self.opened: set[str] = set()
        self.moved: dict[int, str] = {}
        self.seen: set[int] = set()
        self.examined: set[int] = set()
        self.told = h.told0
        self.constraints: list[tuple[frozenset[int], int]] = []
        if h.instruction:
            self.constraints.append((h.told0, _knowledge_level(frozenset(h.instruction))))
        self.questions = self.redundant = self.irrelevant = self.actions = 0
        self.user_no_reply = 0
        self.policy_memo: dict[str, Any] = {}  # scratch space of the scripted policies
        return f"{h.instruction_text}\nRooms: {', '.join(h.rooms)}.\n{self._describe()}"

    def candidates(self) -> list[int]:
        """Instances (ids) the agent cannot yet rule out from what it was told
        and what it has seen or examined."""
        out = []
        seen, examined = self.seen, self.examined
        for i in self.home.instances:
            for allowed, level in self.constraints:
                if i not in allowed and (level == 0 or (i in seen if level == 1 else i in examined)):
                    break
            else:
                out.append(i)
        return out

    def state_key(self) -> str:
        held = "-" if self.held is None else self.home.objects[self.held].name
        cand = ",".join(map(str, self.candidates()))
        told = ",".join(map(str, sorted(self.told)))
        moved = ",".join(f"{i}@{r}" for i, r in sorted(self.moved.items()))
        return f"{self.room}|{held}|{','.join(sorted(self.opened))}|c:{cand}|t:{told}|m:{moved}"

    def episode_metrics(self) -> dict[str, float]:
        h = self.home
        resolved = len(h.told0) > 1 and self.told == frozenset({h.target})
        return {
            "questions_asked": self.questions,
            "redundant_questions": self.redundant,
            "irrelevant_questions": self.irrelevant,
            "resolved_by_asking": float(resolved),
            "steps": self.actions,
            "candidates": len(h.told0),
            **self.unavailable_metrics(),
            **({"user_no_reply": float(self.user_no_reply)} if hasattr(self.user, "failures") else {}),
        }

    # ------------------------------------------------------------------
    # Tools
    # ------------------------------------------------------------------
    @tool
    def look(self) -> str:
        """Describe the room you are in, the rooms of the home and what you hold."""
        self.actions += 1
        return f"{self._describe()} Rooms: {', '.join(self.home.rooms)}."

    @tool
    def go(self, room: str) -> str:
        """Walk to a room of the home.

        Args:
            room: The room, as listed after "Rooms:" (e.g. "kitchen").
        """
        name = " ".join(room.lower().split()).removeprefix("the ")
        if name not in self.home.room_receptacles:
            rooms = self.home.rooms
            raise InvalidActionError(f"There is no room {room!r}.{did_you_mean(name, rooms)} Rooms: {', '.join(rooms)}.")
        self.actions += 1
        self.room = name
        return self._describe()

    @tool
    def open(self, receptacle: str) -> str:
        """Open a closed receptacle (fridge, cabinet, ...) in this room.

        Args:
            receptacle: The receptacle, as the observation prints it.
        """
        r = self._receptacle_here(receptacle)
        if r not in self.home.openable:
            raise InvalidActionError(f"The {r} cannot be opened or closed.")
        self.actions += 1
        if r in self.opened:
            return f"The {r} is already open. {r}: {self._contents(r)}."
        self.opened.add(r)
        return f"You open the {r}. {r}: {self._contents(r)}."

    # Named close_receptacle in Python: gymnasium's Env.close() must keep its meaning.
    @tool(name="close")
    def close_receptacle(self, receptacle: str) -> str:
        """Close an open receptacle in this room.

        Args:
            receptacle: The receptacle, as the observation prints it.
        """
        r = self._receptacle_here(receptacle)
        if r not in self.home.openable:
            raise InvalidActionError(f"The {r} cannot be opened or closed.")
        self.actions += 1
        if r not in self.opened:
            return f"The {r} is already closed."
        self.opened.discard(r)
        return f"You close the {r}."

    @tool
    def examine(self, object: str) -> str:
        """Look closely at an object you can see: its size and material.

        Args:
            object: The object, as the observation prints it (e.g. "red mug (1)").
        """
        i = self._visible_object(object)
        o = self.home.objects[i]
        self.actions += 1
        self.seen.add(i)
        self.examined.add(i)
        return f"{o.name}: {o.size}, {o.material}, {self._where(i)}."

    @tool
    def pick(self, object: str) -> str:
        """Pick up an object you can see (you can hold one at a time).

        Args:
            object: The object, as the observation prints it (e.g. "red mug (1)").
        """
        if self.held is not None:
            held = self.home.objects[self.held].name
            raise InvalidActionError(f"You are already holding the {held}; place it somewhere first.")
        i = self._visible_object(object)
        r = self.loc[i]
        assert r is not None
        self.contents[r].remove(i)
        self.loc[i] = None
        self.held = i
        self.moved.pop(i, None)
        self.actions += 1
        return f"You pick up the {self.home.objects[i].name}."

    @tool
    def place(self, object: str, receptacle: str) -> str:
        """Put the object you hold on (or in) a receptacle in this room.

        Args:
            object: The object you hold, as the observation prints it.
            receptacle: The receptacle, as the observation prints it.
        """
        h = self.home
        i = h.find(object)
        if i is None or i != self.held:
            holding = "nothing" if self.held is None else f"the {h.objects[self.held].name}"
            raise InvalidActionError(f"You are not holding {object!r}; you hold {holding}.")
        r = self._receptacle_here(receptacle)
        if r in h.openable and r not in self.opened:
            raise InvalidActionError(f"The {r} is closed; open it first.")
        self.contents[r].append(i)
        self.loc[i] = r
        self.held = None
        if r != h.objects[i].start:
            self.moved[i] = r
        self.actions += 1
        o = h.objects[i]
        text = f"You put the {o.name} {'in' if r in h.openable else 'on'} the {r}."
        if r == h.goal and o.type == h.target_type:
            ok = i == h.target
            self.reward.apply(self, ok, when="outcome")
            self.finish(success=ok)
            text += " User: Thank you, that is the one!" if ok else " User: That is not the one I wanted."
        return text

    @tool
    def ask(self, question: str) -> str:
        """Ask the user a question about the object they want.

        Args:
            question: A yes/no question ("Is it red?", "Is it in the kitchen?") or a
                which-one question naming the options ("Which one: red mug (1) or blue mug (2)?").
        """
        question = question.strip()
        if not question:
            raise InvalidActionError("The question is empty; ask something, e.g. 'Is it red?'.")
        self.actions += 1
        self.questions += 1
        failures = getattr(self.user, "failures", 0)
        answer = self.user.answer(question, self.view, self.np_random)
        self.user_no_reply += getattr(self.user, "failures", 0) - failures
        before = self.told
        after = before if answer.consistent is None else before & answer.consistent
        if answer.consistent is not None:
            self.constraints.append((answer.consistent, _knowledge_level(answer.kinds)))
        self.told = after
        outcome = QuestionOutcome(question, answer.text, answer.understood, before, after,
                                  self.questions, self.question_budget, *self._judge_context(before))
        if not answer.understood:
            self.irrelevant += 1
        elif answer.consistent is not None and outcome.redundant:
            self.redundant += 1
        self.reward.apply(self, outcome, when="turn")
        return f"User: {answer.text}"

    def _question_part(self, outcome: QuestionOutcome) -> Any:
        value = self.question_reward(outcome)
        return value if isinstance(value, Unavailable) else float(value)

    def _judge_context(self, before: frozenset[int]) -> tuple[str, str]:
        """(privileged facts, the request) for a judged question reward; empty otherwise."""
        if not getattr(self.question_reward, "wants_context", False):
            return "", ""
        h = self.home
        t = h.objects[h.target]
        where = f"{t.start} in the {h.receptacle_room.get(t.start, '?')}"
        cands = ", ".join(f"{h.objects[i].name} ({h.objects[i].size}, {h.objects[i].material}, "
                          f"on/in the {h.objects[i].start})" for i in sorted(before))
        facts = (f"The user wants the {t.name}: {t.colour}, {t.size}, {t.material}, initially on/in the {where}. "
                 f"Candidates still consistent with what the agent was told: {cands}.")
        return facts, h.instruction_text

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _contents(self, r: str) -> str:
        if r in self.home.openable and r not in self.opened:
            return "closed"
        ids = self.contents[r]
        if not ids:
            return "empty"
        self.seen.update(ids)
        objects = self.home.objects
        return ", ".join([objects[i].name for i in ids])

    def _describe(self) -> str:
        parts = [f"You are in the {self.room}."]
        parts += [f"{r}: {self._contents(r)}." for r in self.home.room_receptacles[self.room]]
        if self.held is not None:
            parts.append(f"You hold the {self.home.objects[self.held].name}.")
        return " ".join(parts)

    def _receptacle_here(self, receptacle: str) -> str:
        here = self.home.room_receptacles[self.room]
        name = " ".join(receptacle.lower().split()).removeprefix("the ")
        if name not in here:
            raise InvalidActionError(
                f"There is no {receptacle!r} here.{did_you_mean(name, here)} "
                f"Receptacles in the {self.room}: {', '.join(here)}."
            )
        return name

    def is_visible(self, i: int) -> bool:
        """Whether object ``i`` is in view (held, or in this room and not shut away)."""
        r = self.loc[i]
        if r is None:
            return True
        h = self.home
        return h.receptacle_room[r] == self.room and (r not in h.openable or r in self.opened)

    def _visible_object(self, name: str) -> int:
        i = self.home.find(name)
        if i is not None and self.is_visible(i):
            return i
        if i is not None and i in self.seen and self.home.receptacle_room.get(self.loc[i] or "") == self.room:
            raise InvalidActionError(f"The {self.home.objects[i].name} is in the {self.loc[i]}, which is closed; open it first.")
        visible = [o.name for o in self.home.objects if self.is_visible(o.id)]
        listing = f"You see: {', '.join(visible)}." if visible else "You see no objects here."
        raise InvalidActionError(f"There is no {name!r} here. {listing}")

    def _where(self, i: int) -> str:
        r = self.loc[i]
        if r is None:
            return "in your hand"
        return f"{'in' if r in self.home.openable else 'on'} the {r}"
