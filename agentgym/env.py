"""The environment contract: :class:`AgentEnv`, a ``gymnasium.Env[str, str]``.

An episode is a conversation. ``reset`` returns the first observation and, in
``info``, the system instructions and the tool schemas; every ``step`` takes the
model's raw text, parses the tool call(s) in it, runs them and returns the
observation. Agent mistakes (no call, bad JSON, unknown tool, bad arguments,
impossible actions) become an ``Error: ...`` observation with
``info["action_valid"] = False`` and the ``invalid_action`` reward part; they
never raise.

Writing a family means subclassing and filling in a few hooks::

    class GuessNumberEnv(AgentEnv):
        family = "guess_number"
        instructions = "Find the secret number."

        def make_generator(self, seed):            # tasks, deterministic per split
            return GuessNumberTasks(seed)

        def on_reset(self, task) -> str:           # set up the episode
            self.secret = task.meta["secret"]
            return task.prompt

        @tool
        def guess(self, number: int) -> str:       # an action, with its schema
            \"\"\"Guess the number. Args: number: your guess.\"\"\"
            if number == self.secret:
                self.add_reward("success", 1.0)
                self.finish(success=True)
                return "Correct!"
            return "Higher." if number < self.secret else "Lower."

See ``envs/guess_number`` for the complete, documented example.

``info`` keys
    reset: ``task_id``, ``system``, ``tools``, ``anchor``, ``turn``.
    step: ``task_id``, ``anchor``, ``action_valid``, ``reward_parts``, ``turn``,
    ``tool_calls`` (names), ``error`` (kind, when invalid); at episode end also
    ``metrics`` (``success``, ``turns``, ``invalid_actions``, ``return`` and the
    family's own) and ``answer`` (the task's ground truth, for IGPO and judges).

``terminated`` means the task reached an end state (success or an irreversible
failure); ``truncated`` means ``max_turns`` ran out first.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym

from agentgym.errors import (
    ActionError,
    ConfigError,
    EnvStateError,
    MultipleCallsError,
    UnknownToolError,
    did_you_mean,
)
from agentgym.parsing import FORMAT_HINT, parse_tool_calls
from agentgym.spaces import FreeText
from agentgym.tasks import SPLITS, Split, Task, TaskGenerator
from agentgym.tools import ToolSpec, tool_specs

__all__ = ["AgentEnv"]

_MAX_TASK_INDEX = 2**31 - 1


class AgentEnv(gym.Env[str, str]):
    """Base class of every agentgym environment (see the module docstring).

    Args:
        split: Task split to draw from: ``"train"``, ``"val"`` or ``"test"``.
        difficulty: One of the family's difficulty levels (default: its first).
        seed: Seed of the task generator (not of the episode; pass ``seed`` to
            :meth:`reset` for that).
        tasks: A fixed list of tasks to draw from instead of the generator.
            With ``tasks=`` a family need not implement :meth:`make_generator`
            (then ``env.generator`` serves the list, whatever the split, and
            ``difficulty`` is only a label, default ``"default"``).
        max_turns: Steps before the episode is truncated.
        invalid_action_penalty: Subtracted (reward part ``invalid_action``) for
            each invalid action.
        allow_multiple_calls: Accept several tool calls in one action.
        max_observation_chars: Longer observations are cut, with a marker.
        render_mode: ``"ansi"`` (``render()`` returns text) or ``"human"`` (prints).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"]}

    family: ClassVar[str] = "base"
    """Short name of the family (used in task ids and suites)."""
    instructions: ClassVar[str] = ""
    """What the agent must do, in general terms: the start of ``info["system"]``."""
    default_max_turns: ClassVar[int] = 30
    max_action_chars: ClassVar[int] = 1 << 20
    scripted_policies: ClassVar[dict[str, str]] = {}
    """Scripted policies of the family, name -> ``"module:function(env) -> action"``;
    ``"oracle"`` is the expert every family should provide."""
    oracle_success_rate: ClassVar[float] = 1.0
    """The success rate the ``"oracle"`` scripted policy reaches: 1.0 (the
    default) means it always succeeds. A family whose oracle cannot be perfect
    declares its measured rate here (or sets it on the instance when it depends
    on the constructor's arguments); :func:`agentgym.testing.check_agent_env`
    fails when the oracle does improbably worse than this."""

    def __init__(
        self,
        *,
        split: Split = "train",
        difficulty: str | None = None,
        seed: int = 0,
        tasks: Sequence[Task] | None = None,
        max_turns: int | None = None,
        invalid_action_penalty: float = 0.1,
        allow_multiple_calls: bool = False,
        max_observation_chars: int = 8192,
        render_mode: str | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}.")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}.")
        if tasks is not None and len(tasks) == 0:
            raise ConfigError("tasks= was given an empty list; pass at least one Task or leave it out.")
        self.split: Split = split
        # Dicts too (a fixed task list written in a TOML config, or sent over HTTP).
        self.fixed_tasks = [t if isinstance(t, Task) else Task.from_dict(t) for t in tasks] if tasks is not None else None
        if self.fixed_tasks is not None and not self._has_generator():
            self.generator: TaskGenerator = _TaskList(self.fixed_tasks, self.family, difficulty or "default")
        else:
            self.generator = self.make_generator(seed)
        self.difficulty = self.generator.check_difficulty(difficulty or self.generator.difficulties[0])
        self.max_turns = int(max_turns if max_turns is not None else self.default_max_turns)
        if self.max_turns < 1:
            raise ConfigError(f"max_turns must be >= 1, got {max_turns}.")
        self.invalid_action_penalty = float(invalid_action_penalty)
        self.allow_multiple_calls = allow_multiple_calls
        self.max_observation_chars = int(max_observation_chars)
        self.render_mode = render_mode
        self.observation_space = FreeText(self.max_observation_chars + 64)
        self.action_space = FreeText(self.max_action_chars)
        self._tools: dict[str, ToolSpec] = tool_specs(self)
        if not self._tools:
            raise ConfigError(f"{type(self).__name__} declares no tools; decorate methods with @agentgym.tool.")
        self._tool_schemas = [s.schema for s in self._tools.values()]
        self.task: Task | None = None
        self._done = True
        self._last_obs = ""
        self._last_action = ""

    # ------------------------------------------------------------------
    # Hooks for families
    # ------------------------------------------------------------------
    def make_generator(self, seed: int) -> TaskGenerator:
        """Return the family's task generator (deterministic in ``seed``).

        Optional for an env that is always given its tasks (``tasks=[...]``);
        without both, constructing the env raises :class:`ConfigError`.
        """
        raise ConfigError(
            f"{type(self).__name__} has no tasks: implement make_generator(self, seed) returning a "
            "TaskGenerator, or pass a fixed list, tasks=[Task(id=..., prompt=..., answer=...), ...]."
        )

    @classmethod
    def _has_generator(cls) -> bool:
        return cls.make_generator is not AgentEnv.make_generator

    def on_reset(self, task: Task) -> str:
        """Set up the episode for ``task``; return the first observation."""
        raise NotImplementedError(f"{type(self).__name__} must implement on_reset()")

    def state_key(self) -> str:
        """Canonical key of the hidden state the next action is taken from
        (``info["anchor"]``, GiGPO's step groups). Override it: the default, the
        last observation, groups only what *looks* the same."""
        return self._last_obs

    def episode_metrics(self) -> dict[str, float]:
        """Family metrics added to ``info["metrics"]`` at episode end."""
        return {}

    def scripted_action(self, name: str = "oracle") -> str:
        """The next action of the family's scripted policy ``name`` (``"oracle"``:
        the expert, with privileged access to the hidden state). Families list
        theirs in :attr:`scripted_policies` as ``"module:function"``; the function
        takes the env and returns the action text."""
        if name not in self.scripted_policies:
            raise ConfigError(
                f"{type(self).__name__} has no scripted policy {name!r}.{did_you_mean(name, self.scripted_policies)}"
                f" Available: {', '.join(self.scripted_policies) or 'none'}."
            )
        if self._done:
            raise EnvStateError("scripted_action() needs a live episode: call reset() first.")
        module, attr = self.scripted_policies[name].split(":")
        fn = getattr(importlib.import_module(module), attr)
        return fn(self)

    def system_prompt(self) -> str:
        """``info["system"]``: the instructions and the action format."""
        one = "Call exactly one tool per turn." if not self.allow_multiple_calls else "You may call several tools per turn."
        return f"{self.instructions}\n\n{one} {FORMAT_HINT}".strip()

    # ------------------------------------------------------------------
    # Helpers for tools
    # ------------------------------------------------------------------
    def add_reward(self, part: str, value: float) -> None:
        """Add ``value`` to reward part ``part`` of the current step."""
        self._parts[part] = self._parts.get(part, 0.0) + float(value)

    def finish(self, *, success: bool) -> None:
        """End the episode (``terminated=True``) after this step."""
        self._terminated = True
        self._success = bool(success)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """Tool schemas (``apply_chat_template(tools=...)`` / OpenAI ``tools=``)."""
        return self._tool_schemas

    @property
    def turn(self) -> int:
        return self._turn

    # ------------------------------------------------------------------
    # Gymnasium API
    # ------------------------------------------------------------------
    def task_at(self, index: int, split: Split | None = None, difficulty: str | None = None) -> Task:
        """The task at ``index``: what ``reset(options={"task_index": index})`` plays.

        With a fixed task list (``tasks=``) it is ``tasks[index % len(tasks)]``
        (whatever the split: the list *is* the env's tasks); otherwise the
        generator's ``index``-th task of ``split`` (default: the env's) at
        ``difficulty`` (default: the env's). The one place that maps an index to
        a task: the rollout engine, the evaluation harness, the env server and
        the trainer all come here.

        >>> import agentgym
        >>> env = agentgym.make("GuessNumber-v0", split="val")
        >>> env.task_at(3).id
        'guess_number/val/easy/3'
        >>> env.reset(options={"task_index": 3})[1]["task_id"]
        'guess_number/val/easy/3'
        """
        if self.fixed_tasks is not None:
            return self.fixed_tasks[int(index) % len(self.fixed_tasks)]
        return self.generator.task(split or self.split, int(index), difficulty or self.difficulty)

    def select_task(self, options: dict[str, Any] | None) -> Task:
        """The task for this episode: ``options["task"]`` (a :class:`Task`),
        ``options["task_index"]`` (see :meth:`task_at`), or one drawn with the
        episode's seed."""
        options = options or {}
        if "task" in options:
            task = options["task"]
            if isinstance(task, dict):
                task = Task.from_dict(task)
            if not isinstance(task, Task):
                raise ConfigError(f"options['task'] must be a Task, got {type(task).__name__}.")
            return task
        index = options.get("task_index")
        if index is None:
            n = len(self.fixed_tasks) if self.fixed_tasks is not None else _MAX_TASK_INDEX
            index = int(self.np_random.integers(n))
        return self.task_at(int(index), difficulty=options.get("difficulty"))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self.task = self.select_task(options)
        self._turn = 0
        self._parts: dict[str, float] = {}
        self._terminated = False
        self._success = False
        self._return = 0.0
        self._invalid = 0
        self._done = False
        obs = self._clip(self.on_reset(self.task))
        self._last_obs, self._last_action = obs, ""
        info = {
            "task_id": self.task.id,
            "system": self.system_prompt(),
            "tools": self._tool_schemas,
            "anchor": self.state_key(),
            "turn": 0,
        }
        return obs, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.task is None:
            raise EnvStateError("step() before reset(): call env.reset() first.")
        if self._done:
            raise EnvStateError("step() after the episode ended: call env.reset() to start a new one.")
        self._turn += 1
        self._parts = {}
        task_id = self.task.id
        try:
            obs, names = self._dispatch(action)
            info: dict[str, Any] = {"task_id": task_id, "tool_calls": names}
            valid = True
        except ActionError as e:
            obs, valid = f"Error: {e}", False
            info = {"task_id": task_id, "error": e.kind}
            self._invalid += 1
            if self.invalid_action_penalty:
                self.add_reward("invalid_action", -self.invalid_action_penalty)
        if len(obs) > self.max_observation_chars:
            obs = self._clip(obs)
        self._last_obs = obs
        self._last_action = action if isinstance(action, str) else repr(action)
        parts = self._parts
        reward = float(sum(parts.values())) if parts else 0.0
        self._return += reward
        terminated = self._terminated
        truncated = not terminated and self._turn >= self.max_turns
        self._done = terminated or truncated
        # One dict, its keys in the order they always had.
        info["anchor"] = self.state_key()
        info["action_valid"] = valid
        info["reward_parts"] = dict(parts)
        info["turn"] = self._turn
        if self._done:
            info["metrics"] = self._metrics()
            info["answer"] = self.task.answer
        if self.render_mode == "human":
            print(self.render_text())  # noqa: T201 (render_mode="human" asks for it)
        return obs, reward, terminated, truncated, info

    def render(self) -> str | None:
        text = self.render_text()
        if self.render_mode == "human":
            print(text)  # noqa: T201
            return None
        return text

    def render_text(self) -> str:
        head = f"[{self.task.id if self.task else '-'} turn {getattr(self, '_turn', 0)}]"
        act = f"\n> {self._last_action}" if self._last_action else ""
        return f"{head}{act}\n{self._last_obs}"

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------
    def _dispatch(self, action: Any) -> tuple[str, list[str]]:
        if not isinstance(action, str):
            raise ActionError(f"The action must be text, got {type(action).__name__}.", kind="parse_error")
        if len(action) > self.max_action_chars:
            raise ActionError(
                f"The action is {len(action)} characters long; the limit is {self.max_action_chars}.",
                kind="too_long",
            )
        calls = parse_tool_calls(action, self._tools)
        if len(calls) == 1:  # the common case, without the lists and the join below
            call = calls[0]
            spec = self._tools.get(call.name)
            if spec is not None:
                return str(spec.fn(self, **spec.bind(call))), [call.name]
        elif len(calls) > 1 and not self.allow_multiple_calls:
            raise MultipleCallsError(
                f"You made {len(calls)} tool calls ({', '.join(c.name for c in calls)}); make exactly one per turn."
            )
        outputs, names = [], []
        for call in calls:
            spec = self._tools.get(call.name)
            if spec is None:
                raise UnknownToolError(
                    f"Unknown tool {call.name!r}.{did_you_mean(call.name, self._tools)} "
                    f"Available tools: {', '.join(self._tools)}."
                )
            kwargs = spec.bind(call)
            outputs.append(str(spec.fn(self, **kwargs)))
            names.append(call.name)
            if self._terminated:
                break
        return "\n".join(outputs), names

    def _clip(self, text: str) -> str:
        limit = self.max_observation_chars
        if len(text) <= limit:
            return text
        return text[: limit - 40] + f"\n...[truncated {len(text) - limit + 40} characters]"

    def _metrics(self) -> dict[str, float]:
        metrics = {
            "success": float(self._success),
            "turns": float(self._turn),
            "invalid_actions": float(self._invalid),
            "return": float(self._return),
        }
        metrics.update({k: float(v) for k, v in self.episode_metrics().items()})
        return metrics


class _TaskList(TaskGenerator):
    """The generator of an env built from a fixed task list that has no
    generator of its own: task ``i`` of any split is ``tasks[i % len(tasks)]``,
    as :meth:`AgentEnv.task_at` plays it; one difficulty, a label."""

    def __init__(self, tasks: Sequence[Task], family: str, difficulty: str) -> None:
        super().__init__(seed=0)
        self.family = family
        self.difficulties = (difficulty,)
        self._tasks = list(tasks)

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; choose one of {list(SPLITS)}.")
        self.check_difficulty(difficulty or self.difficulties[0])
        return self._tasks[int(index) % len(self._tasks)]
