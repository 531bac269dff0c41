"""Every registered environment honours the AgentEnv contract."""

from __future__ import annotations

import gymnasium as gym
import pytest

import agentgym
from agentgym.errors import DependencyUnavailableError, EnvStateError
from agentgym.testing import check_agent_env

ENV_IDS = [info.id for info in agentgym.list_envs()]


def test_registry_is_not_empty() -> None:
    assert "agentgym/GuessNumber-v0" in ENV_IDS


def _make(env_id: str):
    """gymnasium.make, skipping an env whose optional package is not installed here."""
    try:
        return gym.make(env_id)
    except DependencyUnavailableError as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_make_works(env_id: str) -> None:
    env = _make(env_id)
    obs, info = env.reset(seed=1)
    assert isinstance(obs, str) and info["task_id"]
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_env_conforms(env_id: str) -> None:
    _make(env_id).close()  # skips an env whose optional package is missing
    check_agent_env(env_id)


def test_step_out_of_order_is_a_user_error() -> None:
    env = agentgym.make("GuessNumber-v0")
    with pytest.raises(EnvStateError, match="reset"):
        env.step("guess(1)")
    env.reset(seed=0)
    for _ in range(env.max_turns):
        env.step("nothing")
    with pytest.raises(EnvStateError, match="episode ended"):
        env.step("guess(1)")


def test_multiple_calls_rejected_unless_allowed() -> None:
    env = agentgym.make("GuessNumber-v0", split="val")
    env.reset(seed=0)
    obs, reward, *_, info = env.step("guess(1) guess(2)")
    assert info["error"] == "multiple_calls" and "exactly one" in obs
    env = agentgym.make("GuessNumber-v0", split="val", allow_multiple_calls=True)
    obs, info = env.reset(seed=0)
    lo, secret = env.task.meta["low"], env.task.meta["secret"]
    obs, *_, info = env.step(f"guess({lo}) guess({lo + 1})")
    assert info["action_valid"]
    # Calls run in order; a call that ends the episode stops the rest.
    assert info["tool_calls"] == (["guess"] if secret == lo else ["guess", "guess"])


def test_invalid_penalty_is_configurable_and_named() -> None:
    env = agentgym.make("GuessNumber-v0", invalid_action_penalty=0.5)
    env.reset(seed=0)
    _, reward, *_, info = env.step("hello")
    assert reward == -0.5 and info["reward_parts"] == {"invalid_action": -0.5}


def test_did_you_mean_on_unknown_tool() -> None:
    env = agentgym.make("GuessNumber-v0")
    env.reset(seed=0)
    obs, *_, info = env.step('<tool_call>{"name": "gues", "arguments": {"number": 3}}</tool_call>')
    assert info["error"] == "unknown_tool" and "Did you mean 'guess'?" in obs


def test_observations_are_clipped() -> None:
    env = agentgym.make("GuessNumber-v0", max_observation_chars=200)
    env.reset(seed=0)
    obs, *_ = env.step("x" * 1000 + "(")
    assert len(obs) <= 200 + 64


def test_task_selection_by_index_and_object() -> None:
    env = agentgym.make("GuessNumber-v0", split="test", difficulty="hard")
    obs_a, info_a = env.reset(options={"task_index": 3})
    obs_b, info_b = env.reset(seed=99, options={"task_index": 3})
    assert info_a["task_id"] == info_b["task_id"] == "guess_number/test/hard/3" and obs_a == obs_b
    task = env.generator.task("val", 0, "easy")
    _, info = env.reset(options={"task": task})
    assert info["task_id"] == task.id


def test_episode_end_carries_metrics_and_answer() -> None:
    env = agentgym.make("GuessNumber-v0", split="val")
    env.reset(seed=3)
    done = False
    while not done:
        *_, terminated, truncated, info = env.step(env.scripted_action("oracle"))
        done = terminated or truncated
    assert terminated and info["metrics"]["success"] == 1.0
    assert info["answer"] == env.task.answer
    assert info["metrics"]["guesses"] <= 4  # binary search over 16 numbers


def test_state_key_is_canonical() -> None:
    """Different guess orders that leave the same interval share an anchor."""
    env = agentgym.make("GuessNumber-v0", split="val")
    # The first val task whose secret leaves room for two wrong low guesses.
    index = next(i for i in range(50) if (t := env.generator.task("val", i, "easy")).meta["secret"] - t.meta["low"] >= 2)
    env.reset(options={"task_index": index})
    hi, secret = env.task.meta["high"], env.task.meta["secret"]
    a, b = secret - 2, secret - 1
    env.step(f"guess({a})")
    *_, info1 = env.step(f"guess({b})")
    env.reset(options={"task_index": index})
    *_, info2 = env.step(f"guess({b})")
    assert info1["anchor"] == info2["anchor"] == f"{b + 1}..{hi}"
    env.reset(options={"task_index": index})
    *_, info3 = env.step(f"guess({a})")
    assert info3["anchor"] != info1["anchor"]  # a different interval, a different anchor


class _NeedsAPackage(agentgym.AgentEnv):
    def __init__(self, **kwargs):
        raise DependencyUnavailableError("needs somepkg: pip install somepkg")


def test_an_env_missing_its_optional_package_is_skipped_with_the_reason() -> None:
    agentgym.register("NeedsAPackage-v0", _NeedsAPackage)
    try:
        with pytest.raises(pytest.skip.Exception, match="pip install somepkg"):
            _make("agentgym/NeedsAPackage-v0")
    finally:
        del gym.registry["agentgym/NeedsAPackage-v0"]  # other tests list the registry
    from agentgym.envs.tools.bfcl.data import BFCLUnavailableError
    from agentgym.envs.tools.tau2.data import Tau2Unavailable

    assert issubclass(Tau2Unavailable, DependencyUnavailableError)
    assert issubclass(BFCLUnavailableError, DependencyUnavailableError)
