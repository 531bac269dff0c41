"""The rollout engine: run groups of episodes with a policy, record exactly what happened.

:func:`collect` runs ``group_size`` episodes (a *group*) for each task; the
episodes of a group share the task, the reset seed and ``group_id``. Every live
episode of every group advances together: one batched ``policy.act`` call per
turn. Each turn records the exact ``prompt_ids``/``response_ids``/``logprobs``
the policy returned, the action text, the observation, the reward and its
parts, ``action_valid``, and the env's anchor *before* the action (GiGPO's
state groups).

What the model sees
    :func:`messages_before_turn` builds the conversation before turn ``t`` from
    a trajectory, and :func:`collect` uses it, so a saved trajectory rebuilds
    the exact prompts (SFT does this). The conversation is::

        system     info["system"] (instructions and the action format)
        user       the initial observation (the task; always kept)
        assistant  action 1          ┐ all turns (history="full") or the
        user       observation 1     ┘ last K (history=K)
        ...

    Observations are ``user`` messages by default: every chat template renders
    that role, whereas ``tool`` messages are refused or mangled by several
    (SmolLM2's among them) and OpenAI-style servers demand tool-call ids for
    them. ``observation_role="tool"`` switches. Tool schemas are passed
    separately (the policy renders them, e.g. through the chat template).

Failures
    An exception out of ``env.reset``/``env.step``, or a completion with
    ``finish_reason="error"``, ends *that* episode with ``failed=True`` and the
    error text; the run goes on. (An exception out of ``policy.act`` is a bug
    in the policy and propagates.) Failed episodes are returned, counted and
    logged; every success rate counts them as failures, training's and
    evaluation's alike (``agentgym.evaluation.summary.episode_totals``), and the
    trainer leaves them out of its updates.

Limits
    ``max_turns`` caps the turns (the env truncates; the engine enforces it too
    for envs given as instances); ``max_tokens_per_episode`` caps the response
    tokens an episode may generate: the episode whose total reaches it ends,
    after its last full turn, with ``truncated=True`` and
    ``meta["truncated_by"] = "token_budget"`` — never with a half turn.

>>> from agentgym.policies.scripted import OraclePolicy   # doctest: +SKIP
>>> trajs = collect("GuessNumber-v0", OraclePolicy(), tasks=4, group_size=2)  # doctest: +SKIP
>>> len(trajs), trajs[0].group_id == trajs[1].group_id  # doctest: +SKIP
(8, True)
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentgym.errors import ConfigError, PolicyError
from agentgym.policy import Completion, Message
from agentgym.registry import make
from agentgym.suites import SuiteEntry
from agentgym.tasks import Split, Task, derive_seed
from agentgym.trajectory import Trajectory, Turn, append_jsonl

__all__ = ["collect", "messages_before_turn", "History", "ObservationRole"]

logger = logging.getLogger(__name__)

History = Literal["full"] | int
ObservationRole = Literal["user", "tool"]
EnvLike = Any  # anything with reset(seed=, options=) and step(action)


def messages_before_turn(
    traj: Trajectory,
    t: int,
    history: History | None = None,
    observation_role: ObservationRole | None = None,
) -> list[Message]:
    """The conversation the policy saw before turn ``t`` (0-based) of ``traj``.

    ``history`` and ``observation_role`` default to those the trajectory was
    collected with (``traj.meta``).

    >>> traj = Trajectory("t", "g", system="S", initial_observation="O0",
    ...                   turns=[Turn("a1", "O1", 0.0, "k"), Turn("a2", "O2", 1.0, "k")])
    >>> [m["content"] for m in messages_before_turn(traj, 2, history=1)]
    ['S', 'O0', 'a2', 'O2']
    """
    history = traj.meta.get("history", "full") if history is None else history
    role = observation_role or traj.meta.get("observation_role", "user")
    _check_history(history)
    if not 0 <= t <= len(traj.turns):
        raise ConfigError(f"turn {t} is out of range: the trajectory has {len(traj.turns)} turns.")
    messages: list[Message] = []
    if traj.system:
        messages.append({"role": "system", "content": traj.system})
    messages.append({"role": "user", "content": traj.initial_observation})
    turns = traj.turns[:t]
    if history != "full":
        turns = turns[max(0, len(turns) - int(history)) :] if int(history) > 0 else []
    for turn in turns:
        messages.append({"role": "assistant", "content": turn.action})
        messages.append({"role": role, "content": turn.observation})
    return messages


# ----------------------------------------------------------------------
# Where episodes come from
# ----------------------------------------------------------------------
@dataclass
class _Source:
    """One env (id, suite entry, factory or instance pool) and its tasks.

    ``env_id`` is the real, registered id of the env (``agentgym/GuessNumber-v0``),
    never the name of a factory; ``label`` names the source in group ids and
    ``meta["source"]``: the suite entry's label, else the env id.
    """

    label: str
    env_id: str
    factory: Callable[[], EnvLike] | None  # None: a fixed pool of instances
    free: list[EnvLike]
    tasks: list[dict[str, Any]]  # reset options, one per task
    split: str
    created: list[EnvLike] = field(default_factory=list)

    def acquire(self) -> EnvLike | None:
        if self.free:
            return self.free.pop()
        if self.factory is None:
            return None
        env = self.factory()
        self.created.append(env)
        return env


def _task_options(tasks: int | range | Sequence[Task]) -> list[dict[str, Any]]:
    """Reset options, one per task: task indices (the env maps them to tasks
    with ``AgentEnv.task_at``) or the tasks themselves."""
    if isinstance(tasks, range):
        if len(tasks) == 0 or tasks.start < 0 or tasks.step < 1:
            raise ConfigError(f"a range of task indices must be non-empty, increasing and >= 0, got {tasks}.")
        return [{"task_index": i} for i in tasks]
    if isinstance(tasks, int):
        if tasks < 1:
            raise ConfigError(f"tasks must be >= 1 (a number of tasks), a range of task indices or a list of Task, got {tasks}.")
        return [{"task_index": i} for i in range(tasks)]
    tasks = list(tasks)
    if not tasks or not all(isinstance(t, Task) for t in tasks):
        raise ConfigError("tasks must be a positive int or a non-empty list of agentgym.Task.")
    return [{"task": t} for t in tasks]


def _sources(env: Any, tasks: int | range | Sequence[Task], split: str, env_kwargs: dict[str, Any]) -> list[_Source]:
    if isinstance(env, str):
        full = _canonical_id(env)
        return [_Source(full, full, lambda: make(full, split=split, **env_kwargs), [], _task_options(tasks), split)]
    if isinstance(env, SuiteEntry):
        env = [env]
    if isinstance(env, Sequence) and env and all(isinstance(e, SuiteEntry) for e in env):
        out = []
        for e in env:
            kw = {**e.kwargs, **env_kwargs}
            factory = (lambda e=e, kw=kw: make(e.env_id, split=e.split, **kw))  # noqa: E731
            out.append(_Source(e.label, _canonical_id(e.env_id), factory, [], _task_options(e.n_tasks), e.split))
        return out
    if hasattr(env, "reset") and hasattr(env, "step") and not isinstance(env, type):
        env = [env]
    if isinstance(env, Sequence) and env and all(hasattr(e, "reset") and hasattr(e, "step") for e in env):
        env_id = _env_id_of(env[0])
        return [_Source(env_id, env_id, None, list(reversed(env)), _task_options(tasks), split)]
    if callable(env):  # a factory (an env class is one too): its first env tells the env id
        options = _task_options(tasks)
        first = env()
        env_id = _env_id_of(first)
        return [_Source(env_id, env_id, env, [first], options, split, created=[first])]
    raise ConfigError(
        f"collect() cannot run episodes on {type(env).__name__}: pass an env id ('GuessNumber-v0'), "
        "SuiteEntry objects (e.g. get_suite(name).entries), an env instance or list of them, or an env factory."
    )


def _canonical_id(env_id: str) -> str:
    return env_id if "/" in env_id else f"agentgym/{env_id}"


def _env_id_of(env: EnvLike) -> str:
    """The registered id of an env instance, however it was built: its gymnasium
    spec (``make``), the id a :class:`~agentgym.remote.RemoteEnv` serves, or the one id
    registered for its class (an env constructed directly); else its class name.

    >>> import agentgym
    >>> from agentgym.envs.guess_number.env import GuessNumberEnv
    >>> _env_id_of(agentgym.make("GuessNumber-v0")), _env_id_of(GuessNumberEnv())
    ('agentgym/GuessNumber-v0', 'agentgym/GuessNumber-v0')
    """
    spec_id = getattr(getattr(env, "spec", None), "id", None)
    if spec_id:
        return str(spec_id)
    base = getattr(env, "unwrapped", env)
    served = getattr(base, "env_id", None)  # RemoteEnv
    if isinstance(served, str) and served:
        return _canonical_id(served)
    cls = type(base)
    import gymnasium as gym

    path = f"{cls.__module__}:{cls.__qualname__}"
    ids = [s.id for s in gym.registry.values() if s.entry_point is cls or s.entry_point == path]
    return ids[0] if len(ids) == 1 else cls.__name__


# ----------------------------------------------------------------------
# Episodes
# ----------------------------------------------------------------------
@dataclass
class _Episode:
    index: int  # position in the returned list
    source: _Source
    options: dict[str, Any]
    reset_seed: int
    env: EnvLike = None
    traj: Trajectory | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    anchor: str = ""
    tokens: int = 0
    # The whole conversation so far, kept up to date turn by turn (rebuilding it
    # from the trajectory every turn cost more than a null env's step): what
    # messages_before_turn(traj, len(traj.turns), "full") returns; ``head``
    # messages (system, first observation) are always kept.
    messages: list[Message] = field(default_factory=list)
    head: int = 0


@dataclass
class _Settings:
    max_turns: int | None
    history: History
    observation_role: str
    max_tokens: int | None


def _start(ep: _Episode, group_id: str, group_index: int, task_index: int, s: _Settings) -> bool:
    """Reset the episode's env; False (and a failed trajectory) if it raised."""
    src = ep.source
    traj = Trajectory(task_id="", group_id=group_id, env_id=src.env_id, seed=ep.reset_seed)
    traj.meta.update(
        history=s.history, observation_role=s.observation_role, group_index=group_index,
        task_index=task_index, split=src.split, source=src.label,
    )
    ep.traj = traj
    task = ep.options.get("task")
    if task is not None:
        traj.task_id, traj.answer = task.id, task.answer
    try:
        obs, info = ep.env.reset(seed=ep.reset_seed, options=dict(ep.options))
    except Exception as e:  # an env bug must not kill the run
        logger.warning("env %s: reset raised %s: %s", src.label, type(e).__name__, e)
        _fail(ep, f"reset raised {type(e).__name__}: {e}")
        return False
    base = getattr(ep.env, "unwrapped", ep.env)
    traj.task_id = str(info.get("task_id", traj.task_id))
    env_task = getattr(base, "task", None)
    if not traj.answer and isinstance(env_task, Task):
        traj.answer = env_task.answer
    traj.system = str(info.get("system", ""))
    traj.initial_observation = obs
    traj.initial_anchor = traj.final_anchor = ep.anchor = str(info.get("anchor", obs))
    ep.messages = messages_before_turn(traj, 0, s.history, s.observation_role)  # type: ignore[arg-type]
    ep.head = len(ep.messages)
    ep.tools = list(info.get("tools") or getattr(base, "tools", None) or [])
    # The tool schemas the policy was given: with messages_before_turn, all a
    # trainer needs to rebuild each prompt from a saved trajectory.
    traj.meta["tools"] = ep.tools
    return True


def _fail(ep: _Episode, error: str) -> None:
    assert ep.traj is not None
    ep.traj.failed, ep.traj.error = True, error
    ep.traj.metrics = _fallback_metrics(ep)


def _fallback_metrics(ep: _Episode) -> dict[str, float]:
    """Metrics of an episode the env did not end (failed, or cut by the engine):
    the base ones, plus the family's own where the env can still report them."""
    traj = ep.traj
    assert traj is not None
    metrics = {
        "success": 0.0,
        "turns": float(len(traj.turns)),
        "invalid_actions": float(sum(not t.action_valid for t in traj.turns)),
        "return": traj.episode_return,
    }
    family = getattr(getattr(ep.env, "unwrapped", ep.env), "episode_metrics", None)
    if callable(family) and traj.turns and not traj.failed:
        try:
            metrics.update({k: float(v) for k, v in family().items() if k not in metrics})
        except Exception:  # a half-dead env: the base metrics will do
            logger.debug("episode_metrics() failed", exc_info=True)
    return metrics


def _advance(ep: _Episode, c: Completion, s: _Settings) -> bool:
    """Apply one completion to the episode; True when the episode is over."""
    if not _begin_turn(ep, c):
        return True
    return _end_turn(ep, c, _step_env(ep.env, c.text), s)


def _begin_turn(ep: _Episode, c: Completion) -> bool:
    """Record the turn the completion starts; False (the episode failed) on a policy error."""
    traj = ep.traj
    assert traj is not None
    if c.finish_reason == "error":
        _fail(ep, f"policy error: {c.error or 'no completion'}")
        return False
    traj.turns.append(Turn(
        action=c.text, observation="", reward=0.0, anchor=ep.anchor, prompt_ids=list(c.prompt_ids),
        response_ids=list(c.response_ids), logprobs=list(c.logprobs),
    ))
    return True


StepResult = tuple[Any, float, bool, bool, dict[str, Any]]


def _step_env(env: EnvLike, action: str) -> StepResult | BaseException:
    """``env.step(action)``, or the exception it raised (returned, so that a step
    run in a worker thread or a batch reports its failure to its episode only)."""
    try:
        return env.step(action)
    except Exception as e:  # an env bug must not kill the run
        return e


def _end_turn(ep: _Episode, c: Completion, result: StepResult | BaseException, s: _Settings) -> bool:
    """Record the outcome of the env's step; True when the episode is over."""
    traj = ep.traj
    assert traj is not None
    turn = traj.turns[-1]
    if isinstance(result, BaseException):
        e = result
        logger.warning("env %s (%s): step raised %s: %s", ep.source.label, traj.task_id, type(e).__name__, e)
        turn.error = f"{type(e).__name__}: {e}"
        _fail(ep, f"step raised {turn.error}")
        return True
    obs, reward, terminated, truncated, info = result
    turn.observation, turn.reward = obs, float(reward)
    parts = info.get("reward_parts")
    turn.reward_parts = {k: float(v) for k, v in parts.items()} if parts else {}
    turn.action_valid = bool(info.get("action_valid", True))
    if info.get("reward_unavailable"):
        turn.reward_unavailable = {str(k): str(v) for k, v in info["reward_unavailable"].items()}
    if not turn.action_valid and info.get("error"):
        turn.error = str(info["error"])
    ep.anchor = traj.final_anchor = str(info.get("anchor", obs))
    ep.tokens += len(c.response_ids)
    if "answer" in info:
        traj.answer = str(info["answer"])
    if terminated or truncated:
        traj.terminated, traj.truncated = bool(terminated), bool(truncated)
        if truncated and not terminated:
            traj.meta["truncated_by"] = "max_turns"  # the env's own turn limit
        traj.metrics = {k: float(v) for k, v in (info.get("metrics") or _fallback_metrics(ep)).items()}
        return True
    cut = None
    if s.max_turns is not None and len(traj.turns) >= s.max_turns:
        cut = "max_turns"
    elif s.max_tokens is not None and ep.tokens >= s.max_tokens:
        cut = "token_budget"
    if cut:
        traj.truncated = True
        traj.meta["truncated_by"] = cut
        traj.metrics = _fallback_metrics(ep)
        return True
    ep.messages += ({"role": "assistant", "content": turn.action}, {"role": s.observation_role, "content": obs})
    return False


def _check_history(history: Any) -> None:
    if history == "full":
        return
    if isinstance(history, bool) or not isinstance(history, int) or history < 0:
        raise ConfigError(f"history must be 'full' or a number of turns >= 0 to keep, got {history!r}.")


# ----------------------------------------------------------------------
# The engine
# ----------------------------------------------------------------------
def collect(
    env: Any,
    policy: Any,
    *,
    tasks: int | range | Sequence[Task] = 1,
    group_size: int = 1,
    max_turns: int | None = None,
    history: History = "full",
    split: Split = "train",
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    max_tokens_per_episode: int | None = None,
    observation_role: ObservationRole = "user",
    max_parallel: int | None = None,
    progress: bool = False,
    out: str | os.PathLike[str] | None = None,
    step_threads: int | None = None,
    barrier: bool = True,
) -> list[Trajectory]:
    """Run ``group_size`` episodes per task with ``policy``; return the trajectories
    (task by task, each group's episodes together, in order).

    Args:
        env: An env id (``"GuessNumber-v0"``), a :class:`SuiteEntry` or a list of
            them (each entry brings its split, tasks and kwargs), an env
            instance or a list of instances (a pool: at most that many
            episodes run at once), or a zero-argument env factory.
        policy: Anything with ``act(conversations, tools)`` (see
            :mod:`agentgym.policy`; ``needs_env`` policies also get ``envs=``).
        tasks: ``n`` (task indices ``0..n-1`` of ``split``), a ``range`` of
            task indices (``AgentEnv.task_at`` maps each to its task), or a
            list of :class:`Task`. Ignored for suite entries.
        group_size: Episodes per task (G); they share the task, the reset seed
            and ``group_id``.
        max_turns: Turn limit per episode (passed to envs the engine builds
            and enforced for all).
        history: ``"full"``, or ``K``: keep the last K turns (the system
            message and the first observation are always kept).
        split: The split of the tasks (env ids and factories).
        seed: Base seed; each task's reset seed derives from it.
        env_kwargs: Constructor keywords for envs built from ids/suite entries.
        max_tokens_per_episode: Response-token budget of an episode.
        observation_role: ``"user"`` (default) or ``"tool"``.
        max_parallel: At most this many live episodes (default: all).
        progress: Show a progress bar (episodes finished).
        out: Write the trajectories to this JSONL file, each as it finishes.
        step_threads: Env steps (and resets) of a turn run at most this many at
            once in worker threads (default: the most any live env declares in
            its ``step_threads`` attribute; 1, sequential, for envs that declare
            nothing). Results keep their order and a step that raises fails its
            own episode only, as on the sequential path, so the trajectories are
            the same. Envs with a ``batch_stepper`` (Ray env workers) get a
            turn's actions in one batched call per stepper.
        barrier: True (default): every live episode takes each turn together
            (one policy call per turn, the same batches as the sequential path).
            False: an episode whose step has finished goes back to the policy
            while slower ones are still stepping; the policy is then called
            with whatever is ready, so batch composition depends on timing.
            Trajectories are unchanged for a policy whose answer to a
            conversation does not depend on the other conversations of its
            batch (scripted policies, greedy decoding); a sampling policy that
            draws from one random stream for the whole batch gives different
            (equally valid) samples.

    >>> from agentgym.policies.scripted import RandomPolicy          # doctest: +SKIP
    >>> trajs = collect("GuessNumber-v0", RandomPolicy(), tasks=2, group_size=4, max_turns=3)  # doctest: +SKIP
    """
    if group_size < 1:
        raise ConfigError(f"group_size must be >= 1, got {group_size}.")
    if max_turns is not None and max_turns < 1:
        raise ConfigError(f"max_turns must be >= 1, got {max_turns}.")
    if max_tokens_per_episode is not None and max_tokens_per_episode < 1:
        raise ConfigError(f"max_tokens_per_episode must be >= 1, got {max_tokens_per_episode}.")
    if max_parallel is not None and max_parallel < 1:
        raise ConfigError(f"max_parallel must be >= 1, got {max_parallel}.")
    if step_threads is not None and step_threads < 1:
        raise ConfigError(f"step_threads must be >= 1, got {step_threads}.")
    if observation_role not in ("user", "tool"):
        raise ConfigError(f"observation_role must be 'user' or 'tool', got {observation_role!r}.")
    _check_history(history)
    if not callable(getattr(policy, "act", None)):
        raise ConfigError(f"{type(policy).__name__} is not a policy: it has no act(conversations, tools) method.")
    kwargs = dict(env_kwargs or {})
    if max_turns is not None:
        kwargs.setdefault("max_turns", max_turns)
    settings = _Settings(max_turns, history, observation_role, max_tokens_per_episode)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("")
    sources = _sources(env, tasks, split, kwargs)  # builds a factory's first env: closed below

    episodes: list[tuple[_Episode, str, int, int]] = []
    for src in sources:
        for pos, options in enumerate(src.tasks):
            # A task index names the task (tasks=n or a range); a Task list, its position.
            index = int(options.get("task_index", pos))
            reset_seed = derive_seed("collect", seed, src.label, index) % (2**31)
            group_id = f"{src.label}#{index}@{seed}"
            for g in range(group_size):
                episodes.append((_Episode(len(episodes), src, options, reset_seed), group_id, g, index))
    try:
        done = _run(episodes, policy, settings, max_parallel, progress, out, _Stepper(step_threads), barrier)
    finally:
        # Every episode is over: a policy's per-conversation state (HFPolicy's
        # prefix cache of keys/values) would only hold memory now.
        release = getattr(policy, "clear_prefix_cache", None)
        if callable(release):
            release()
        for src in sources:
            for e in src.created:
                try:
                    e.close()
                except Exception:  # closing must not hide the real outcome
                    logger.debug("env close failed", exc_info=True)
    n_failed = sum(t.failed for t in done)
    # Callers (trainer, evaluator) report their own summaries; failures stay visible.
    (logger.warning if n_failed else logger.debug)(
        "collected %d episodes (%d groups): success %.3f, failed %d",
        len(done), len({t.group_id for t in done}),
        sum(t.success for t in done) / max(1, len(done)), n_failed,
    )
    return done


class _Stepper:
    """Runs a turn's env steps (and resets) concurrently, each result to its own episode.

    How many at once: ``threads`` (collect's ``step_threads``), else the
    largest ``step_threads`` the live envs declare (an env that waits on I/O,
    a browser, a sandbox, a server, says how many of its instances may step at
    once; pure-Python envs declare nothing and keep the sequential path, where
    threads would only add overhead under the GIL). Envs that share a
    ``batch_stepper`` (e.g. :class:`agentgym.distributed.RayEnvPool`'s) are
    stepped together by one ``batch_stepper.step_many(envs, actions)`` call,
    which returns one result or exception per env, in order.
    """

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self._pool: Any = None
        self._size = 0

    def width(self, envs: Sequence[EnvLike]) -> int:
        if self.threads is not None:
            return self.threads
        return max((int(getattr(getattr(e, "unwrapped", e), "step_threads", 1) or 1) for e in envs), default=1)

    def executor(self, width: int) -> Any:
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None or self._size < width:
            if self._pool is not None:
                self._pool.shutdown(wait=False)  # its running steps finish; new ones go to the larger pool
            self._pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="agentgym-step")
            self._size = width
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def units(self, items: list[tuple[_Episode, Completion]]) -> list[list[tuple[_Episode, Completion]]]:
        """The turn's steps as units of work: one per env, one per batch stepper."""
        singles: list[list[tuple[_Episode, Completion]]] = []
        batches: dict[int, list[tuple[_Episode, Completion]]] = {}
        for item in items:
            stepper = getattr(item[0].env, "batch_stepper", None)
            if stepper is None:
                singles.append([item])
            else:
                batches.setdefault(id(stepper), []).append(item)
        return list(batches.values()) + singles

    @staticmethod
    def run_unit(unit: list[tuple[_Episode, Completion]]) -> list[StepResult | BaseException]:
        if len(unit) == 1 and getattr(unit[0][0].env, "batch_stepper", None) is None:
            ep, c = unit[0]
            return [_step_env(ep.env, c.text)]
        stepper = unit[0][0].env.batch_stepper
        try:
            results = list(stepper.step_many([ep.env for ep, _ in unit], [c.text for _, c in unit]))
        except Exception as e:  # the whole batch failed: each of its episodes fails, the run goes on
            return [e] * len(unit)
        if len(results) != len(unit):
            err = RuntimeError(f"{type(stepper).__name__}.step_many returned {len(results)} results for {len(unit)} envs")
            return [err] * len(unit)
        return results

    def step_all(self, items: list[tuple[_Episode, Completion]]) -> list[StepResult | BaseException]:
        """Every step of a turn, concurrently where allowed; results in the items' order."""
        envs = [ep.env for ep, _ in items]
        width = self.width(envs)
        if width <= 1 and all(getattr(e, "batch_stepper", None) is None for e in envs):
            # Sequential, one env per unit: what the general path below does, in the
            # same order, without building units (the cost of a null env's step).
            return [_step_env(ep.env, c.text) for ep, c in items]
        units = self.units(items)
        if len(units) > 1 and width > 1:
            done = list(self.executor(min(width, len(units))).map(self.run_unit, units))
        else:
            done = [self.run_unit(u) for u in units]
        by_ep = {id(ep): r for unit, rs in zip(units, done, strict=True) for (ep, _), r in zip(unit, rs, strict=True)}
        return [by_ep[id(ep)] for ep, _ in items]

    def start_all(self, items: list[tuple[_Episode, str, int, int]], s: _Settings) -> list[bool]:
        """Reset the episodes' envs (concurrently where the envs allow it)."""
        width = self.width([ep.env for ep, *_ in items])
        call = lambda item: _start(item[0], item[1], item[2], item[3], s)  # noqa: E731
        if len(items) > 1 and width > 1:
            return list(self.executor(min(width, len(items))).map(call, items))
        return [call(item) for item in items]


def _act(policy: Any, eps: list[_Episode], s: _Settings) -> list[Completion]:
    """One batched policy call for ``eps``."""
    convs = [_conversation(ep, s) for ep in eps]
    tools = [ep.tools for ep in eps]
    if getattr(policy, "needs_env", False):
        completions = policy.act(convs, tools, envs=[ep.env for ep in eps])
    else:
        completions = policy.act(convs, tools)
    if len(completions) != len(eps):
        raise PolicyError(
            f"{type(policy).__name__}.act returned {len(completions)} completions for {len(eps)} "
            "conversations; it must return exactly one per conversation, in order."
        )
    return list(completions)


def _run(
    episodes: list[tuple[_Episode, str, int, int]],
    policy: Any,
    s: _Settings,
    max_parallel: int | None,
    progress: bool,
    out: str | os.PathLike[str] | None,
    stepper: _Stepper,
    barrier: bool,
) -> list[Trajectory]:
    from tqdm.auto import tqdm

    pending = deque(episodes)
    n_sources = len({id(item[0].source) for item in episodes})
    finished: dict[int, Trajectory] = {}
    bar = tqdm(total=len(episodes), disable=not progress, desc="episodes", unit="ep")

    def finish(ep: _Episode) -> None:
        assert ep.traj is not None
        finished[ep.index] = ep.traj
        ep.source.free.append(ep.env)
        bar.update(1)
        if out is not None:
            append_jsonl(out, [ep.traj])

    try:
        if barrier:
            _run_in_step(pending, policy, s, max_parallel, finish, stepper, n_sources)
        else:
            _run_pipelined(pending, policy, s, max_parallel, finish, stepper, n_sources)
    finally:
        bar.close()
        stepper.close()
    return [finished[i] for i in sorted(finished)]


def _run_in_step(pending, policy, s, max_parallel, finish, stepper, n_sources) -> None:  # type: ignore[no-untyped-def]
    """Every live episode takes its turn together: one policy call, then every step."""
    live: list[_Episode] = []
    while pending or live:
        live.extend(_fill(pending, len(live), s, max_parallel, finish, stepper, n_sources))
        if not live:
            continue
        completions = _act(policy, live, s)
        stepping = []
        for ep, c in zip(live, completions, strict=True):
            if _begin_turn(ep, c):
                stepping.append((ep, c))
            else:
                finish(ep)
        results = stepper.step_all(stepping)
        live = []
        for (ep, c), r in zip(stepping, results, strict=True):
            if _end_turn(ep, c, r, s):
                finish(ep)
            else:
                live.append(ep)


def _run_pipelined(pending, policy, s, max_parallel, finish, stepper, n_sources) -> None:  # type: ignore[no-untyped-def]
    """No barrier per turn: episodes whose step has finished go back to the policy
    while slower ones are still stepping (the policy is called with whatever is
    ready, in episode order)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    ready: list[_Episode] = []
    inflight: dict[Any, list[tuple[_Episode, Completion]]] = {}
    n_inflight = 0
    while pending or ready or inflight:
        ready.extend(_fill(pending, len(ready) + n_inflight, s, max_parallel, finish, stepper, n_sources))
        if ready:
            ready.sort(key=lambda ep: ep.index)
            completions = _act(policy, ready, s)
            stepping = []
            for ep, c in zip(ready, completions, strict=True):
                if _begin_turn(ep, c):
                    stepping.append((ep, c))
                else:
                    finish(ep)
            ready = []
            if stepping:
                pool = stepper.executor(max(1, stepper.width([ep.env for ep, _ in stepping])))
                for unit in stepper.units(stepping):
                    inflight[pool.submit(stepper.run_unit, unit)] = unit
                    n_inflight += len(unit)
        if not inflight:
            continue
        done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        outcomes = []
        for fut in done:
            unit = inflight.pop(fut)
            n_inflight -= len(unit)
            outcomes.extend(zip(unit, fut.result(), strict=True))
        for (ep, c), r in sorted(outcomes, key=lambda o: o[0][0].index):
            if _end_turn(ep, c, r, s):
                finish(ep)
            else:
                ready.append(ep)


def _conversation(ep: _Episode, s: _Settings) -> list[Message]:
    """``messages_before_turn(ep.traj, len(ep.traj.turns))``, from the episode's
    running conversation: a new list each turn (the policy may keep or change
    it), whose message dicts are shared with later turns' lists (a policy reads
    them; none of agentgym's writes to them)."""
    messages = ep.messages
    if s.history == "full":
        return messages.copy()
    keep = 2 * int(s.history)  # the last K turns: two messages each
    if keep >= len(messages) - ep.head:
        return messages.copy()
    return messages[: ep.head] + messages[len(messages) - keep :] if keep else messages[: ep.head]


def _fill(
    pending: deque[tuple[_Episode, str, int, int]],
    n_live: int,
    s: _Settings,
    max_parallel: int | None,
    finish: Callable[[_Episode], None],
    stepper: _Stepper,
    n_sources: int,
) -> list[_Episode]:
    """Start pending episodes while there is room (and, for instance pools, a free
    env); return those that started (in order). Resets run concurrently where the
    envs allow it. ``n_sources``: how many sources the episodes come from."""
    blocked: list[tuple[_Episode, str, int, int]] = []
    starting: list[tuple[_Episode, str, int, int]] = []
    busy: set[int] = set()  # pools whose every instance is taken (none comes free during a fill)
    while pending and (max_parallel is None or n_live + len(starting) < max_parallel):
        item = pending.popleft()
        src = item[0].source
        env = None if id(src) in busy else src.acquire()
        if env is None:  # every instance of this pool is busy: later
            blocked.append(item)
            busy.add(id(src))
            if len(busy) == n_sources:  # so is every other: the rest waits, in order
                break
            continue
        item[0].env = env
        starting.append(item)
    pending.extendleft(reversed(blocked))
    started = []
    for item, ok in zip(starting, stepper.start_all(starting, s), strict=True):
        if ok:
            started.append(item[0])
        else:
            finish(item[0])
    return started
