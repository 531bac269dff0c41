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


# ---------------------------------------------------------------------------
# Issue 13: sessions are not leaked; an absent answer stays absent
# ---------------------------------------------------------------------------
def _open_sessions(url: str) -> int:
    import httpx

    return httpx.get(url + "/health").json()["sessions"]


def test_a_remote_env_dropped_without_close_frees_its_session():
    import gc

    app = create_app("GuessNumber-v0", max_sessions=2, session_ttl=600.0)
    with serve_in_thread(app) as url:
        for i in range(6):  # three times the cap: each forgotten client must give its session back
            env = RemoteEnv(url, "GuessNumber-v0", retries=0)
            env.reset(seed=i)
            env.task_at(i)  # the task generator must not keep the env alive
            del env
            gc.collect()
            assert _open_sessions(url) == 0
        with RemoteEnv(url, "GuessNumber-v0") as env:  # `with` closes it
            env.reset(seed=0)
            assert _open_sessions(url) == 1
        assert _open_sessions(url) == 0 and env.session_id is None
        env.close()  # idempotent


def test_a_remote_env_left_open_is_closed_at_interpreter_exit():
    import subprocess
    import sys

    app = create_app("GuessNumber-v0", session_ttl=600.0)
    with serve_in_thread(app) as url:
        code = (
            "from agentgym.remote import RemoteEnv\n"
            f"envs = [RemoteEnv({url!r}, 'GuessNumber-v0') for _ in range(3)]\n"
            "envs[0].reset(seed=0)\n"
            "import agentgym, sys; sys._keep = envs\n"  # alive until the interpreter exits
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
        assert _open_sessions(url) == 0


def test_remote_negative_task_index_is_a_config_error(server_url):
    with RemoteEnv(server_url, "GuessNumber-v0") as env, pytest.raises(ConfigError, match=">= 0"):
        env.task_at(-1)


def test_any_text_crosses_the_wire(server_url):
    """An action or observation with a lone surrogate (a model can write one) is
    sent and answered as JSON escapes, as a local env would take it."""
    import agentgym

    local = agentgym.make("GuessNumber-v0")
    with RemoteEnv(server_url, "GuessNumber-v0") as env:
        for action in ('<tool_call>{"name": "\ud800x", "arguments": {}}</tool_call>', "\x00\xff\ud800 héllo 😀"):
            local.reset(seed=0)
            env.reset(seed=0)
            obs, reward, *_ = env.step(action)
            assert (obs, reward) == local.step(action)[:2] and obs.startswith("Error")


def test_server_answers_text_utf8_cannot_carry(server_url):
    import httpx

    with httpx.Client(base_url=server_url) as c:
        sid = c.post("/sessions", json={"env_id": "GuessNumber-v0"}).json()["session_id"]
        c.post(f"/sessions/{sid}/reset", json={"seed": 0})
        # An env that echoes the action (here the task given in the options) must still be answered.
        r = c.post(f"/sessions/{sid}/reset", content=b'{"options": {"task": {"id": "t\\ud800", "prompt": "p", '
                   b'"answer": "a", "meta": {"low": 1, "high": 3, "secret": 2}}}}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["info"]["task_id"] == "t\ud800"
