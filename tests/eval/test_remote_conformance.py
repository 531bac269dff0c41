"""The conformance kit on a served env: ``check_agent_env(RemoteEnv(...))`` (issue 13,
item 7): an answer the server does not send is absent, not ``""``."""

from __future__ import annotations

from agentgym.remote import RemoteEnv
from agentgym.server import create_app, serve_in_thread


def test_check_agent_env_passes_on_a_remote_env(server_url):
    from agentgym.testing import check_agent_env

    with RemoteEnv(server_url, "GuessNumber-v0", split="val") as env:  # privileged: the oracle runs too
        assert "oracle" in env.scripted_policies and env.privileged
        check_agent_env(env)


def test_check_agent_env_passes_on_an_unprivileged_remote_env():
    from agentgym.testing import check_agent_env

    with serve_in_thread(create_app("GuessNumber-v0")) as url, RemoteEnv(url, "GuessNumber-v0") as env:
        assert env.scripted_policies == {} and not env.privileged  # nothing it may not call
        env.reset(seed=0)
        assert env.task is not None and env.task.answer is None  # absent, not ""
        check_agent_env(env)
