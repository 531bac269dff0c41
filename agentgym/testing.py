"""Conformance checks every environment must pass (a dm_env-style test kit).

A new family's test can be a few lines::

    from agentgym.testing import check_agent_env

    def test_my_env_conforms():
        check_agent_env("MyEnv-v0")

:func:`check_agent_env` runs gymnasium's ``check_env``, feeds malformed actions
(each must give an observation, ``action_valid=False`` and the penalty, never an
exception), checks the ``info`` contract on reset/step/end, max-turn
truncation, and — when the family has an oracle — runs a seeded oracle episode
twice and requires the same transcript, then runs the oracle over several seeds
at every difficulty and requires it to succeed.

The oracle must succeed: an expert that always answers wrong passes every
other check, and the trainer's warm starts and the evaluation's reference rows
rely on it. A family whose oracle is not perfect (a heuristic, a search with a
budget, a noisy simulator it cannot see through) declares the rate it reaches
as :attr:`AgentEnv.oracle_success_rate <agentgym.AgentEnv.oracle_success_rate>`
(a class attribute, or set on the instance when it depends on the
constructor's arguments); the check then fails only when the observed
successes are improbably few for that rate (one-sided binomial test at
:data:`ORACLE_P_VALUE`). An env without an answer to show (a remote task whose
server keeps it, ``answer`` None or ``""``) skips the "answer never shown" check.
"""

from __future__ import annotations

import math
from typing import Any

from gymnasium.utils.env_checker import check_env

from agentgym.env import AgentEnv
from agentgym.registry import make

__all__ = ["check_agent_env", "check_oracle_success", "MALFORMED_ACTIONS", "ORACLE_P_VALUE", "run_scripted_episode"]

MALFORMED_ACTIONS: tuple[str, ...] = (
    "",
    "I am not sure what to do.",
    '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>',
    '<tool_call>{"name": "broken json" </tool_call>',
    '<tool_call>{"arguments": {}}</tool_call>',
    "no_such_tool(1, 2)",
    "\x00\xff\ud800 héllo 😀",
    "{" * 10_000,
    "(" * 10_000,
    "x" * 100_000,
)

ORACLE_P_VALUE = 1e-3
"""The oracle check fails when so few successes would happen with probability
below this, had the oracle its declared success rate."""

RESET_KEYS = {"task_id", "system", "tools", "anchor"}
STEP_KEYS = {"task_id", "anchor", "action_valid", "reward_parts"}


def _as_env(env_or_id: AgentEnv | str, **kwargs: Any) -> AgentEnv:
    return make(env_or_id, **kwargs) if isinstance(env_or_id, str) else env_or_id


def run_scripted_episode(env: AgentEnv, seed: int, name: str = "oracle", options: dict | None = None) -> list[tuple]:
    """Run one episode of a scripted policy; return its transcript."""
    obs, info = env.reset(seed=seed, options=options)
    transcript: list[tuple] = [(obs, info["anchor"])]
    done = False
    while not done:
        action = env.scripted_action(name)
        obs, reward, terminated, truncated, info = env.step(action)
        transcript.append((action, obs, reward, terminated, truncated, info["anchor"], info["action_valid"]))
        done = terminated or truncated
    transcript.append(info["metrics"])
    return transcript


def _known_answer(answer: Any) -> str | None:
    """The task's answer when there is one to hide; None when it is absent
    (None, or ``""``/blank: an empty string is "in" every text)."""
    return answer if isinstance(answer, str) and answer.strip() else None


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if p >= 1.0:
        return 0.0 if k < n else 1.0
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def check_oracle_success(env: AgentEnv, *, seeds: range | list[int] = range(4)) -> dict[str, float]:
    """Run the ``"oracle"`` scripted policy on each seed at every difficulty of
    the env's task generator and assert that it succeeds as often as the env
    declares (:attr:`AgentEnv.oracle_success_rate`, default 1.0: always).

    Returns the observed success rate per difficulty. The env's own difficulty
    is played as built; the others through ``reset(options={"difficulty": d})``
    (so an env instance, a remote one included, is checked at every level).
    Episodes must end by ``terminated`` or ``truncated`` within ``max_turns``.

    >>> import agentgym
    >>> check_oracle_success(agentgym.make("GuessNumber-v0"), seeds=[0, 1])
    {'easy': 1.0, 'medium': 1.0, 'hard': 1.0}
    """
    expected = float(getattr(env, "oracle_success_rate", 1.0))
    assert 0.0 <= expected <= 1.0, f"oracle_success_rate must be in [0, 1], got {expected}"
    levels = list(getattr(env.generator, "difficulties", ()) or ())
    if env.difficulty not in levels:  # a remote env's generator does not list the server's levels
        levels = [env.difficulty]
    rates: dict[str, float] = {}
    wins = total = 0
    for level in levels:
        options = None if level == env.difficulty else {"difficulty": level}
        won = 0
        for s in seeds:
            metrics = run_scripted_episode(env, s, options=options)[-1]
            won += int(metrics["success"] == 1.0)
        rates[str(level)] = won / len(seeds)
        wins, total = wins + won, total + len(seeds)
    if _binomial_cdf(wins, total, expected) < ORACLE_P_VALUE:
        raise AssertionError(
            f"the oracle of {type(env).__name__} succeeded in {wins} of {total} episodes "
            f"(per difficulty: {rates}); it is declared to succeed at rate {expected}. Fix the oracle, or, if it "
            "cannot be perfect, declare its rate: oracle_success_rate = <measured rate> on the env class."
        )
    return rates


def check_agent_env(
    env_or_id: AgentEnv | str, *, seed: int = 0, oracle_seeds: range | list[int] = range(4), **kwargs: Any
) -> None:
    """Assert that an environment honours the :class:`AgentEnv` contract.

    Args:
        env_or_id: An env, or a registered id (built with ``kwargs``).
        seed: The seed of the single-episode checks.
        oracle_seeds: Seeds of the oracle-success check, run at every
            difficulty (see :func:`check_oracle_success`); empty to skip it.
    """
    env = _as_env(env_or_id, **kwargs)
    assert isinstance(env, AgentEnv), f"{env!r} is not an AgentEnv"
    check_env(env, skip_render_check=True)

    obs, info = env.reset(seed=seed)
    assert isinstance(obs, str) and obs, "reset must return a non-empty observation"
    missing = RESET_KEYS - set(info)
    assert not missing, f"reset info lacks {missing}"
    assert isinstance(info["anchor"], str), "anchors are strings (they must serialize and compare)"
    assert info["tools"] and all(t["type"] == "function" for t in info["tools"])
    assert env.task is not None, "reset must set env.task"
    answer = _known_answer(env.task.answer)
    assert answer is None or answer not in obs, "the answer must never be shown to the agent"

    for action in MALFORMED_ACTIONS:
        env.reset(seed=seed)
        obs, reward, terminated, truncated, info = env.step(action)
        assert isinstance(obs, str) and obs.startswith("Error"), f"malformed action {action[:40]!r} gave {obs[:80]!r}"
        assert info["action_valid"] is False and "error" in info
        assert abs(reward - sum(info["reward_parts"].values())) < 1e-9
        assert reward == -env.invalid_action_penalty
        assert not STEP_KEYS - set(info)

    # Max-turn truncation: invalid actions until the limit.
    env.reset(seed=seed)
    for turn in range(1, env.max_turns + 1):
        obs, reward, terminated, truncated, info = env.step("not a call")
        if turn < env.max_turns:
            assert not (terminated or truncated)
    assert truncated and not terminated
    metrics = info["metrics"]
    assert metrics["success"] == 0.0 and metrics["turns"] == env.max_turns
    assert metrics["invalid_actions"] == env.max_turns
    assert "answer" in info

    if "oracle" in env.scripted_policies:
        first = run_scripted_episode(env, seed)
        second = run_scripted_episode(env, seed)
        assert first == second, "the same seed must give the same oracle transcript"
        assert all(step[-1] for step in first[1:-1]), "the oracle took an invalid action"
        if oracle_seeds:
            check_oracle_success(env, seeds=oracle_seeds)
