"""The ToolCalls environment (``agentgym/ToolCalls-v0``): stateful APIs behind JSON-schema tools.

Task: a user asks something of an assistant that works on one of four
back-ends — ``bank`` (accounts, cards, payees, transfers, disputes), ``shop``
(orders, shipments, returns, exchanges), ``calendar`` (events, contacts) and
``files`` (a file tree, sharing, mail). Each is a deterministic, resettable,
pure-Python state with 13-15 tools whose schemas use enums, nested objects,
arrays, optional parameters, units and formats (dates, times, e-mails, paths,
money as ``{"amount", "currency"}``). Eight categories (``category=``, see
:mod:`.tasks`): single, distractor, parallel, chained, irrelevance,
missing_info, multi_turn, policy.
Tools: the domain's tools (plus a second domain's in distractor tasks;
``info["tools"]`` lists the episode's), ``ask_user(question)`` (the simulated
user answers) and ``respond(message)`` (the reply to the user; it ends the
user's turn, and the user then follows up or is done). Several calls may go in
one action (at most ``max_calls_per_turn``); ``ask_user``/``respond`` must
come last. An action is atomic: if any call in it fails (bad arguments, an
unknown or hidden tool, a refused operation), nothing of it happens.
Reward (``env.reward``, an :class:`agentgym.rewards.Reward`; default
:data:`.reward.REWARD`; see :mod:`.reward`): outcome parts scored at the final
reply — ``state``, ``calls``, ``message`` (raw 0/1, weight 1/3 each by default,
``reward_weights=``), optional ``toolrl`` (weight ``partial_reward=``, the other
three scaled by ``1 - partial_reward``), and ``forbidden``, a veto computed from
the others (minus their sum when a policy-breaking call ran, so the episode
scores 0; not reported otherwise) — plus ``invalid_action`` (base class) per
invalid action. With ``answer_judge=``, an LLM judge also reads each reply that
must carry facts against the gold reply: part ``answer_judge`` (gated on
``message``; :class:`.reward.ReplyJudge`), metrics ``judge_pass``,
``judge_verifier`` and ``reward_unavailable``.
After grading, ``env.verdict`` holds the three checks and ``env.why`` the first reason
for a failure ("extra call: add_order_note", "forbidden: ...").
Termination: the reply to the last request. Truncation: ``max_turns`` (20; a
truncated episode is not graded).
Metrics: ``success``, ``state_match``, ``calls_match``, ``message_match``,
``forbidden_actions``, ``tool_calls``, ``parallel_actions``,
``questions_asked``, ``unneeded_questions``, ``user_turns``.
State key: the user turn, the facts the user has told, the net change to the
back-ends, and the distinct read calls made — what the agent knows and did.

Change log: v0 — first version.

>>> env = ToolCallsEnv(split="val", category="single")
>>> obs, info = env.reset(seed=0)
>>> info["task_id"], any(t["function"]["name"] == "respond" for t in info["tools"])
('tools/val/single/...', True)
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agentgym import AgentEnv, Task, tool
from agentgym.envs.tools.backends import ALL_APIS, BACKENDS, Api, Backend
from agentgym.envs.tools.reward import (
    Executed,
    GoldCalls,
    Graded,
    ReplyJudge,
    build_reward,
    check_calls,
    check_message,
    check_weights,
    gold_calls,
    project,
    state_digest,
    toolrl_score,
)
from agentgym.envs.tools.store import canonical
from agentgym.envs.tools.tasks import CATEGORIES, ToolCallsTasks
from agentgym.envs.tools.user import UserView, load_user
from agentgym.errors import ActionError, ArgumentError, ConfigError, UnknownToolError, did_you_mean
from agentgym.parsing import FORMAT_HINT, parse_tool_calls
from agentgym.rewards import RewardReporting
from agentgym.tools import tool_specs

__all__ = ["ToolCallsEnv"]

_RESULT = json.JSONEncoder(ensure_ascii=False)  # built once (json.dumps with options builds one per call)
MAX_QUESTION_CHARS = 1000
MAX_MESSAGE_CHARS = 4000
DONE = "User: Thank you, that's all I needed."
_UNCHANGED = canonical([])  # project() of a back-end nothing changed


@dataclass
class _StepLog:
    """What the current action did, committed only if every call in it succeeds."""

    calls: list[Executed] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    blind: bool = False
    wrote: bool = False
    count: int = 0
    pending: tuple[str, str] | None = None  # ("ask" | "respond", text): applied after the last call


class ToolCallsEnv(RewardReporting, AgentEnv):
    """See the module docstring. Keyword arguments (the rest go to :class:`~agentgym.AgentEnv`):

    Args:
        category: Keep only tasks of this category (None: all eight, interleaved).
        user: The simulated user: ``"scripted"`` (default), a policy spec string
            (``"openai:URL#MODEL"``, ``"hf:PATH"``), a Policy object, or any object
            with ``reply``/``request`` (see :mod:`.user`).
        reward_weights: Weights of ``state``, ``calls``, ``message`` (sum 1; applied to
            ``env.reward`` with ``Reward.with_weights``, after the ``1 - partial_reward`` scale).
        partial_reward: Weight ``w`` of the ToolRL-style ``toolrl`` part (0: off).
        max_calls_per_turn: Most tool calls in one action.
        answer_judge: Also judge each reply that must carry facts against the gold
            reply with an LLM judge (a spec such as ``"hf:smollm2-135m"``, an
            ``LLMJudge`` or a ``JudgeEnsemble``): reward part ``answer_judge``,
            gated on ``message``; metrics ``judge_pass``, ``judge_verifier``,
            ``reward_unavailable`` (see :class:`.reward.ReplyJudge`).
        answer_judge_weight: That part's weight (0: a monitor that changes no reward).
    """

    family = "tools"
    instructions = "You are an assistant that acts through tools."
    default_max_turns = 20
    scripted_policies = {
        "oracle": "agentgym.envs.tools.oracle:oracle",
        "no_ask": "agentgym.envs.tools.oracle:no_ask",
        "respond_only": "agentgym.envs.tools.oracle:respond_only",
        "sequential": "agentgym.envs.tools.oracle:sequential",
    }

    def __init__(
        self,
        *,
        category: str | None = None,
        user: Any = None,
        reward_weights: Mapping[str, float] | None = None,
        partial_reward: float = 0.0,
        max_calls_per_turn: int = 16,
        allow_multiple_calls: bool = True,
        answer_judge: Any = None,
        answer_judge_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        if category is not None and category not in CATEGORIES:
            raise ConfigError(f"unknown category {category!r}; choose one of {list(CATEGORIES)} or None (all).")
        if not 0.0 <= partial_reward < 1.0:
            raise ConfigError(f"partial_reward must be in [0, 1), got {partial_reward}.")
        if max_calls_per_turn < 1:
            raise ConfigError(f"max_calls_per_turn must be >= 1, got {max_calls_per_turn}.")
        self.category = category
        self.weights = check_weights(reward_weights)
        self.partial_reward = float(partial_reward)
        self.reply_judge = None if answer_judge is None else ReplyJudge(answer_judge, weight=answer_judge_weight)
        self.reports_unavailable = self.reply_judge is not None and self.reply_judge.weight > 0
        self.reward = build_reward(self.weights, self.partial_reward, self.reply_judge)
        self.max_calls_per_turn = int(max_calls_per_turn)
        super().__init__(allow_multiple_calls=allow_multiple_calls, **kwargs)
        self.user = load_user(user)
        self._gold_meta: Any = None
        self._gold: list[GoldCalls] = []
        self._all_schemas = {**API_SCHEMAS, **{n: s.schema for n, s in self._conversation_specs().items()}}

    def make_generator(self, seed: int) -> ToolCallsTasks:
        return ToolCallsTasks(seed, self.category)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """Every tool of every domain (an episode shows a subset: ``info["tools"]``)."""
        return list(self._all_schemas.values())

    # ------------------------------------------------------------------
    # Episode
    # ------------------------------------------------------------------
    def on_reset(self, task: Task) -> str:
        m = task.meta
        self.backends: dict[str, Backend] = {
            d: BACKENDS[d](BACKENDS[d].build_world(int(m["world_seed"]))) for d in m["domains"]}
        self.main: Backend = self.backends[m["domain"]]
        self.visible: tuple[str, ...] = tuple(m["tools"])
        self.turns: list[dict[str, Any]] = m["turns"]
        if m is not self._gold_meta:  # a group resets the same task G times: build the checks once
            self._gold = [gold_calls(t, ALL_APIS, strict=m["strict"]) for t in self.turns]
            self._gold_meta = m
        self.user_turn = 0
        self.turn_actions = 0  # valid actions in this user turn (the scripted policies' position)
        self.revealed: frozenset[str] = frozenset()
        self.dialogue: list[tuple[str, str]] = []
        self.executed: list[Executed] = []
        self.replies: dict[int, str] = {}
        self.blind: set[int] = set()
        self.forbidden: list[str] = []
        self.reads: set[str] = set()
        self.questions = self.unneeded_questions = self.parallel_actions = 0
        self.step_scores: list[float] = []
        self._log = _StepLog()
        self._state_text = ""
        self._reads_text = ""
        self.verdict: dict[str, float] = {"state_match": 0.0, "calls_match": 0.0, "message_match": 0.0}
        self.why = ""
        if self.reply_judge is not None:
            self.reply_judge.reset()
        return self.user.request(self._view())

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        info["tools"] = [self._all_schemas[n] for n in self.visible]
        return obs, info

    def system_prompt(self) -> str:
        b = self.main
        rules = "\n".join(f"- {rule}" for rule in b.policy)
        return (
            f"You are {b.title}. {b.context()}\nPolicy:\n{rules}\n\n"
            "Do what the user asks by calling the tools. When you need something only the user knows, ask with "
            "ask_user; never guess it. When the request is done, or cannot be done, reply with respond: it ends "
            "your turn, and the user may then ask something else. If no tool fits, answer with respond directly. "
            "Make independent calls together in one turn (several tool calls in one message); ask_user and "
            f"respond come last.\n\n{FORMAT_HINT}"
        )

    def state_key(self) -> str:
        told = ",".join(sorted(self.revealed))
        return f"{self.user_turn}|{told}|{self._state_text}|{self._reads_text}"

    def episode_metrics(self) -> dict[str, float]:
        return {
            **self.verdict,
            "forbidden_actions": float(len(self.forbidden)),
            "tool_calls": float(len(self.executed)),
            "parallel_actions": float(self.parallel_actions),
            "questions_asked": float(self.questions),
            "unneeded_questions": float(self.unneeded_questions),
            "user_turns": float(len(self.replies)),
            **(self.reply_judge.metrics(self.verdict["message_match"]) if self.reply_judge is not None else {}),
            **self.unavailable_metrics(),
        }

    def backend_digest(self) -> str:
        """A hash of every back-end's whole state (tests: invalid actions leave it unchanged)."""
        return canonical({d: b.store.digest() for d, b in sorted(self.backends.items())})

    # ------------------------------------------------------------------
    # Conversation tools (the domain tools are attached below the class)
    # ------------------------------------------------------------------
    @tool
    def ask_user(self, question: str) -> str:
        """Ask the user for information only they have. Must be the last call of its turn.

        Args:
            question: The question, in plain language.
        """
        self._conversation("ask", question, MAX_QUESTION_CHARS)
        return ""

    @tool
    def respond(self, message: str) -> str:
        """Reply to the user: the answer, or what was done (or why it cannot be done). Ends your turn.

        Args:
            message: The reply, in plain language, with the facts the user asked for.
        """
        self._conversation("respond", message, MAX_MESSAGE_CHARS)
        return ""

    @classmethod
    def _conversation_specs(cls) -> dict[str, Any]:
        return {n: s for n, s in tool_specs(cls).items() if n in ("ask_user", "respond")}

    def _conversation(self, kind: str, text: str, limit: int) -> None:
        self._count_call(kind)
        text = text.strip()
        if not text:
            raise ArgumentError(f"The {'question' if kind == 'ask' else 'message'} is empty.")
        if len(text) > limit:
            raise ArgumentError(f"The {'question' if kind == 'ask' else 'message'} is {len(text)} characters; "
                                f"the limit is {limit}.")
        self._log.pending = (kind, text)

    def _count_call(self, name: str) -> None:
        log = self._log
        if log.pending is not None:
            raise ActionError(f"{name} came after {'ask_user' if log.pending[0] == 'ask' else 'respond'} in the same "
                              "turn; ask_user and respond must be the last call of a turn.", kind="call_order")
        log.count += 1
        if log.count > self.max_calls_per_turn:
            raise ActionError(f"Too many tool calls in one turn (the limit is {self.max_calls_per_turn}).",
                              kind="too_many_calls")

    # ------------------------------------------------------------------
    # Running a domain tool
    # ------------------------------------------------------------------
    def _run(self, api: Api, kwargs: Mapping[str, Any]) -> str:
        if api.name not in self.visible:
            raise UnknownToolError(f"Unknown tool {api.name!r}.{did_you_mean(api.name, self.visible)} "
                                   f"Available tools: {', '.join(self.visible)}.")
        self._count_call(api.name)
        args = api.validate(kwargs)
        backend = self.backends[api.domain]
        bad = backend.violation(api, args)
        result = backend.call(api, args)  # raises InvalidActionError when the back-end refuses
        log = self._log
        log.calls.append(Executed(api.name, args, api.mutates, self.user_turn, self.turn))
        if bad is not None:
            log.forbidden.append(bad)
        if api.mutates:
            if set(self.turns[self.user_turn]["facts"]) - self.revealed:
                log.blind = True
        else:
            log.reads.append(api.name + repr(args))  # args are in schema order: repr is canonical
        return f"{api.name}: {_RESULT.encode(result)}"

    def _dispatch(self, action: Any) -> tuple[str, list[str]]:
        # One action is atomic: run every call, and undo them all if one fails.
        marks = {d: b.store.mark() for d, b in self.backends.items()}
        self._log = log = _StepLog()
        try:
            obs, names = super()._dispatch(action)
            log.wrote = any(len(b.store.journal) > marks[d] for d, b in self.backends.items())
        except ActionError as e:
            for d, b in self.backends.items():
                b.store.rollback(marks[d])
            if self.partial_reward:
                self.step_scores.append(0.0)
            if isinstance(e, UnknownToolError):
                e = self._unknown(action, e)  # the core lists every domain's tools; show this episode's
            if log.calls or log.pending:  # earlier calls of this action ran: say they were undone
                raise type(e)(f"{e} (None of this turn's calls took effect.)", kind=e.kind) from None
            raise e from None
        self._commit(log)
        if log.pending is not None:
            kind, text = log.pending
            reply = self._ask(text) if kind == "ask" else self._respond(text)
            obs = f"{obs.rstrip()}\n{reply}" if obs.strip() else reply
        return obs, names

    def _unknown(self, action: Any, error: UnknownToolError) -> UnknownToolError:
        try:
            calls = parse_tool_calls(action, self.visible)
        except ActionError:
            return error
        name = next((c.name for c in calls if c.name not in self.visible), None)
        if name is None:
            return error
        return UnknownToolError(f"Unknown tool {name!r}.{did_you_mean(name, self.visible)} "
                                f"Available tools: {', '.join(self.visible)}.")

    def _commit(self, log: _StepLog) -> None:
        self.turn_actions += 1
        if log.calls:
            if self.partial_reward:
                gold = [c for s in self.turns[self.user_turn]["steps"] for c in s.get("calls", ())]
                self.step_scores.append(toolrl_score([(c.name, c.args) for c in log.calls], gold, ALL_APIS))
            self.executed.extend(log.calls)
            self.parallel_actions += len(log.calls) > 1
        self.forbidden.extend(log.forbidden)
        if log.blind:
            self.blind.add(self.user_turn)
        if log.wrote:
            self._state_text = state_digest(self.backends)
        if log.reads and not self.reads.issuperset(log.reads):
            self.reads.update(log.reads)
            self._reads_text = _digest(";".join(sorted(self.reads)))

    # ------------------------------------------------------------------
    # The user
    # ------------------------------------------------------------------
    def _view(self) -> UserView:
        return UserView(self.turns, self.user_turn, self.revealed, tuple(self.dialogue))

    def _ask(self, question: str) -> str:
        reply = self.user.reply(question, self._view())
        self.questions += 1
        if not self.turns[self.user_turn]["facts"]:
            self.unneeded_questions += 1
        self.revealed |= reply.revealed
        self.dialogue += [("agent", question), ("user", reply.text)]
        return f"User: {reply.text}"

    def _respond(self, message: str) -> str:
        if set(self.turns[self.user_turn]["facts"]) - self.revealed:
            self.blind.add(self.user_turn)
        self.replies[self.user_turn] = message
        self.dialogue.append(("agent", message))
        if self.user_turn + 1 < len(self.turns):
            self.user_turn += 1
            self.turn_actions = 0
            self.revealed = frozenset()
            text = self.user.request(self._view())
            self.dialogue.append(("user", text))
            return f"User: {text}"
        self._grade()
        return DONE

    def _grade(self) -> None:
        m = self.task.meta if self.task is not None else {}
        state_ok = self._state_text == m["gold_digest"] or all(
            (project(b) if b.store.journal else _UNCHANGED) == m["gold_state"][d] for d, b in self.backends.items())
        calls_ok, why = True, ""
        message_ok = True
        for t, turn in enumerate(self.turns):
            if calls_ok:
                done = [c for c in self.executed if c.user_turn == t]
                calls_ok, why = check_calls(self._gold[t], done, ALL_APIS, strict=m["strict"], parallel=m["parallel"])
                if calls_ok and t in self.blind:
                    calls_ok, why = False, "acted before asking the user for the missing facts"
            ok, missing = check_message(self.replies.get(t, ""), turn["required"])
            if not ok and message_ok:
                message_ok = False
                why = why or f"reply {t} lacks {missing}"
        self.verdict = {"state_match": float(state_ok), "calls_match": float(calls_ok),
                        "message_match": float(message_ok)}
        self.why = why if state_ok or why else "final state differs from the gold plan's"
        partial = 0.0
        if self.partial_reward:
            if self.step_scores:
                partial = sum(self.step_scores) / len(self.step_scores)
            else:
                partial = float(not any(s.get("calls") for turn in self.turns for s in turn["steps"]))
        if self.forbidden:
            self.why = "forbidden: " + "; ".join(self.forbidden)
        replies = () if self.reply_judge is None else tuple(
            (turn["request"], self.replies.get(t, ""), turn["steps"][-1]["respond"])
            for t, turn in enumerate(self.turns) if turn["required"])
        self.reward.apply(self, Graded(state_ok, calls_ok, message_ok, partial, tuple(self.forbidden), replies))
        self.finish(success=state_ok and calls_ok and message_ok and not self.forbidden)


def _digest(text: str) -> str:
    """A short stable hash (anchors stay short; equal texts, equal anchors)."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


# --------------------------------------------------------------------------
# The domain tools, as AgentEnv tools
# --------------------------------------------------------------------------
_PY_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list,
                             "object": dict}


def _shown(schema: Any) -> Any:
    """The schema as the model sees it: without our ``x-`` keys and ``minLength``."""
    if isinstance(schema, dict):
        return {k: _shown(v) for k, v in schema.items() if not k.startswith("x-") and k != "minLength"}
    if isinstance(schema, list):
        return [_shown(v) for v in schema]
    return schema


def _annotation(schema: Mapping[str, Any]) -> Any:
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]  # type: ignore[valid-type]
    return _PY_TYPES[schema["type"]]


def _as_tool(api: Api) -> Any:
    """An AgentEnv tool method for ``api``: the core binds and type-checks the call
    against a signature built from the schema, then :meth:`ToolCallsEnv._run`
    validates it in full (formats, ranges, nested objects)."""

    def run(self: ToolCallsEnv, **kwargs: Any) -> str:
        return self._run(api, kwargs)

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, schema in api.params.items():
        ann = _annotation(schema)
        if name in api.optional:
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                            annotation=ann | None))
        else:
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ann))
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params[1:]}
    run.__name__ = run.__qualname__ = f"api_{api.name}"
    run.__doc__ = api.description
    return tool(name=api.name)(run)


API_SCHEMAS: dict[str, dict[str, Any]] = {name: _shown(api.schema) for name, api in ALL_APIS.items()}
for _name, _api in ALL_APIS.items():
    setattr(ToolCallsEnv, f"api_{_name}", _as_tool(_api))
