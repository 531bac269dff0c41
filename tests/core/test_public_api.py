"""The top level is the user's API; everything else lives in its module."""

from __future__ import annotations

import subprocess
import sys

import pytest

import agentgym

USER_API = {"make", "register", "list_envs", "AgentEnv", "tool", "Task", "TaskGenerator", "Trajectory", "Turn",
            "Policy", "load_policy", "get_suite", "evaluate", "train", "errors"}


def test_the_top_level_is_what_a_user_types() -> None:
    assert set(agentgym.__all__) == USER_API
    assert set(dir(agentgym)) == USER_API
    from agentgym.evaluation import evaluate
    from agentgym.train import SFTConfig, TrainConfig, sft, train

    assert agentgym.evaluate is evaluate
    assert agentgym.train.train is train and agentgym.train.sft is sft and callable(sft)
    assert agentgym.train.TrainConfig is TrainConfig and agentgym.train.SFTConfig is SFTConfig
    assert issubclass(agentgym.errors.InvalidActionError, agentgym.errors.AgentGymError)


def test_moved_names_still_work_with_a_deprecation_warning() -> None:
    from agentgym.suites import SuiteEntry

    with pytest.warns(DeprecationWarning, match="from agentgym.suites import SuiteEntry"):
        assert agentgym.SuiteEntry is SuiteEntry
    with pytest.raises(AttributeError, match="gymnasium.spec"):
        agentgym.spec  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        agentgym.nope  # noqa: B018


def test_our_own_code_uses_no_moved_name() -> None:
    """Importing every env family and running an episode emits no agentgym deprecation."""
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning); import agentgym; "
            "[agentgym.make(s.id).reset(seed=0) for s in agentgym.list_envs()]")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
