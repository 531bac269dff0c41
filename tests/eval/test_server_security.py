"""The env server does not hand out the answers (issue 12, item 9): privileged
routes off by default, tasks without answers, a bearer token on every route,
and no listening beyond loopback without one."""

from __future__ import annotations

import httpx
import pytest

import agentgym
from agentgym.errors import ConfigError, RemoteEnvError
from agentgym.policies.scripted import OraclePolicy
from agentgym.remote import TOKEN_ENV, RemoteEnv
from agentgym.rollout import collect
from agentgym.server import check_exposure, create_app, serve_in_thread

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def plain_url():
    """Not privileged, no token (loopback): the default `agentgym serve`."""
    with serve_in_thread(create_app("GuessNumber-v0")) as url:
        yield url


@pytest.fixture(scope="module")
def token_url():
    with serve_in_thread(create_app("GuessNumber-v0", token=TOKEN)) as url:
        yield url


def _session(c: httpx.Client, **headers: str) -> str:
    r = c.post("/sessions", json={"env_id": "GuessNumber-v0", "kwargs": {"split": "val"}}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["session_id"]


# ---------------------------------------------------------------------------
# Privileged routes
# ---------------------------------------------------------------------------
def test_scripted_actions_are_refused_unless_privileged(plain_url) -> None:
    with httpx.Client(base_url=plain_url) as c:
        sid = _session(c)
        c.post(f"/sessions/{sid}/reset", json={"seed": 0, "options": {"task_index": 1}})
        r = c.post(f"/sessions/{sid}/scripted", params={"name": "oracle"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden" and "--privileged" in r.json()["message"]
    env = RemoteEnv(plain_url, "GuessNumber-v0", split="val")
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="--privileged"):
        env.scripted_action("oracle")
    env.close()


def test_task_responses_hold_no_answer_and_no_meta_unless_privileged(plain_url, server_url) -> None:
    local = agentgym.make("GuessNumber-v0", split="val").unwrapped.task_at(4)
    with httpx.Client(base_url=plain_url) as c:
        sid = _session(c)
        body = c.get(f"/sessions/{sid}/tasks/4").json()
        assert body == {"id": local.id, "prompt": local.prompt}
        assert str(local.meta["secret"]) not in c.get(f"/sessions/{sid}/tasks/4").text
    with httpx.Client(base_url=server_url) as c:  # the privileged test server
        sid = _session(c)
        body = c.get(f"/sessions/{sid}/tasks/4").json()
        assert body["answer"] == local.answer and body["meta"]["secret"] == local.meta["secret"]
    remote = RemoteEnv(plain_url, "GuessNumber-v0", split="val")
    task = remote.task_at(4)
    # Absent, not "": an empty answer would be "in" every observation.
    assert (task.id, task.prompt, task.answer, dict(task.meta)) == (local.id, local.prompt, None, {})
    remote.close()


def test_unprivileged_remote_envs_still_run_rollouts_by_task_index(plain_url) -> None:
    from agentgym.evaluation import evaluate
    from agentgym.suites import SuiteEntry

    res = evaluate("random", [SuiteEntry("GuessNumber-v0", "val", 3)], episodes_per_task=2, remote=plain_url)
    local = evaluate("random", [SuiteEntry("GuessNumber-v0", "val", 3)], episodes_per_task=2)
    assert res == local
    # The answer arrives, as locally, with the episode's last step.
    envs = [RemoteEnv(plain_url, "GuessNumber-v0", split="val", max_turns=2)]
    t = collect(envs, agentgym.load_policy("random"), tasks=1, split="val")[0]
    assert t.truncated and t.answer == agentgym.make("GuessNumber-v0", split="val").unwrapped.task_at(0).answer
    with pytest.raises(ConfigError, match="--privileged"):  # the oracle needs a privileged server
        collect(envs, OraclePolicy(), tasks=1, split="val")
    envs[0].close()


# ---------------------------------------------------------------------------
# The token
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("route", ["GET /health", "GET /envs", "POST /sessions", "GET /sessions", "GET /sessions/x",
                                   "POST /sessions/x/reset", "POST /sessions/x/step", "POST /sessions/x/scripted",
                                   "GET /sessions/x/tasks/0", "GET /sessions/x/render", "DELETE /sessions/x",
                                   "GET /openapi.json", "GET /docs"])
def test_every_route_wants_the_token(token_url, route: str) -> None:
    method, path = route.split()
    with httpx.Client(base_url=token_url) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                        {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer"}):
            r = c.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (route, headers, r.status_code)
            assert r.json()["error"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
        r = c.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"}, json={})
        assert r.status_code != 401


def test_remote_env_sends_the_token_from_argument_or_environment(token_url, monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(RemoteEnvError, match="wants a token") as e:
        RemoteEnv(token_url, "GuessNumber-v0", retries=0)
    assert e.value.status == 401
    with pytest.raises(RemoteEnvError, match="token was wrong"):
        RemoteEnv(token_url, "GuessNumber-v0", token="nope", retries=0)
    env = RemoteEnv(token_url, "GuessNumber-v0", token=TOKEN)
    obs, info = env.reset(seed=0, options={"task_index": 2})
    assert info["task_id"] == "guess_number/train/easy/2" and env.task_at(2).id == info["task_id"]
    env.close()
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    env = RemoteEnv(token_url, "GuessNumber-v0")
    env.reset(seed=0)
    env.step("guess(number=1)")
    env.close()


# ---------------------------------------------------------------------------
# Exposure
# ---------------------------------------------------------------------------
def test_no_listening_beyond_loopback_without_a_token() -> None:
    for host in ("0.0.0.0", "::", "10.1.2.3", "envhost"):
        with pytest.raises(ConfigError, match="without a token"):
            check_exposure(host, None)
        check_exposure(host, TOKEN)
    for host in ("127.0.0.1", "127.0.1.1", "localhost", "::1"):
        check_exposure(host, None)
    with pytest.raises(ConfigError, match="without a token"):
        with serve_in_thread(create_app("GuessNumber-v0"), host="0.0.0.0"):
            pass


def test_cli_serve_refuses_0_0_0_0_without_a_token(monkeypatch, capsys) -> None:
    import uvicorn

    from agentgym.cli import main

    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append({"app": app, **kw}))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert main(["serve", "GuessNumber-v0", "--host", "0.0.0.0"]) == 1
    assert not started and "without a token" in capsys.readouterr().err
    assert main(["serve", "GuessNumber-v0", "--host", "0.0.0.0", "--token", TOKEN]) == 0
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert main(["serve", "GuessNumber-v0", "--host", "0.0.0.0", "--privileged"]) == 0
    assert [s["host"] for s in started] == ["0.0.0.0", "0.0.0.0"]
    assert [s["app"].state.token for s in started] == [TOKEN, TOKEN]
    assert [s["app"].state.privileged for s in started] == [False, True]
    assert main(["serve", "GuessNumber-v0"]) == 0  # loopback: no token needed
    assert started[-1]["host"] == "127.0.0.1" and not started[-1]["app"].state.privileged
