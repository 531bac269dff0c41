"""Fixtures of the reward tests."""

from __future__ import annotations

import pytest

from agentgym.rewards.scripted import OverlapJudge

from .helpers import ScriptedBackend


@pytest.fixture
def overlap() -> ScriptedBackend:
    judge = OverlapJudge()
    return ScriptedBackend(lambda s, n: f"Looks right.\nVERDICT: {'YES' if judge.grade(s) else 'NO'}")
