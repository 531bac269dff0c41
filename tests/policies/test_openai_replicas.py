"""OpenAIPolicy over several endpoints: two real local HTTP servers (threads on
loopback) answering /v1/chat/completions and /v1/models."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentgym.policies.openai import OpenAIPolicy, from_spec


class _Server:
    def __init__(self, name: str) -> None:
        self.name, self.chats, self.status = name, 0, 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(server.status, {"data": [{"id": "m"}]})

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                server.chats += 1
                if server.status != 200:
                    return self._send(server.status, {"error": "down"})
                self._send(200, {"choices": [{"message": {"content": f"from {server.name}"}, "finish_reason": "stop"}]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    pair = [_Server("a"), _Server("b")]
    yield pair
    for s in pair:
        s.close()


CONV = [[{"role": "user", "content": "hi"}]] * 8


def test_requests_are_spread_over_the_endpoints(servers):
    policy = OpenAIPolicy([s.url for s in servers], "m", concurrency=1)
    out = policy.act(CONV, [[]] * 8)
    assert {c.text for c in out} == {"from a", "from b"}
    assert [s.chats for s in servers] == [4, 4]
    assert policy.check_health() == [True, True]
    policy.close()


def test_a_failing_endpoint_rests_and_comes_back_after_its_health_check(servers):
    a, b = servers
    a.status = 503
    policy = OpenAIPolicy([a.url, b.url], "m", concurrency=2, health_cooldown=60.0, backoff=0.01)
    out = policy.act(CONV, [[]] * 8)
    assert all(c.text == "from b" for c in out)  # no error reached the rollout
    assert a.chats <= 2  # once it failed, it rested
    assert policy.check_health() == [False, True]
    # Back up: after its rest, the health check lets it take work again.
    a.status, policy.health_cooldown = 200, 0.0
    policy._down_until[0] = 1e-9  # rest over
    out = policy.act(CONV, [[]] * 8)
    assert {c.text for c in out} == {"from a", "from b"}
    policy.close()


def test_every_endpoint_down_is_an_error_completion_not_an_exception(servers):
    for s in servers:
        s.status = 500
    policy = OpenAIPolicy([s.url for s in servers], "m", max_retries=2, backoff=0.01, max_backoff=0.02)
    (c,) = policy.act(CONV[:1], [[]])
    assert c.finish_reason == "error" and "HTTP 500" in c.error
    policy.close()


def test_spec_takes_several_urls(servers):
    policy = from_spec(f"{servers[0].url},{servers[1].url}#m")
    assert policy.base_urls == [servers[0].url, servers[1].url]
    policy.close()
