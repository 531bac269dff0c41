"""Conformance checks every environment must pass (a dm_env-style test kit).

A new family's test can be a few lines::

    from agentgym.testing import check_agent_env

    def test_my_env_conforms():
        check_agent_env("MyEnv-v0")

:func:`check_agent_env` runs gymnasium's ``check_env``, feeds malformed actions
(each must give an observation, ``action_valid=False`` and the penalty, never an
exception), checks the ``info`` contract on reset/step/end, max-turn
truncation, and — when the family has an oracle — runs a seeded oracle episode
twice and requires the same transcript.
"""

from __future__ import annotations

from typing import Any

from gymnasium.utils.env_checker import check_env

from agentgym.env import AgentEnv
from agentgym.registry import make

__all__ = ["check_agent_env", "MALFORMED_ACTIONS", "run_scripted_episode"]

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


def check_agent_env(env_or_id: AgentEnv | str, *, seed: int = 0, **kwargs: Any) -> None:
    """Assert that an environment honours the :class:`AgentEnv` contract."""
    env = _as_env(env_or_id, **kwargs)
    assert isinstance(env, AgentEnv), f"{env!r} is not an AgentEnv"
    check_env(env, skip_render_check=True)

    obs, info = env.reset(seed=seed)
    assert isinstance(obs, str) and obs, "reset must return a non-empty observation"
    missing = RESET_KEYS - set(info)
    assert not missing, f"reset info lacks {missing}"
    assert isinstance(info["anchor"], str), "anchors are strings (they must serialize and compare)"
    assert info["tools"] and all(t["type"] == "function" for t in info["tools"])
    assert env.task is not None and env.task.answer not in obs, "the answer must never be shown to the agent"

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
