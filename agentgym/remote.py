"""``RemoteEnv``: an environment served by ``agentgym serve``, used as if local.

It is an :class:`~agentgym.AgentEnv` (same spaces, ``reset``/``step`` contract,
``info`` keys, ``tools``, ``scripted_action``, a task ``generator``), so it goes
anywhere a local env goes — :func:`agentgym.rollout.collect`, ``evaluate``,
training — and passes ``gymnasium``'s ``check_env``. This is how environments
scale past one machine: run ``agentgym serve`` where the env's dependencies
live, and point the rollout at it::

    # on the env machine (beyond loopback a token is required)
    AGENTGYM_SERVER_TOKEN=... agentgym serve SQL-v0 --host 0.0.0.0 --port 8765
    # on the trainer
    with RemoteEnv("http://envhost:8765", "SQL-v0", split="val") as env:
        obs, info = env.reset(seed=0)

Sessions. Each ``RemoteEnv`` holds one server session (one env there) until
:meth:`RemoteEnv.close` — which ``with`` calls. A ``RemoteEnv`` dropped without
``close()`` closes its session when it is garbage-collected, and at the latest
when the interpreter exits (``weakref.finalize``), so forgotten clients do not
fill the server's session cap; the server's idle TTL covers a client that is
killed.

Robustness: every request is retried with exponential backoff on connection
errors, timeouts and 502/503/504/429 answers. Steps carry their episode and
turn numbers, so a step whose answer was lost is answered again by the server
rather than taken twice. If the session itself is gone (the server restarted,
or the session expired), ``reset`` opens a new one transparently; a ``step``
in the middle of a lost episode raises :class:`~agentgym.errors.RemoteEnvError`
(the rollout marks that episode failed).

Authentication: ``token=`` (default: the ``AGENTGYM_SERVER_TOKEN`` environment
variable) is sent as ``Authorization: Bearer <token>`` with every request. On
a server started without ``--privileged``, ``scripted_action`` raises (the
oracle's actions are privileged) and the tasks of ``generator`` come without
``answer`` and ``meta``: reset by ``task_index`` and read the answer from the
last step's ``info``, as the rollout engine does. An answer the server did not
send is absent (``Task.answer is None``), never ``""``; ``scripted_policies``
lists only what the server lets this client call (none unless privileged).
"""

from __future__ import annotations

import json
import logging
import os
import time
import weakref
from typing import Any

import httpx

from agentgym.env import AgentEnv
from agentgym.errors import ConfigError, EnvStateError, RemoteEnvError
from agentgym.spaces import FreeText
from agentgym.tasks import Split, Task, TaskGenerator

__all__ = ["RemoteEnv"]

logger = logging.getLogger(__name__)

_RETRY_STATUS = {429, 502, 503, 504}
TOKEN_ENV = "AGENTGYM_SERVER_TOKEN"
"""The environment variable that holds the env server's bearer token (read by
``agentgym serve`` and by :class:`RemoteEnv`)."""


class RemoteTaskGenerator(TaskGenerator):
    """The server env's task generator, seen from the client: ``task(split, index,
    difficulty)`` asks the server for the task its env would play."""

    family = "remote"

    def __init__(self, env: RemoteEnv) -> None:
        super().__init__(seed=0)
        # A weak reference: no cycle, so a dropped RemoteEnv is freed (and its
        # session closed) at once rather than at the next cycle collection.
        self._env_ref = weakref.ref(env)

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        env = self._env_ref()
        if env is None:
            raise EnvStateError("the RemoteEnv of this task generator was closed and collected; use the env's own.")
        params = {"split": split, **({"difficulty": difficulty} if difficulty else {})}
        data = env._session_call("GET", f"tasks/{int(index)}", params=params)
        # A server that is not privileged sends no answer and no meta: the answer is
        # absent (None), not "" (which is "in" every text, and would read as known).
        return Task(id=data["id"], prompt=data["prompt"], answer=data.get("answer"), meta=data.get("meta", {}))


class _Lease:
    """What closing a session needs, kept apart from the :class:`RemoteEnv` so
    that its finalizer (run when the env is garbage-collected or the interpreter
    exits) holds no reference to the env itself."""

    def __init__(self, client: httpx.Client, headers: dict[str, str], owns_client: bool) -> None:
        self.client, self.headers, self.owns_client = client, headers, owns_client
        self.session: str | None = None

    def release(self) -> None:
        """Close the server session (once, no retries: the server's TTL is the
        fallback) and the HTTP client if it is ours."""
        sid, self.session = self.session, None
        if sid is not None:
            try:
                # A short timeout: this may run at interpreter exit, which must not hang.
                self.client.delete(f"/sessions/{sid}", headers=self.headers, timeout=5.0)
            except Exception as e:  # at exit or in GC nothing may raise
                logger.debug("could not close remote session %s: %s", sid, e)
        if self.owns_client:
            try:
                self.client.close()
            except Exception:
                pass


class RemoteEnv(AgentEnv):
    """A client of an ``agentgym serve`` server, behaving as a local :class:`AgentEnv`.

    Args:
        url: Base URL of the server, e.g. ``"http://127.0.0.1:8765"``.
        env_id: The env id to open a session of (one the server serves).
        timeout: Seconds per HTTP request.
        retries: Retries of a failed request (connection errors, timeouts, 429/502/503/504).
        backoff: First retry delay in seconds (doubles each retry, capped at 10 s).
        token: The server's bearer token (default: ``$AGENTGYM_SERVER_TOKEN``;
            none if unset).
        render_mode: ``"ansi"`` or ``"human"``, as for local envs.
        **env_kwargs: Constructor arguments of the env on the server (``split``,
            ``difficulty``, ``max_turns``, ...).

    >>> with RemoteEnv("http://127.0.0.1:8765", "GuessNumber-v0", split="val") as env:  # doctest: +SKIP
    ...     obs, info = env.reset(seed=0)
    ...     obs, reward, terminated, truncated, info = env.step("guess(50)")
    """

    family = "remote"

    # Deliberately does not call AgentEnv.__init__: the env (its tools, tasks,
    # rules) lives on the server; this sets the attributes AgentEnv users read.
    def __init__(  # noqa: D107
        self,
        url: str,
        env_id: str,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.2,
        token: str | None = None,
        render_mode: str | None = None,
        client: httpx.Client | None = None,
        **env_kwargs: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}.")
        if retries < 0:
            raise ConfigError(f"retries must be >= 0, got {retries}.")
        self.url = url.rstrip("/")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.retries, self.backoff = int(retries), float(backoff)
        self.render_mode = render_mode
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(base_url=self.url, timeout=timeout)
        self._owns_client = client is None
        self._lease = _Lease(self._client, self._headers, self._owns_client)
        # Closes the session when this env is collected or at interpreter exit,
        # if close() was not called first (close() calls it; it runs once).
        self._finalizer = weakref.finalize(self, self._lease.release)
        self._episode = 0
        self._turn = 0
        self._done = True
        self.task: Task | None = None
        self.fixed_tasks = None
        self.generator = RemoteTaskGenerator(self)
        self._open_session()

    # ------------------------------------------------------------------
    # HTTP with retries
    # ------------------------------------------------------------------
    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = self._headers
        if "json" in kw:
            # JSON with \u escapes (ASCII): an action is any text a model wrote, lone
            # surrogates included, which UTF-8 (httpx's encoding) cannot carry.
            kw["content"] = json.dumps(kw.pop("json")).encode("ascii")
            headers = {**headers, "Content-Type": "application/json"}
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                r = self._client.request(method, path, headers=headers, **kw)
            except httpx.TransportError as e:  # connection refused/reset, timeouts
                if attempt == self.retries:
                    raise RemoteEnvError(
                        f"{method} {self.url}{path} failed after {self.retries + 1} attempts: {type(e).__name__}: {e}. "
                        "Is `agentgym serve` running there?"
                    ) from e
                logger.warning("%s %s: %s; retrying in %.2f s", method, path, type(e).__name__, delay)
            else:
                if r.status_code not in _RETRY_STATUS or attempt == self.retries:
                    return r
                logger.warning("%s %s: HTTP %d; retrying in %.2f s", method, path, r.status_code, delay)
            time.sleep(delay)
            delay = min(10.0, delay * 2)
        raise AssertionError("unreachable")

    def _json(self, r: httpx.Response, what: str) -> Any:
        if r.status_code < 400:
            return r.json() if r.content else None
        try:
            body = r.json()
            message, kind = body.get("message", r.text), body.get("error", "")
        except ValueError:
            message, kind = r.text, ""
        if r.status_code == 409:
            raise EnvStateError(message)
        if r.status_code == 401:
            raise RemoteEnvError(
                f"{what}: the server at {self.url} refused the request (HTTP 401): "
                f"{'the token was wrong' if self._headers else 'it wants a token'}; pass RemoteEnv(..., token=...) "
                f"or set {TOKEN_ENV}.", status=401,
            )
        if r.status_code == 403:
            raise ConfigError(f"{what}: {message}")
        if r.status_code in (400, 422) or kind == "unknown_env":
            raise ConfigError(f"{what}: {message}")
        raise RemoteEnvError(f"{what} on {self.url} failed (HTTP {r.status_code}): {message}", status=r.status_code)

    def _open_session(self) -> None:
        data = self._json(
            self._request("POST", "/sessions", json={"env_id": self.env_id, "kwargs": self.env_kwargs}),
            f"opening a session of {self.env_id}",
        )
        self._session = data["session_id"]
        self.env_id = data["env_id"]  # the server's canonical id ("agentgym/SQL-v0"): trajectories record it
        self.split = data["split"]
        self.difficulty = data["difficulty"]
        self.max_turns = int(data["max_turns"])
        self.max_observation_chars = int(data["max_observation_chars"])
        # Per instance here (class-level on local envs): they come from the server.
        self.max_action_chars = int(data["max_action_chars"])  # type: ignore[misc]
        self.invalid_action_penalty = float(data.get("invalid_action_penalty", 0.1))
        self._tool_schemas = data["tools"]
        # Those this client may call: the server lists none unless privileged.
        self.scripted_policies = {name: "remote" for name in data["scripted_policies"]}  # type: ignore[misc]
        self.privileged = bool(data.get("privileged", True))
        self.observation_space = FreeText(self.max_observation_chars + 64)
        self.action_space = FreeText(self.max_action_chars)

    def _session_call(self, method: str, path: str, **kw: Any) -> Any:
        if self._session is None:
            raise EnvStateError("this RemoteEnv is closed; create a new one.")
        r = self._request(method, f"/sessions/{self._session}/{path}", **kw)
        return self._json(r, f"{path.split('/')[0]} of {self.env_id}")

    # ------------------------------------------------------------------
    # AgentEnv API
    # ------------------------------------------------------------------
    @property
    def _session(self) -> str | None:
        return self._lease.session

    @_session.setter
    def _session(self, value: str | None) -> None:
        self._lease.session = value

    @property
    def session_id(self) -> str | None:
        return self._session

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super(AgentEnv, self).reset(seed=seed)  # gymnasium's seeding of np_random
        if options and isinstance(options.get("task"), Task):
            options = dict(options, task=options["task"].to_dict())
        body = {"seed": seed, "options": options}
        try:
            data = self._session_call("POST", "reset", json=body)
        except RemoteEnvError as e:
            if e.status != 404:
                raise
            logger.warning("session %s of %s is gone (%s); opening a new one", self._session, self.env_id, e)
            self._open_session()
            data = self._session_call("POST", "reset", json=body)
        self._episode, self._turn, self._done = int(data["episode"]), 0, False
        info = data["info"]
        self.task = self._task_from(info, options)
        self._last_obs, self._last_action = data["observation"], ""
        return data["observation"], info

    def _task_from(self, info: dict[str, Any], options: dict[str, Any] | None) -> Task | None:
        if options and isinstance(options.get("task"), dict):
            return Task.from_dict(options["task"])
        # The answer stays on the server until the episode ends (as locally, in
        # info["answer"]): absent here, not "".
        return Task(id=str(info.get("task_id", "")), prompt="", answer=None)  # type: ignore[arg-type]

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._done and self._episode == 0:
            raise EnvStateError("step() before reset(): call env.reset() first.")
        if not isinstance(action, str):
            action = repr(action)  # locally a parse error too; keep the wire JSON
        body = {"action": action, "episode": self._episode, "turn": self._turn + 1}
        try:
            data = self._session_call("POST", "step", json=body)
        except RemoteEnvError as e:
            if e.status == 404:
                self._done = True
                raise RemoteEnvError(f"the session of {self.env_id} was lost mid-episode ({e}); reset to go on.",
                                     status=404) from e
            raise
        self._turn = int(data["turn"])
        self._done = bool(data["terminated"] or data["truncated"])
        self._last_obs, self._last_action = data["observation"], action
        if self.render_mode == "human":
            print(self.render_text())  # noqa: T201 (render_mode="human" asks for it)
        return data["observation"], float(data["reward"]), bool(data["terminated"]), bool(data["truncated"]), data["info"]

    def scripted_action(self, name: str = "oracle") -> str:
        """The next action of the server env's scripted policy ``name`` (e.g. the oracle)."""
        return self._session_call("POST", "scripted", params={"name": name})["action"]

    def render_text(self) -> str:
        return self._session_call("GET", "render")["text"]

    def close(self) -> None:
        """Close the server session (and the HTTP client, if this env made it).
        Idempotent; ``with RemoteEnv(...) as env:`` calls it. Not fatal if the
        server is unreachable: its session TTL closes the session anyway."""
        self._finalizer()

    def __repr__(self) -> str:
        return f"RemoteEnv({self.url!r}, {self.env_id!r}, session={self._session!r})"
