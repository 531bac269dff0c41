"""OpenAIPolicy against fake transports and a slow loopback server: request
shape, tool-call mapping, retries with backoff, timeouts, concurrency; and
(marked) against a real `transformers serve`."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import agentgym
from agentgym.errors import ConfigError
from agentgym.policies.openai import OpenAIPolicy, parse_response
from agentgym.rollout import collect

CONV = [{"role": "system", "content": "Guess."}, {"role": "user", "content": "between 1 and 9"}]
TOOLS = [{"type": "function", "function": {"name": "guess", "description": "Guess.", "parameters": {
    "type": "object", "properties": {"number": {"type": "integer"}}, "required": ["number"]}}}]


def _ok(content: str | None = None, tool_calls=None, **choice) -> httpx.Response:
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return httpx.Response(200, json={"choices": [{"index": 0, "message": message, "finish_reason": "stop", **choice}]})


def _policy(handler, **kw) -> OpenAIPolicy:
    kw.setdefault("backoff", 0.001)
    return OpenAIPolicy("http://fake/v1", "m", transport=httpx.MockTransport(handler), **kw)


def test_request_shape_and_tool_call_mapping() -> None:
    env = agentgym.make("GuessNumber-v0")
    env.reset(seed=0)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content), request.headers.get("authorization")))
        args = json.dumps({"number": env.secret})
        return _ok(None, [{"id": "c1", "type": "function", "function": {"name": "guess", "arguments": args}}])

    c = _policy(handler, api_key="k", temperature=0.3, max_tokens=7).act([CONV], [TOOLS])[0]
    path, body, auth = seen[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k"
    assert body["model"] == "m" and body["messages"] == CONV and body["tools"] == TOOLS
    assert body["temperature"] == 0.3 and body["max_tokens"] == 7
    assert c.text == f'<tool_call>{{"name": "guess", "arguments": {{"number": {env.secret}}}}}</tool_call>'
    assert c.finish_reason == "stop"
    _, reward, terminated, _, info = env.step(c.text)  # the env executes the mapped call
    assert info["action_valid"] and terminated and reward == 1.0


def test_logprobs_and_token_ids_are_kept_when_the_server_gives_them() -> None:
    data = {
        "prompt_token_ids": [1, 2, 3],
        "choices": [{"message": {"content": "hi"}, "finish_reason": "length", "token_ids": [7, 8],
                     "logprobs": {"content": [{"token": "h", "logprob": -0.1}, {"token": "i", "logprob": -0.2}]}}],
    }
    c = parse_response(data)
    assert (c.prompt_ids, c.response_ids, c.logprobs, c.finish_reason) == ([1, 2, 3], [7, 8], [-0.1, -0.2], "length")


@pytest.mark.parametrize("failure", [
    httpx.Response(429, headers={"retry-after": "0"}, text="slow down"),
    httpx.Response(503, text="overloaded"),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("slow"),
])
def test_transient_failures_are_retried(failure) -> None:
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            if isinstance(failure, Exception):
                raise failure
            return failure
        return _ok("guess(3)")

    c = _policy(handler, max_retries=3).act([CONV], [TOOLS])[0]
    assert c.text == "guess(3)" and len(calls) == 3


def test_persistent_failure_becomes_an_error_completion_and_a_failed_episode() -> None:
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(500, text="boom")

    policy = _policy(handler, max_retries=2)
    c = policy.act([CONV], [TOOLS])[0]
    assert c.finish_reason == "error" and "HTTP 500" in c.error and len(calls) == 3
    trajs = collect("GuessNumber-v0", policy, tasks=2)
    assert all(t.failed and "HTTP 500" in t.error for t in trajs)


def test_client_errors_are_not_retried() -> None:
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(400, json={"error": "bad tools field"})

    c = _policy(handler, max_retries=5).act([CONV], [TOOLS])[0]
    assert c.finish_reason == "error" and "bad tools field" in c.error and len(calls) == 1


def test_backoff_grows_and_honours_retry_after() -> None:
    p = _policy(lambda r: _ok("x"), backoff=0.1, max_backoff=1.0)
    delays = [p._delay(a, None) for a in range(6)]
    assert 0.05 <= delays[0] <= 0.15 and max(delays) <= 1.0 and delays[3] > delays[0]
    assert p._delay(0, 0.7) >= 0.7 and p._delay(0, 30.0) == 1.0


def test_concurrency_limit_and_order() -> None:
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def handler(request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return _ok(json.loads(request.content)["messages"][-1]["content"])

    convs = [[{"role": "user", "content": str(i)}] for i in range(12)]
    out = _policy(handler, concurrency=3).act(convs, [[]] * 12)
    assert [c.text for c in out] == [str(i) for i in range(12)]
    assert 1 < state["max"] <= 3


class _Slow(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        time.sleep(2.0)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_hanging_server_never_hangs_the_rollout() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        policy = OpenAIPolicy(url, "m", timeout=0.2, max_retries=1, backoff=0.01)
        start = time.monotonic()
        t = collect("GuessNumber-v0", policy, tasks=1)[0]
        assert time.monotonic() - start < 1.5
        assert t.failed and "Timeout" in t.error
    finally:
        server.shutdown()
        server.server_close()


def test_spec() -> None:
    p = agentgym.load_policy("openai:http://127.0.0.1:9/v1#my-model", temperature=0.5)
    assert isinstance(p, OpenAIPolicy) and p.model == "my-model" and p.base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(ConfigError, match="BASE_URL#MODEL"):
        agentgym.load_policy("openai:http://127.0.0.1:9/v1")
