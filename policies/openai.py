"""Any OpenAI-compatible chat server as a policy: :class:`OpenAIPolicy`.

Works with vLLM, ``transformers serve``, llama.cpp's server, and hosted APIs:
``POST {base_url}/chat/completions`` with the conversation and the env's tool
schemas (``tools=``). A reply's structured ``tool_calls`` are mapped back to the
env's action text (``<tool_call>{...}</tool_call>``, which every env parses);
plain text content passes through unchanged.

Robustness: requests run concurrently (at most ``concurrency`` in flight); each
has a timeout; 429, 5xx, connection errors and timeouts are retried with
exponential backoff (honouring ``Retry-After``); other 4xx are not retried. A
conversation whose request still fails comes back as a ``Completion`` with
``finish_reason="error"``, which the rollout records as a failed episode — a
failing server never hangs or kills a rollout. The worst case per call is
bounded: ``(max_retries + 1) * timeout`` plus the backoff sleeps.

Token ids and logprobs are returned where the server gives them: ``logprobs``
from ``choices[].logprobs.content`` (ask with ``logprobs=True``), ids from
vLLM's ``prompt_token_ids``/``token_ids`` (``extra_body={"return_token_ids": True}``).

>>> policy = OpenAIPolicy("http://127.0.0.1:8000/v1", "smollm2", temperature=0.7)  # doctest: +SKIP
>>> policy = agentgym.load_policy("openai:http://127.0.0.1:8000/v1#smollm2")         # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from agentgym.errors import ConfigError
from agentgym.policy import Completion, Message

__all__ = ["OpenAIPolicy", "from_spec", "RETRY_STATUS"]

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAIPolicy:
    """A chat-completions endpoint as a batched policy.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8000/v1``, or a list of
            them (replicas of one model: several vLLM or ``transformers serve``
            processes). Each request goes to the endpoint with the fewest requests
            in flight (ties in turn); a connection error or a 429/5xx rests that
            endpoint for ``health_cooldown`` seconds and the request is retried
            at once on another; a rested endpoint gets work again only after a
            health check (``GET {base_url}/models`` answers 200).
        model: The ``model`` field of each request.
        api_key: Sent as a bearer token (default: ``$OPENAI_API_KEY`` if set).
        temperature, top_p, max_tokens: Sampling options sent with each request.
        timeout: Seconds per request (connect, read, write each).
        max_retries: Retries after the first attempt (429/5xx/connection errors).
        backoff: First retry delay in seconds; doubles each retry (with jitter),
            capped at ``max_backoff``.
        concurrency: Requests in flight at once.
        send_tools: Send the env's tool schemas as ``tools=`` (turn off for
            servers that reject the field; the system prompt still describes
            the call format).
        logprobs: Ask for per-token logprobs.
        extra_body: Merged into each request body (server-specific options).
        transport: An ``httpx`` transport (tests use ``httpx.MockTransport``).
        health_cooldown: Seconds a failing endpoint rests before its health check.
    """

    def __init__(
        self,
        base_url: str | Sequence[str],
        model: str,
        *,
        api_key: str | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_tokens: int = 256,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        concurrency: int = 8,
        send_tools: bool = True,
        logprobs: bool = False,
        extra_body: dict[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        seed: int = 0,
        health_cooldown: float = 5.0,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ConfigError("base_url must be a URL or a non-empty list of them.")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"base_url must start with http:// or https://, got {url!r}.")
        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ConfigError("concurrency must be >= 1, max_retries >= 0 and timeout > 0.")
        self.base_urls = [u.rstrip("/") for u in urls]
        self.base_url = self.base_urls[0]
        self.health_cooldown = float(health_cooldown)
        self.model = model
        self.temperature, self.top_p, self.max_tokens = float(temperature), float(top_p), int(max_tokens)
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.concurrency = int(concurrency)
        self.send_tools, self.logprobs = send_tools, logprobs
        self.extra_body = dict(extra_body or {})
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._clients = [
            httpx.Client(base_url=u, headers=headers, timeout=httpx.Timeout(self.timeout), transport=transport)
            for u in self.base_urls
        ]
        self._client = self._clients[0]
        self._inflight = [0] * len(urls)
        self._down_until = [0.0] * len(urls)  # an endpoint that failed rests until then, then is probed
        self.requests = [0] * len(urls)  # requests sent to each endpoint (attempts included)
        self._turn = 0
        self._pool: ThreadPoolExecutor | None = None
        self._jitter = random.Random(seed)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------
    def act(self, conversations: Sequence[Sequence[Message]], tools: Sequence[Sequence[dict[str, Any]]]) -> list[Completion]:
        """One request per conversation, ``concurrency`` at a time, results in order."""
        if len(tools) != len(conversations):
            raise ConfigError(f"act() got {len(conversations)} conversations but {len(tools)} tool lists.")
        if len(conversations) <= 1 or self.concurrency == 1:
            return [self.complete(c, t) for c, t in zip(conversations, tools, strict=True)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openai-policy")
        return list(self._pool.map(self.complete, conversations, tools))

    def complete(self, conversation: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None) -> Completion:
        """One chat completion, with retries; never raises for server trouble."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m.get("content", "")} for m in conversation],
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }
        if tools and self.send_tools:
            body["tools"] = list(tools)
        if self.logprobs:
            body["logprobs"] = True
        body.update(self.extra_body)
        last_error = "no attempt made"
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            i = self._pick()
            url = self.base_urls[i]
            try:
                response = self._clients[i].post("/chat/completions", json=body)
            except httpx.TransportError as e:  # connection refused/reset, timeouts
                last_error = f"{url}: {type(e).__name__}: {e}"
                self._release(i, ok=False)
            else:
                self._release(i, ok=response.status_code not in RETRY_STATUS)
                if response.status_code == 200:
                    try:
                        return parse_response(response.json())
                    except (ValueError, KeyError, IndexError, TypeError) as e:
                        return _error(f"unreadable response from {url}: {e}: {response.text[:200]}")
                last_error = f"{url}: HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUS:
                    return _error(last_error)  # a request the server will never accept
                retry_after = _retry_after(response)
            if attempt < self.max_retries and len(self.base_urls) > 1 and any(self._up(j) for j in range(len(self.base_urls))):
                continue  # another endpoint is up: retry there at once
            if attempt < self.max_retries:
                delay = self._delay(attempt, retry_after)
                logger.debug("%s: %s; retry %d in %.2fs", self.base_url, last_error, attempt + 1, delay)
                time.sleep(delay)
        logger.warning("%s: giving up after %d attempts: %s", self.base_url, self.max_retries + 1, last_error)
        return _error(f"{self.base_url}: {last_error} (after {self.max_retries + 1} attempts)")

    # -- several endpoints ------------------------------------------------
    def _up(self, i: int) -> bool:
        return self._down_until[i] <= time.monotonic()

    def _pick(self) -> int:
        """The endpoint for the next request: among those up (a rested one only
        after its health check passes), the one with the fewest requests in
        flight, ties in turn; when none is up, the one that rests least."""
        n = len(self.base_urls)
        with self._lock:
            self._turn += 1
            order = [(self._turn + k) % n for k in range(n)]
            resting = [i for i in order if self._down_until[i] > 0.0 and self._up(i)]
        for i in resting:  # its rest is over: probe it before sending it work
            self._mark(i, self.check_health(i))
        with self._lock:
            up = [i for i in order if self._up(i)]
            i = min(up, key=lambda j: self._inflight[j]) if up else min(order, key=lambda j: self._down_until[j])
            self._inflight[i] += 1
            self.requests[i] += 1
            return i

    def _release(self, i: int, *, ok: bool) -> None:
        with self._lock:
            self._inflight[i] -= 1
        if not ok and len(self.base_urls) > 1:
            self._mark(i, False)

    def _mark(self, i: int, healthy: bool) -> None:
        with self._lock:
            if healthy:
                self._down_until[i] = 0.0
            else:
                if self._down_until[i] <= time.monotonic():
                    logger.warning("%s: failing; resting it %.1f s", self.base_urls[i], self.health_cooldown)
                self._down_until[i] = time.monotonic() + self.health_cooldown

    def check_health(self, i: int | None = None) -> bool | list[bool]:
        """Health check of endpoint ``i`` (every endpoint when None): ``GET
        {base_url}/models`` answers 200 within a few seconds."""
        if i is None:
            return [bool(self.check_health(j)) for j in range(len(self.base_urls))]
        try:
            return self._clients[i].get("/models", timeout=min(5.0, self.timeout)).status_code == 200
        except httpx.HTTPError:
            return False

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        with self._lock:
            jitter = 0.5 + self._jitter.random()
        delay = min(self.max_backoff, self.backoff * (2**attempt) * jitter)
        if retry_after is not None:
            delay = min(self.max_backoff, max(delay, retry_after))
        return delay

    def close(self) -> None:
        """Release the connection pool and worker threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        for client in self._clients:
            client.close()

    def __repr__(self) -> str:
        urls = self.base_url if len(self.base_urls) == 1 else self.base_urls
        return f"OpenAIPolicy({urls!r}, {self.model!r})"


def _error(message: str) -> Completion:
    return Completion(text="", finish_reason="error", error=message)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def render_tool_calls(tool_calls: Sequence[dict[str, Any]]) -> str:
    """OpenAI ``tool_calls`` -> the env's action text (one ``<tool_call>`` block each).

    >>> render_tool_calls([{"function": {"name": "go", "arguments": '{"room": "hall"}'}}])
    '<tool_call>{"name": "go", "arguments": {"room": "hall"}}</tool_call>'
    """
    blocks = []
    for call in tool_calls:
        fn = call.get("function", call)
        args: Any = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError:
                # Keep the model's broken JSON: the env's parser reports it to the agent.
                blocks.append(f'<tool_call>{{"name": {json.dumps(fn.get("name", ""))}, "arguments": {args}}}</tool_call>')
                continue
        blocks.append("<tool_call>" + json.dumps({"name": fn.get("name", ""), "arguments": args}, ensure_ascii=False) + "</tool_call>")
    return "\n".join(blocks)


def parse_response(data: dict[str, Any]) -> Completion:
    """A chat-completions response body -> :class:`Completion`."""
    choice = data["choices"][0]
    message = choice.get("message") or {}
    text = message.get("content") or ""
    if message.get("tool_calls"):
        calls = render_tool_calls(message["tool_calls"])
        text = f"{text}\n{calls}" if text.strip() else calls
    finish = choice.get("finish_reason") or "stop"
    finish = "length" if finish == "length" else "stop"
    content = (choice.get("logprobs") or {}).get("content") or []
    logprobs = [float(t["logprob"]) for t in content if "logprob" in t]
    prompt_ids = data.get("prompt_token_ids") or choice.get("prompt_token_ids") or []
    response_ids = choice.get("token_ids") or []
    if response_ids and logprobs and len(response_ids) != len(logprobs):
        logprobs = []  # they would not line up token by token
    return Completion(text, list(prompt_ids), list(response_ids), logprobs, finish)


def from_spec(rest: str, **kwargs: Any) -> OpenAIPolicy:
    """``openai:URL#MODEL`` (e.g. ``openai:http://127.0.0.1:8000/v1#smollm2``); several
    replicas as ``openai:URL1,URL2#MODEL``."""
    url, sep, model = rest.partition("#")
    if not url or not sep or not model:
        raise ConfigError(
            f"openai policy spec {rest!r}: write 'openai:BASE_URL#MODEL', e.g. 'openai:http://127.0.0.1:8000/v1#smollm2'."
        )
    urls = [u for u in url.split(",") if u]
    return OpenAIPolicy(urls[0] if len(urls) == 1 else urls, model, **kwargs)
