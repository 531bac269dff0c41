"""Fixtures of the eval/server tests: an env server on a free loopback port."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.envs.guess_number.env import GuessNumberEnv


class CrashyEnv(GuessNumberEnv):
    """GuessNumber whose step raises on the action "crash" (a bug in an env)."""

    def step(self, action):
        if action == "crash":
            raise RuntimeError("simulated env bug")
        return super().step(action)


agentgym.register("TestCrashy-v0", CrashyEnv, description="test double: raises on 'crash'")


@pytest.fixture(scope="module")
def server_url():
    from agentgym.server import create_app, serve_in_thread

    # Privileged: these tests drive remote envs with the oracle (scripted actions).
    app = create_app(["GuessNumber-v0", "TestCrashy-v0"], max_sessions=200, session_ttl=60.0, privileged=True)
    with serve_in_thread(app) as url:
        yield url
