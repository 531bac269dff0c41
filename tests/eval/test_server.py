"""The env server: sessions, errors, cap, TTL, exactly-once steps, OpenAPI."""

from __future__ import annotations

import time

import httpx
import pytest

from agentgym.server import create_app, serve_in_thread


def _open(c: httpx.Client, env_id: str = "GuessNumber-v0", **kwargs) -> str:
    r = c.post("/sessions", json={"env_id": env_id, "kwargs": kwargs})
    assert r.status_code == 201, r.text
    return r.json()["session_id"]


def test_session_lifecycle_matches_a_local_env(server_url):
    import agentgym

    local = agentgym.make("GuessNumber-v0", split="val")
    obs_local, _ = local.reset(seed=3, options={"task_index": 5})
    with httpx.Client(base_url=server_url) as c:
        sid = _open(c, split="val")
        info = c.get(f"/sessions/{sid}").json()
        assert info["split"] == "val" and info["tools"][0]["function"]["name"] == "guess"
        r = c.post(f"/sessions/{sid}/reset", json={"seed": 3, "options": {"task_index": 5}}).json()
        assert r["observation"] == obs_local and r["info"]["task_id"] == "guess_number/val/easy/5"
        done, turn = False, 0
        while not done:
            action = c.post(f"/sessions/{sid}/scripted", params={"name": "oracle"}).json()["action"]
            assert action == local.scripted_action("oracle")
            turn += 1
            s = c.post(f"/sessions/{sid}/step", json={"action": action, "episode": r["episode"], "turn": turn}).json()
            expected = local.step(action)
            assert (s["observation"], s["reward"], s["terminated"], s["truncated"]) == expected[:4]
            done = s["terminated"] or s["truncated"]
        assert s["info"]["metrics"]["success"] == 1.0
        assert c.delete(f"/sessions/{sid}").status_code == 204
        assert c.post(f"/sessions/{sid}/reset", json={}).status_code == 404


def test_bad_requests_get_4xx_with_a_message(server_url):
    with httpx.Client(base_url=server_url) as c:
        r = c.post("/sessions", json={"env_id": "GuessNumbr-v0"})
        assert r.status_code == 404 and "GuessNumber-v0" in r.json()["message"]
        r = c.post("/sessions", json={"env_id": "GuessNumber-v0", "kwargs": {"split": "nope"}})
        assert r.status_code == 400 and "split" in r.json()["message"]
        r = c.post("/sessions", json={"kwargs": {}})  # two envs served: env_id needed
        assert r.status_code == 400 and "env_id" in r.json()["message"]
        sid = _open(c)
        r = c.post(f"/sessions/{sid}/step", json={"action": "guess(1)"})
        assert r.status_code == 409 and "reset" in r.json()["message"]
        r = c.post(f"/sessions/{sid}/reset", json={"seed": "not a number"})
        assert r.status_code == 422 and "seed" in r.json()["message"]
        r = c.post(f"/sessions/{sid}/step", json={})
        assert r.status_code == 422 and "action" in r.json()["message"]
        r = c.post(f"/sessions/{sid}/reset", json={"options": {"task": {"prompt": "no id"}}})
        assert r.status_code == 400 and "options.task" in r.json()["message"]
        assert c.get(f"/sessions/{sid}").status_code == 200  # a bad request does not end the session
        c.post(f"/sessions/{sid}/reset", json={"seed": 0})
        r = c.post(f"/sessions/{sid}/scripted", params={"name": "genius"})
        assert r.status_code == 400 and "oracle" in r.json()["message"]
        # An agent's malformed action is an observation, not an HTTP error.
        r = c.post(f"/sessions/{sid}/step", json={"action": "gibberish"})
        assert r.status_code == 200 and r.json()["info"]["action_valid"] is False
        assert c.get("/sessions/does-not-exist").status_code == 404


def test_env_exception_ends_only_that_session(server_url):
    with httpx.Client(base_url=server_url) as c:
        bad, good = _open(c, "TestCrashy-v0"), _open(c, "TestCrashy-v0")
        for sid in (bad, good):
            c.post(f"/sessions/{sid}/reset", json={"seed": 0})
        r = c.post(f"/sessions/{bad}/step", json={"action": "crash"})
        assert r.status_code == 500
        assert "simulated env bug" in r.json()["message"] and r.json()["error"] == "env_error"
        assert c.get(f"/sessions/{bad}").status_code == 404  # closed
        r = c.post(f"/sessions/{good}/step", json={"action": '{"name": "guess", "arguments": {"number": 1}}'})
        assert r.status_code == 200  # the other session lives on
        assert c.get("/health").json()["status"] == "ok"


def test_retried_step_is_answered_once(server_url):
    with httpx.Client(base_url=server_url) as c:
        sid = _open(c)
        ep = c.post(f"/sessions/{sid}/reset", json={"seed": 0}).json()["episode"]
        body = {"action": "gibberish", "episode": ep, "turn": 1}
        first = c.post(f"/sessions/{sid}/step", json=body).json()
        again = c.post(f"/sessions/{sid}/step", json=body).json()
        assert first == again and again["turn"] == 1  # not stepped twice
        r = c.post(f"/sessions/{sid}/step", json={**body, "turn": 5})
        assert r.status_code == 409


def test_session_cap_and_ttl():
    app = create_app("GuessNumber-v0", max_sessions=2, session_ttl=0.3)
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as c:
        a, _ = _open(c), _open(c)
        r = c.post("/sessions", json={})
        assert r.status_code == 429 and "cap is 2" in r.json()["message"]
        time.sleep(0.5)  # both idle past the TTL
        assert c.get(f"/sessions/{a}").status_code == 404
        assert c.post("/sessions", json={}).status_code == 201
        assert c.get("/health").json()["sessions"] == 1


def test_openapi_document_lists_the_endpoints(server_url):
    doc = httpx.get(server_url + "/openapi.json").json()
    paths = doc["paths"]
    for p in ["/sessions", "/sessions/{sid}/reset", "/sessions/{sid}/step", "/sessions/{sid}/scripted", "/envs"]:
        assert p in paths
    assert "StepRequest" in doc["components"]["schemas"]
    envs = httpx.get(server_url + "/envs").json()
    assert {e["env_id"] for e in envs} == {"agentgym/GuessNumber-v0", "agentgym/TestCrashy-v0"}


def test_unknown_env_id_refused_at_start():
    from agentgym.errors import UnknownEnvError

    with pytest.raises(UnknownEnvError, match="Did you mean"):
        create_app("GuessNumbr-v0")
