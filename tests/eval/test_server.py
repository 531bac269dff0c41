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


# ---------------------------------------------------------------------------
# Issue 13: operators' session list, one error shape, empty bodies, task indices
# ---------------------------------------------------------------------------
def test_session_list_shows_ages_and_full_ids_only_when_privileged():
    for privileged in (True, False):
        app = create_app("GuessNumber-v0", session_ttl=60.0, privileged=privileged)
        with serve_in_thread(app) as url, httpx.Client(base_url=url) as c:
            assert c.get("/sessions").json()["sessions"] == []
            old = _open(c)
            time.sleep(0.15)
            new = _open(c)
            c.post(f"/sessions/{old}/reset", json={"seed": 0})
            c.post(f"/sessions/{old}/step", json={"action": "guess(1)"})
            body = c.get("/sessions").json()
            assert body["count"] == 2 and body["max_sessions"] == 256 and body["session_ttl"] == 60.0
            first, second = body["sessions"]  # oldest first
            assert first["short_id"] == old[:8] and second["short_id"] == new[:8]
            # Ages are taken at one instant: they differ by at least the pause between the openings.
            assert first["age_s"] - second["age_s"] >= 0.15 and second["age_s"] >= 0
            assert first["idle_s"] < first["age_s"] and (first["episode"], first["turn"]) == (1, 1)
            assert first["env_id"] == "agentgym/GuessNumber-v0" and first["busy"] is False
            # A session id is the key to drive that session: listed in full only when privileged.
            assert [s["session_id"] for s in body["sessions"]] == ([old, new] if privileged else [None, None])
            assert (old in c.get("/sessions").text) is privileged
            c.delete(f"/sessions/{old}")
            assert [s["short_id"] for s in c.get("/sessions").json()["sessions"]] == [new[:8]]


@pytest.mark.parametrize(
    "method, path, status, kind",
    [
        ("PUT", "/sessions", 405, "method_not_allowed"),
        ("GET", "/sessions/{sid}/step", 405, "method_not_allowed"),
        ("POST", "/health", 405, "method_not_allowed"),
        ("GET", "/no/such/route", 404, "not_found"),
        ("GET", "/sessions/{sid}/tasks/not-a-number", 422, "bad_request"),
        ("POST", "/sessions/nope/reset", 404, "unknown_session"),
    ],
)
def test_every_error_uses_the_documented_shape(server_url, method, path, status, kind):
    with httpx.Client(base_url=server_url) as c:
        sid = _open(c)
        r = c.request(method, path.format(sid=sid))
        assert r.status_code == status, r.text
        body = r.json()
        assert set(body) == {"error", "message"} and body["error"] == kind and body["message"]
        if status == 405:
            assert method in body["message"] and "takes" in body["message"]


def test_reset_and_open_with_an_empty_body_use_the_defaults():
    import agentgym

    with serve_in_thread(create_app("GuessNumber-v0")) as url, httpx.Client(base_url=url) as c:
        r = c.post("/sessions")  # no body at all: the only env served, default kwargs
        assert r.status_code == 201, r.text
        sid = r.json()["session_id"]
        assert r.json()["split"] == "train" and r.json()["privileged"] is False
        for kwargs in ({}, {"content": b"", "headers": {"content-type": "application/json"}}, {"json": None}):
            r = c.post(f"/sessions/{sid}/reset", **kwargs)
            assert r.status_code == 200, (kwargs, r.text)
            assert r.json()["observation"].startswith(agentgym.make("GuessNumber-v0").reset()[0][:20])
        assert r.json()["episode"] == 3


def test_negative_task_index_is_refused(server_url):
    with httpx.Client(base_url=server_url) as c:
        sid = _open(c)
        r = c.get(f"/sessions/{sid}/tasks/-1")
        assert r.status_code == 422 and r.json()["error"] == "bad_request"
        assert ">= 0" in r.json()["message"] and "-1" in r.json()["message"]
        assert c.get(f"/sessions/{sid}/tasks/0").status_code == 200


def test_render_route_returns_the_env_text(server_url):
    import agentgym

    local = agentgym.make("GuessNumber-v0", render_mode="ansi")
    local.reset(seed=0, options={"task_index": 2})
    local.step("guess(50)")
    with httpx.Client(base_url=server_url) as c:
        sid = _open(c)
        c.post(f"/sessions/{sid}/reset", json={"seed": 0, "options": {"task_index": 2}})
        c.post(f"/sessions/{sid}/step", json={"action": "guess(50)"})
        assert c.get(f"/sessions/{sid}/render").json() == {"text": local.render()}
    assert "/sessions/{sid}/render" in httpx.get(server_url + "/openapi.json").json()["paths"]


def test_serve_help_shows_every_default(capsys):
    import argparse

    from agentgym.cli import main
    from agentgym.cli.serve import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert options and all("(default: " in a.help for a in options), [a.dest for a in options if "default" not in a.help]
    with pytest.raises(SystemExit) as e:
        main(["serve", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 127.0.0.1)", "(default: 8765)", "(default: 256)", "(default: 600)", "(default: info)"):
        assert shown in out
