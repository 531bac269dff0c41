"""RemoteEnv: an AgentEnv over HTTP (check_env, oracle, retries, reconnection)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from gymnasium.utils.env_checker import check_env

import agentgym
from agentgym.errors import ConfigError, EnvStateError, RemoteEnvError
from agentgym.remote import RemoteEnv
from agentgym.server import create_app, serve_in_thread


def _play(env, seed: int, index: int) -> list[tuple]:
    obs, info = env.reset(seed=seed, options={"task_index": index})
    out = [(obs, info["task_id"], info["anchor"])]
    done = False
    while not done:
        obs, reward, term, trunc, info = env.step(env.scripted_action("oracle"))
        out.append((obs, reward, term, trunc, info["anchor"], info.get("metrics")))
        done = term or trunc
    return out


def test_remote_env_passes_check_env(server_url):
    env = RemoteEnv(server_url, "GuessNumber-v0", split="val")
    assert isinstance(env, agentgym.AgentEnv)
    check_env(env, skip_render_check=True)
    env.close()


def test_remote_episode_equals_local_episode(server_url):
    remote = RemoteEnv(server_url, "GuessNumber-v0", split="val", difficulty="medium")
    local = agentgym.make("GuessNumber-v0", split="val", difficulty="medium")
    assert remote.tools == local.tools and remote.max_turns == local.max_turns
    assert _play(remote, 7, 11) == _play(local, 7, 11)
    assert remote.generator.task("val", 11, "medium") == local.generator.task("val", 11, "medium")
    remote.close()


def test_remote_errors_map_to_local_exceptions(server_url):
    env = RemoteEnv(server_url, "GuessNumber-v0")
    with pytest.raises(EnvStateError):
        env.step("guess(1)")
    with pytest.raises(ConfigError, match="oracle"):
        env.reset(seed=0)
        env.scripted_action("genius")
    with pytest.raises(ConfigError, match="split"):
        RemoteEnv(server_url, "GuessNumber-v0", split="nope")
    crashy = RemoteEnv(server_url, "TestCrashy-v0")
    crashy.reset(seed=0)
    with pytest.raises(RemoteEnvError, match="simulated env bug"):
        crashy.step("crash")
    env.close()
    crashy.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_remote_env_retries_until_the_server_is_up_and_reconnects_after_a_restart():
    port = _free_port()
    app = create_app("GuessNumber-v0", privileged=True)  # _play asks for the oracle's actions
    holder: dict = {}

    def start_late() -> None:
        time.sleep(0.6)
        holder["cm"] = serve_in_thread(app, port=port)
        holder["url"] = holder["cm"].__enter__()

    t = threading.Thread(target=start_late)
    t.start()
    # The server is not up yet: the constructor retries (connection refused) until it is.
    env = RemoteEnv(f"http://127.0.0.1:{port}", "GuessNumber-v0", retries=8, backoff=0.1)
    t.join()
    first = _play(env, 1, 2)
    old_session = env.session_id
    holder["cm"].__exit__(None, None, None)  # the server goes away: its sessions are lost
    with serve_in_thread(create_app("GuessNumber-v0", privileged=True), port=port):
        assert _play(env, 1, 2) == first  # reset opened a new session transparently
        assert env.session_id != old_session
        env.close()


def test_unreachable_server_raises_with_a_fix():
    with pytest.raises(RemoteEnvError, match="agentgym serve"):
        RemoteEnv(f"http://127.0.0.1:{_free_port()}", "GuessNumber-v0", retries=1, backoff=0.01)
