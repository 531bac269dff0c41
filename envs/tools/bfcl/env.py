"""The BFCL environment (``agentgym/BFCL-v0``): BFCL's multi-turn categories on BFCL's own back-ends.

Task: a user asks, over several turns, for work on one to three of BFCL's
stateful APIs — a file system (``GorillaFileSystem``), Twitter-like posting,
messaging, support tickets, stock trading, travel booking, a car, and a
stateless math API. Categories (``category=``): ``multi_turn_base``,
``multi_turn_miss_func`` (a function is held out until a later turn; the turn
that needs it cannot be done, and a user message then announces it with its
schema), ``multi_turn_miss_param`` (a turn lacks a parameter the next one
gives) and ``multi_turn_long_context`` (the same tasks on back-ends loaded
with BFCL's long-context filler: large directories, long listings).
Tools: BFCL's function docs of the task's classes as JSON-schema tools (held-out
functions hidden until their turn), plus ``respond(message)``, which answers the
user and ends the user's turn — the next user turn is its observation. This is
BFCL's "the model answers in text: next turn" (agentgym reads plain text as a
missing tool call, so the end of a turn is an explicit action). Several calls
may go in one action (at most ``max_calls_per_turn``); ``respond`` comes last.
Calls run on the back-ends in order and their results are BFCL's strings
(``Error during execution: ...`` included: the back-end's own errors are
results, as under BFCL). An action with a malformed, unknown or badly typed
call runs nothing (checked before any call runs): an ``Error:`` observation,
``action_valid=False``, the back-ends untouched. Paths (``cd('..')``, which the
gold trajectories use) are BFCL's own business: its file system is an in-memory
tree that answers a path it refuses with an error result; nothing touches the disk.
Observations run up to 65,536 characters (``max_observation_chars``: long-context
listings are long).
Reward (``env.reward``, an :class:`agentgym.rewards.Reward`; default
:data:`.reward.REWARD`; see :mod:`.reward`): outcome parts scored at the end of
the last user turn, ``state`` and ``response`` (raw 0/1, weight 0.5 each by
default, ``reward_weights=``; always reported), and ``invalid_action`` (base class).
``success`` is BFCL's verdict: every turn with a non-empty ground truth had a
call, left the back-ends in the gold replay's state, and produced the gold
results. After grading, ``env.verdicts`` holds each turn's check and ``env.why``
the first failure. Termination: the answer to the last user turn, or more than
``max_steps_per_turn`` (20, BFCL's limit) calling actions in one user turn
(BFCL's forced quit: a failure). Truncation: ``max_turns`` (60; not graded).
Metrics: ``success``, ``state_match``, ``response_match``, ``turns_checked``,
``turns_passed``, ``tool_calls``, ``call_errors`` (results that are errors),
``user_turns``, ``forced_quit``.
State key: the user turn, a canonical hash of the back-ends' whole state, and
a hash of the set of distinct results seen (what the agent knows).

Change log: v0 — first version (bfcl-eval 2026.3.23).

>>> env = BFCLEnv(split="val", category="multi_turn_base")  # doctest: +SKIP
>>> obs, info = env.reset(seed=0)  # doctest: +SKIP
>>> info["task_id"].startswith("bfcl/val/multi_turn_base_")  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from agentgym import AgentEnv, Task, tool
from agentgym.envs.tools.bfcl.backend import Session, signature_of
from agentgym.envs.tools.bfcl.data import (
    ADDED_FUNCTIONS_PROMPT,
    CATEGORIES,
    backend_class,
    func_docs,
    require,
)
from agentgym.envs.tools.bfcl.reward import (
    REWARD,
    Grader,
    TurnVerdict,
    check_weights,
    response_ok,
    state_ok,
)
from agentgym.envs.tools.bfcl.schema import bind, tool_schema
from agentgym.envs.tools.bfcl.tasks import BFCLTasks, user_text
from agentgym.errors import ActionError, ArgumentError, ConfigError, UnknownToolError, did_you_mean
from agentgym.parsing import FORMAT_HINT, parse_tool_calls
from agentgym.tools import ToolCall

__all__ = ["ALL_CLASSES", "BFCLEnv"]

ALL_CLASSES = ("GorillaFileSystem", "MathAPI", "MessageAPI", "TwitterAPI", "TicketAPI", "TradingBot", "TravelAPI",
               "VehicleControlAPI")
MAX_MESSAGE_CHARS = 4000
DONE = "User: (the conversation is over)"


class BFCLEnv(AgentEnv):
    """See the module docstring. Keyword arguments (the rest go to :class:`~agentgym.AgentEnv`):

    Args:
        category: One of ``multi_turn_base`` (default), ``multi_turn_miss_func``,
            ``multi_turn_miss_param``, ``multi_turn_long_context``.
        reward_weights: Weights of ``state`` and ``response`` (both, summing to 1; applied
            to ``env.reward`` with ``Reward.with_weights``).
        max_calls_per_turn: Most tool calls in one action.
        max_steps_per_turn: Calling actions allowed in one user turn before BFCL's
            forced quit (None: no limit).
    """

    family = "bfcl"
    instructions = "You are an assistant that acts through tools."
    default_max_turns = 60
    scripted_policies = {
        "oracle": "agentgym.envs.tools.bfcl.oracle:oracle",
        "respond_only": "agentgym.envs.tools.bfcl.oracle:respond_only",
    }

    def __init__(
        self,
        *,
        category: str = "multi_turn_base",
        reward_weights: Mapping[str, float] | None = None,
        max_calls_per_turn: int = 32,
        max_steps_per_turn: int | None = 20,
        allow_multiple_calls: bool = True,
        max_observation_chars: int = 65_536,
        **kwargs: Any,
    ) -> None:
        if category not in CATEGORIES:
            raise ConfigError(f"unknown BFCL category {category!r}; choose one of {list(CATEGORIES)}.")
        if max_calls_per_turn < 1:
            raise ConfigError(f"max_calls_per_turn must be >= 1, got {max_calls_per_turn}.")
        if max_steps_per_turn is not None and max_steps_per_turn < 1:
            raise ConfigError(f"max_steps_per_turn must be >= 1 or None, got {max_steps_per_turn}.")
        require()  # a clear error, with the install command, when bfcl-eval is missing
        self.category = category
        self.long_context = category == "multi_turn_long_context"
        self.weights = check_weights(reward_weights)
        self.reward = REWARD.with_weights(self.weights)
        self.max_calls_per_turn = int(max_calls_per_turn)
        self.max_steps_per_turn = max_steps_per_turn
        super().__init__(allow_multiple_calls=allow_multiple_calls, max_observation_chars=max_observation_chars,
                         **kwargs)
        self._docs = {d["name"]: (c, d) for c in ALL_CLASSES for d in func_docs(c)}
        for c in ALL_CLASSES:
            backend_class(c)  # import every back-end now (a missing dependency fails here, not mid-episode)
        self._schemas = {n: tool_schema(d) for n, (_, d) in self._docs.items()}
        self._schemas["respond"] = self._tools["respond"].schema

    def make_generator(self, seed: int) -> BFCLTasks:
        return BFCLTasks(seed, self.category)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """Every function of every BFCL class, plus ``respond`` (an episode shows its own: ``info["tools"]``)."""
        return list(self._schemas.values())

    # ------------------------------------------------------------------
    # Episode
    # ------------------------------------------------------------------
    def on_reset(self, task: Task) -> str:
        entry = task.meta["entry"]
        self.entry = entry
        self.backends = Session(entry["involved_classes"], entry["initial_config"], long_context=self.long_context)
        self.grader = Grader(entry, long_context=self.long_context)
        self.held_out = {int(t): list(names) for t, names in entry["missed_function"].items()}
        hidden = {n for names in self.held_out.values() for n in names}
        self.visible: list[str] = [d["name"] for c in entry["involved_classes"] for d in func_docs(c)
                                   if d["name"] not in hidden]
        self.user_turn = 0
        self.turn_steps = 0  # actions with calls in this user turn (BFCL's steps)
        self.turn_actions = 0  # valid actions in this user turn (the oracle's position)
        self.results: list[str] = []  # every call's result, all turns (BFCL's response check)
        self.trajectory: list[list[list[tuple[str, dict[str, Any]]]]] = [[]]  # per turn, per step: the calls run
        self.tool_calls = self.call_errors = 0
        self.forced_quit = False
        self.verdicts: list[TurnVerdict] = []
        self.why = ""
        self._state_text = self.backends.digest()
        self._seen: set[str] = set()
        self._seen_text = ""
        return self._user_message(0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        info["tools"] = [self._schemas[n] for n in [*self.visible, "respond"]]
        return obs, info

    def system_prompt(self) -> str:
        return (
            "You are an assistant that works for the user through the tools below. Do what each request asks by "
            "calling the tools (several independent calls may go in one message). When the request is done, or "
            "cannot be done with the tools and information you have, answer the user with respond: it ends your "
            "turn, and the user may then ask something else. If a request lacks something you need, or no tool "
            "fits, say so with respond instead of guessing.\n\n" + FORMAT_HINT
        )

    def state_key(self) -> str:
        return f"{self.user_turn}|{self._state_text}|{self._seen_text}"

    def episode_metrics(self) -> dict[str, float]:
        checked = [v for v in self.verdicts if v.checked]
        return {
            "state_match": float(bool(self.verdicts) and all(v.state_ok for v in checked)),
            "response_match": float(bool(self.verdicts) and all(v.called and v.response_ok for v in checked)),
            "turns_checked": float(len(checked)),
            "turns_passed": float(sum(v.passed for v in checked)),
            "tool_calls": float(self.tool_calls),
            "call_errors": float(self.call_errors),
            "user_turns": float(len(self.verdicts)),
            "forced_quit": float(self.forced_quit),
        }

    def backend_digest(self) -> str:
        """A hash of the back-ends' whole state (tests: invalid actions leave it unchanged)."""
        return self.backends.digest()

    def _user_message(self, turn: int) -> str:
        if turn in self.held_out:  # BFCL's miss_func turn: the held-out functions arrive
            names = self.held_out[turn]
            self.visible += [n for n in names if n not in self.visible]
            schemas = json.dumps([self._schemas[n] for n in names], ensure_ascii=False)
            return f"User: {ADDED_FUNCTIONS_PROMPT}\nNew tools: {schemas}"
        return f"User: {user_text(self.entry['question'][turn])}"

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    @tool
    def respond(self, message: str) -> str:
        """Answer the user: what was done, what was found, or why it cannot be done. Ends your turn.

        Args:
            message: The answer, in plain language.
        """
        return message  # handled in _dispatch (the end of a user turn)

    def _dispatch(self, action: Any) -> tuple[str, list[str]]:
        # Parse and validate every call first: an action with any bad call runs nothing.
        if not isinstance(action, str):
            raise ActionError(f"The action must be text, got {type(action).__name__}.", kind="parse_error")
        if len(action) > self.max_action_chars:
            raise ActionError(f"The action is {len(action)} characters long; the limit is {self.max_action_chars}.",
                              kind="too_long")
        calls = parse_tool_calls(action, [*self.visible, "respond"])
        if len(calls) > self.max_calls_per_turn:
            raise ActionError(f"Too many tool calls in one turn ({len(calls)}; the limit is "
                              f"{self.max_calls_per_turn}).", kind="too_many_calls")
        bound: list[tuple[str, dict[str, Any]]] = []
        reply: str | None = None
        for i, call in enumerate(calls):
            if call.name == "respond":
                if i != len(calls) - 1:
                    raise ActionError("respond must be the last call of a turn (it ends your turn).",
                                      kind="call_order")
                reply = self._reply(call)
            elif call.name in self.visible:
                owner, doc = self._docs[call.name]
                bound.append((call.name, bind(doc, signature_of(owner, call.name), call)))
            else:
                raise UnknownToolError(f"Unknown tool {call.name!r}.{did_you_mean(call.name, self.visible)} "
                                       f"Available tools: {', '.join([*self.visible, 'respond'])}.")
        lines = [f"{name}: {self._run(name, kwargs)}" for name, kwargs in bound]
        self.turn_actions += 1
        if bound:
            self._after_calls(bound)
        if reply is not None and not self._terminated:
            lines.append(self._end_turn())
        return "\n".join(lines), [c.name for c in calls]

    def _reply(self, call: ToolCall) -> str:
        message = self._tools["respond"].bind(call)["message"].strip()
        if not message:
            raise ArgumentError("The message is empty.")
        if len(message) > MAX_MESSAGE_CHARS:
            raise ArgumentError(f"The message is {len(message)} characters; the limit is {MAX_MESSAGE_CHARS}.")
        return message

    def _run(self, name: str, kwargs: dict[str, Any]) -> str:
        result = self.backends.call(name, kwargs)
        self.results.append(result)
        self.tool_calls += 1
        self.call_errors += result.startswith("Error during execution") or result.startswith('{"error"')
        return result

    def _after_calls(self, bound: list[tuple[str, dict[str, Any]]]) -> None:
        self.trajectory[self.user_turn].append(bound)
        self.turn_steps += 1
        self._state_text = self.backends.digest()
        fresh = set(self.results[-len(bound):]) - self._seen
        if fresh:
            self._seen |= fresh
            self._seen_text = _digest("\x00".join(sorted(self._seen)))
        if self.max_steps_per_turn is not None and self.turn_steps > self.max_steps_per_turn:
            self.forced_quit = True
            self.why = f"turn {self.user_turn}: forced to quit after {self.max_steps_per_turn} steps"
            self.finish(success=False)

    def _end_turn(self) -> str:
        verdict = self.grader.end_turn(self.user_turn, self.backends, self.turn_steps, self.results)
        self.verdicts.append(verdict)
        if not self.why and not verdict.passed:
            self.why = verdict.why
        if self.user_turn + 1 < len(self.entry["question"]):
            self.user_turn += 1
            self.turn_steps = self.turn_actions = 0
            self.trajectory.append([])
            return self._user_message(self.user_turn)
        self._grade()
        return DONE

    def _grade(self) -> None:
        self.reward.apply(self, self.verdicts, when="outcome")
        self.finish(success=state_ok(self.verdicts) and response_ok(self.verdicts))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
