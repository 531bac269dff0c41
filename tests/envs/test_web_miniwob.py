"""MiniWoB-v0: the miniwob package's task pages in Chromium, graded by their own JavaScript."""

from __future__ import annotations

import importlib.util

import pytest

from agentgym.envs.web.browser import browser_available
from agentgym.envs.web.miniwob import SOLVERS, TASKS, MiniWoBEnv
from agentgym.errors import ConfigError
from agentgym.tools import ToolCall

_MISSING = browser_available() or (None if importlib.util.find_spec("miniwob") else
                                    "the miniwob package is missing (pip install --no-deps miniwob)")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_MISSING is not None, reason=f"MiniWoB unavailable: {_MISSING}")]


def test_text_mode_and_unknown_tasks_are_refused() -> None:
    with pytest.raises(ConfigError, match="browser"):
        MiniWoBEnv(task="click-button", mode="text")
    with pytest.raises(ConfigError, match="Did you mean 'click-button'"):
        MiniWoBEnv(task="click-buton")


@pytest.mark.slow
def test_every_registered_task_loads_with_an_instruction_and_elements() -> None:
    assert len(TASKS) >= 20
    for task in TASKS:
        env = MiniWoBEnv(task=task, split="val")
        try:
            obs, info = env.reset(options={"task_index": 0})
            assert env.utterance and obs.startswith(f"Task: {env.utterance}"), task
            assert any(e.visible and e.id > 0 for e in env.client.page.elements.values()), task
        finally:
            env.close()


@pytest.mark.parametrize("task", sorted(SOLVERS))
def test_scripted_solver_reaches_the_pages_success_reward(task: str) -> None:
    env = MiniWoBEnv(task=task, split="val")
    try:
        for index in range(2):
            env.reset(options={"task_index": index})
            done, info = False, {}
            while not done:
                *_, terminated, truncated, info = env.step(env.scripted_action())
                assert info["action_valid"], info
                done = terminated or truncated
            assert terminated and info["metrics"]["page_reward"] == 1.0 and info["metrics"]["success"] == 1.0
            assert info["reward_parts"] == {"task": 1.0}
    finally:
        env.close()


def test_a_wrong_click_gets_the_pages_failure_reward() -> None:
    env = MiniWoBEnv(task="click-button", split="val")
    try:
        env.reset(options={"task_index": 0})
        target = SOLVERS["click-button"](env, env.utterance)
        wrong = next(e for e in env.client.page.elements.values()
                     if e.kind == "button" and ToolCall("click", {"element": e.id}).render() != target)
        obs, reward, terminated, truncated, info = env.step(ToolCall("click", {"element": wrong.id}).render())
        assert terminated and reward == -1.0 and info["metrics"]["success"] == 0.0
        assert "reward -1" in obs
    finally:
        env.close()
