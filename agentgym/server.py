"""Serving environments over HTTP (FastAPI): ``agentgym serve ENV_ID``.

Each client opens a **session** (one env instance, with an id), resets and
steps it, and closes it; :class:`agentgym.remote.RemoteEnv` is the client. The
OpenAPI document is at ``/openapi.json`` (interactive at ``/docs``).

==========================================  =====================================
``GET  /health``                            liveness, open sessions
``GET  /envs``                              served env ids, descriptions, tool schemas
``POST /sessions``                          open a session ``{env_id, kwargs}`` → id (empty body: defaults)
``GET  /sessions``                          the open sessions with their ages, for operators (full ids
                                            only when privileged)
``GET  /sessions/{id}``                     a session's env, split, turn limit, tools
``POST /sessions/{id}/reset``               ``{seed, options}`` → observation, info (empty body: defaults)
``POST /sessions/{id}/step``                ``{action, episode, turn}`` → observation, reward, …
``POST /sessions/{id}/scripted?name=...``   next action of a scripted policy (the oracle); privileged
``GET  /sessions/{id}/tasks/{index}``       the index-th task (``AgentEnv.task_at``, index >= 0); answer
                                            and meta only when privileged
``GET  /sessions/{id}/render``              ``{"text": ...}``: the env's text rendering (``render_text``:
                                            the last action and observation, as ``render_mode="ansi"``)
``DELETE /sessions/{id}``                   close
==========================================  =====================================

Security. The server holds the answers, and an agent with network access (a
tool that runs code, a browser) could ask for its own: so

* the **privileged** routes are off by default: ``/scripted`` (the oracle's next
  action) answers 403, and ``/tasks/{index}`` gives a task's ``id`` and
  ``prompt`` without its ``answer`` or its hidden ``meta`` (a game's secret).
  ``create_app(privileged=True)`` (``agentgym serve --privileged``) turns them on,
  for evaluating scripted policies on a trusted network. An episode's answer
  still arrives, as locally, in the ``info`` of its last step.
* a session's id is the key to drive it: ``GET /sessions`` lists full ids only
  on a privileged server (elsewhere, their first 8 characters), and a session's
  ``scripted_policies`` are those its client may call (none unless privileged).
* with a ``token`` (``--token`` / ``AGENTGYM_SERVER_TOKEN``), every route, the
  docs included, wants ``Authorization: Bearer <token>`` (compared in constant
  time) and answers 401 without it. A token is required to listen on anything
  but loopback (:func:`check_exposure`); :class:`~agentgym.remote.RemoteEnv`
  sends it.

Sessions idle for longer than ``session_ttl`` seconds are closed; at most
``max_sessions`` are open at once (then ``POST /sessions`` answers 429).
Requests on one session are serialized. A step carries the episode number and
turn it expects to take; a retried step (the client lost the answer) gets the
recorded answer instead of stepping twice. Errors are JSON
``{"error": kind, "message": text}``: 4xx for a bad request (unknown session or
env, bad arguments, wrong order), 500 when the env raised, in which case that
session — and only it — is closed. Every error has that shape, the router's own
included (404 for an unknown path, 405 for a wrong method).

>>> app = create_app(["GuessNumber-v0"], max_sessions=64)   # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8765)          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import agentgym
from agentgym.errors import ConfigError, EnvStateError, RegistryError
from agentgym.registry import env_description, env_spec, make
from agentgym.remote import TOKEN_ENV
from agentgym.tasks import Task

__all__ = ["create_app", "serve_in_thread", "check_exposure", "ServerError", "TOKEN_ENV"]

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, ``127.x``, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("envhost")
    (True, True, False, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token: anyone who can reach the
    port could otherwise drive the envs (and, privileged, read the answers)."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host!r} without a token: any machine that can reach it could use the envs. "
            f"Pass --token (or set {TOKEN_ENV}; clients send it with RemoteEnv(..., token=...) or the same "
            "variable), or listen on 127.0.0.1."
        )


def _authorized(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    # compare_digest: the time taken does not tell how much of the token was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class _JSON(JSONResponse):
    """JSON with ``\\u`` escapes: an observation may echo any text a model wrote,
    lone surrogates included, which UTF-8 cannot carry (the default response
    would fail after the step was taken)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


class ServerError(Exception):
    """An error answered with ``status`` and ``{"error": kind, "message": ...}``."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def jsonable(x: Any) -> Any:
    """``x`` as JSON-able data (numpy scalars, tuples, Tasks, sets …); unknown
    objects become their ``str``; non-finite floats become ``None``."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in x]
    if isinstance(x, Task):
        return x.to_dict()
    if hasattr(x, "item") and callable(x.item):  # numpy scalar
        with contextlib.suppress(Exception):
            return jsonable(x.item())
    if hasattr(x, "tolist"):
        return jsonable(x.tolist())
    return str(x)


# ---------------------------------------------------------------------------
# Request and response bodies (the OpenAPI document is built from these)
# ---------------------------------------------------------------------------
class CreateSession(BaseModel):
    env_id: str | None = Field(None, description="one of GET /envs (default: the only one served)")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="constructor arguments (split, difficulty, ...)")


class SessionInfo(BaseModel):
    session_id: str
    env_id: str
    split: str
    difficulty: str | None
    max_turns: int
    max_observation_chars: int
    max_action_chars: int
    invalid_action_penalty: float = Field(description="subtracted (reward part invalid_action) per invalid action")
    tools: list[dict[str, Any]]
    scripted_policies: list[str] = Field(description="scripted policies this client may call (none unless privileged)")
    privileged: bool = Field(description="whether this server serves the privileged routes")
    session_ttl: float


class SessionSummary(BaseModel):
    session_id: str | None = Field(description="the full id (the key to drive the session): on a privileged server only")
    short_id: str = Field(description="its first 8 characters, to tell sessions apart")
    env_id: str
    age_s: float = Field(description="seconds since the session was opened")
    idle_s: float = Field(description="seconds since its last request (closed past session_ttl)")
    episode: int = Field(description="episodes reset so far")
    turn: int = Field(description="steps taken in the current episode")
    busy: bool = Field(description="a request on it is being served now")


class SessionList(BaseModel):
    sessions: list[SessionSummary] = Field(description="oldest first")
    count: int
    max_sessions: int
    session_ttl: float


class ResetRequest(BaseModel):
    seed: int | None = None
    options: dict[str, Any] | None = Field(None, description='e.g. {"task_index": 3} or {"task": {...}}')


class ResetResponse(BaseModel):
    observation: str
    info: dict[str, Any]
    episode: int


class StepRequest(BaseModel):
    action: Any = Field(..., description="the model's raw text")
    episode: int | None = Field(None, description="episode number from reset (makes retries safe)")
    turn: int | None = Field(None, description="1-based number of this step in the episode")


class StepResponse(BaseModel):
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]
    episode: int
    turn: int


class ScriptedResponse(BaseModel):
    action: str


class ErrorBody(BaseModel):
    error: str
    message: str


@dataclass
class _Session:
    id: str
    env_id: str
    env: Any
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    episode: int = 0
    turn: int = 0
    last_step: dict[str, Any] | None = None


class _Sessions:
    """The open sessions, with the cap and the TTL."""

    def __init__(self, max_sessions: int, ttl: float) -> None:
        self.max_sessions, self.ttl = max_sessions, ttl
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, env_id: str, env: Any) -> _Session:
        self.sweep()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise ServerError(
                    429, "too_many_sessions",
                    f"{len(self._sessions)} sessions are open (the cap is {self.max_sessions}); close one with "
                    f"DELETE /sessions/{{id}}, wait for idle ones to expire ({self.ttl:g} s), or raise --max-sessions.",
                )
            s = _Session(uuid.uuid4().hex, env_id, env)
            self._sessions[s.id] = s
            return s

    def get(self, sid: str) -> _Session:
        with self._lock:
            s = self._sessions.get(sid)
            if s is not None and time.monotonic() - s.last_used > self.ttl:
                del self._sessions[sid]
                _close_env(s)
                s = None
            if s is None:
                raise ServerError(404, "unknown_session", f"no open session {sid!r} (closed, expired after "
                                  f"{self.ttl:g} s idle, or never opened); open one with POST /sessions.")
            s.last_used = time.monotonic()
            return s

    def snapshot(self) -> list[_Session]:
        """The open sessions, oldest first (expired ones are swept first)."""
        self.sweep()
        with self._lock:
            return sorted(self._sessions.values(), key=lambda s: s.created)

    def remove(self, sid: str) -> _Session | None:
        with self._lock:
            s = self._sessions.pop(sid, None)
        if s is not None:
            _close_env(s)
        return s

    def sweep(self) -> int:
        now = time.monotonic()
        with self._lock:
            stale = [s for s in self._sessions.values() if now - s.last_used > self.ttl and not s.lock.locked()]
            for s in stale:
                del self._sessions[s.id]
        for s in stale:
            _close_env(s)
        if stale:
            logger.info("closed %d idle session(s)", len(stale))
        return len(stale)

    def close_all(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            _close_env(s)


def _close_env(s: _Session) -> None:
    try:
        s.env.close()
    except Exception:  # closing must never take the server down
        logger.exception("closing the env of session %s failed", s.id)


def _session_info(s: _Session, ttl: float, privileged: bool) -> SessionInfo:
    env = s.env
    return SessionInfo(
        session_id=s.id,
        env_id=s.env_id,
        split=env.split,
        difficulty=getattr(env, "difficulty", None),
        max_turns=env.max_turns,
        max_observation_chars=env.max_observation_chars,
        max_action_chars=env.max_action_chars,
        invalid_action_penalty=float(env.invalid_action_penalty),
        tools=jsonable(env.tools),
        # Only what this client may call: on a server that is not privileged,
        # /scripted answers 403, so a client must not plan on the oracle.
        scripted_policies=sorted(getattr(env, "scripted_policies", {})) if privileged else [],
        privileged=privileged,
        session_ttl=ttl,
    )


def _env_call(sessions: _Sessions, s: _Session, what: str, fn: Any) -> Any:
    """Run ``fn()`` on a session's env: user errors → 4xx; anything else the env
    raises closes this session (only it) and answers 500."""
    try:
        return fn()
    except EnvStateError as e:
        raise ServerError(409, "wrong_order", str(e)) from e
    except (ConfigError, RegistryError) as e:
        raise ServerError(400, "bad_request", str(e)) from e
    except Exception as e:
        logger.exception("session %s: the env raised during %s; closing the session", s.id, what)
        sessions.remove(s.id)
        raise ServerError(
            500, "env_error", f"the environment raised during {what}: {type(e).__name__}: {e}. "
            "This session was closed; open a new one.",
        ) from e


def create_app(
    env_ids: str | Sequence[str],
    *,
    max_sessions: int = 256,
    session_ttl: float = 600.0,
    env_kwargs: dict[str, Any] | None = None,
    privileged: bool = False,
    token: str | None = None,
) -> FastAPI:
    """The FastAPI app serving ``env_ids`` (registered env ids).

    Args:
        env_ids: One env id or several.
        max_sessions: Cap on concurrently open sessions.
        session_ttl: Seconds of inactivity after which a session is closed.
        env_kwargs: Defaults for every session's constructor arguments.
        privileged: Serve the oracle's actions (``/scripted``) and tasks with
            their answers and hidden ``meta``; off by default (see the module
            docstring). Only for scripted-policy evaluation on a trusted network.
        token: If set, every request must carry ``Authorization: Bearer <token>``.
    """
    ids = [env_ids] if isinstance(env_ids, str) else list(env_ids)
    if not ids:
        raise ConfigError("serve at least one env id (see `agentgym list`).")
    if max_sessions < 1 or session_ttl <= 0:
        raise ConfigError(f"max_sessions must be >= 1 and session_ttl > 0, got {max_sessions} and {session_ttl}.")
    served = {env_spec(i).id: env_spec(i) for i in ids}  # raises on unknown ids, with "did you mean"
    defaults = dict(env_kwargs or {})
    sessions = _Sessions(max_sessions, session_ttl)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async def reaper() -> None:
            while True:
                await asyncio.sleep(max(0.05, min(30.0, session_ttl / 4)))
                await asyncio.to_thread(sessions.sweep)

        task = asyncio.create_task(reaper())
        try:
            yield
        finally:
            task.cancel()
            sessions.close_all()

    app = FastAPI(
        title="agentgym environment server",
        version=agentgym.__version__,
        description=f"Sessions of {', '.join(served)} (see agentgym.server).",
        lifespan=lifespan,
        default_response_class=_JSON,
        responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 403: {"model": ErrorBody},
                   404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody},
                   429: {"model": ErrorBody}, 500: {"model": ErrorBody}},
    )
    app.state.sessions = sessions
    app.state.privileged = bool(privileged)
    app.state.token = token or None
    if app.state.token is not None:
        secret: str = app.state.token

        @app.middleware("http")
        async def _require_token(request: Request, call_next: Any) -> Response:
            if not _authorized(request.headers.get("authorization"), secret):
                return _JSON(
                    {"error": "unauthorized", "message": "this server wants `Authorization: Bearer <token>`; pass "
                     f"RemoteEnv(..., token=...) or set {TOKEN_ENV} on the client."},
                    status_code=401, headers={"WWW-Authenticate": "Bearer"},
                )
            return await call_next(request)

    @app.exception_handler(ServerError)
    async def _server_error(request: Request, e: ServerError) -> JSONResponse:
        return _JSON({"error": e.kind, "message": e.message}, status_code=e.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        # The router's own errors (an unknown path, a wrong method) in the documented shape.
        kind = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        message = str(e.detail)
        if e.status_code == 404:
            message = f"no route {request.method} {request.url.path}; the routes are listed at /docs and /openapi.json."
        elif e.status_code == 405:
            allowed = (e.headers or {}).get("Allow", "?")
            message = f"{request.url.path} does not take {request.method} (it takes {allowed}); see /docs."
        return _JSON({"error": kind, "message": message}, status_code=e.status_code, headers=e.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        logger.exception("%s %s raised", request.method, request.url.path)
        return _JSON({"error": "internal_error", "message": f"the server raised {type(e).__name__}: {e}"},
                            status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        return _JSON({"error": "bad_request", "message": f"invalid request: {problems}"}, status_code=422)

    def full_id(env_id: str | None) -> str:
        if env_id is None:
            if len(served) == 1:
                return next(iter(served))
            raise ServerError(400, "bad_request", f"this server serves several envs; pass env_id, one of {list(served)}.")
        full = env_id if env_id.startswith("agentgym/") else f"agentgym/{env_id}"
        if full not in served:
            raise ServerError(404, "unknown_env", f"this server does not serve {env_id!r}; it serves {list(served)}.")
        return full

    _add_session_routes(app, sessions, served, defaults, full_id, privileged=app.state.privileged)
    _add_episode_routes(app, sessions, privileged=app.state.privileged)
    return app


def _add_session_routes(
    app: FastAPI, sessions: _Sessions, served: dict, defaults: dict, full_id: Any, *, privileged: bool
) -> None:
    """Health, served envs, and opening/listing/inspecting/closing sessions."""
    ttl = sessions.ttl

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "sessions": len(sessions), "max_sessions": sessions.max_sessions}

    @app.get("/envs")
    def envs() -> list[dict[str, Any]]:
        out = []
        for env_id, info in served.items():
            env: Any = make(env_id, **defaults)
            out.append({"env_id": env_id, "description": env_description(info), "tools": jsonable(env.tools)})
            env.close()
        return out

    @app.post("/sessions", status_code=201, response_model=SessionInfo)
    def open_session(body: CreateSession | None = None) -> SessionInfo:
        """Open a session; an empty body opens one of the only env served, with the defaults."""
        body = body or CreateSession()
        env_id = full_id(body.env_id)
        try:
            env = make(env_id, **{**defaults, **body.kwargs})
        except (ConfigError, RegistryError, TypeError) as e:
            raise ServerError(400, "bad_request", f"cannot build {env_id} with {body.kwargs}: {e}") from e
        s = sessions.add(env_id, env)
        return _session_info(s, ttl, privileged)

    @app.get("/sessions", response_model=SessionList)
    def list_sessions() -> SessionList:
        """The open sessions with their ages, oldest first, for operators (who holds
        the cap, which are idle). A session's id is the key to drive it, so full ids
        are listed only on a privileged server."""
        now = time.monotonic()
        rows = [
            SessionSummary(
                session_id=s.id if privileged else None, short_id=s.id[:8], env_id=s.env_id,
                age_s=round(now - s.created, 3), idle_s=round(now - s.last_used, 3),
                episode=s.episode, turn=s.turn, busy=s.lock.locked(),
            )
            for s in sessions.snapshot()
        ]
        return SessionList(sessions=rows, count=len(rows), max_sessions=sessions.max_sessions, session_ttl=ttl)

    @app.get("/sessions/{sid}", response_model=SessionInfo)
    def session(sid: str) -> SessionInfo:
        return _session_info(sessions.get(sid), ttl, privileged)

    @app.delete("/sessions/{sid}", status_code=204)
    def close_session(sid: str) -> Response:
        if sessions.remove(sid) is None:
            raise ServerError(404, "unknown_session", f"no open session {sid!r}.")
        return Response(status_code=204)



def _check_options(options: dict[str, Any] | None) -> None:
    """A malformed task in reset options is the client's mistake (400), not an env crash."""
    task = (options or {}).get("task")
    if isinstance(task, dict):
        try:
            Task.from_dict(task)
        except (KeyError, TypeError, ValueError) as e:
            raise ServerError(400, "bad_request", f"options.task must have id, prompt, answer (and meta): {e!r}") from e


def _add_episode_routes(app: FastAPI, sessions: _Sessions, *, privileged: bool) -> None:
    """reset, step, scripted actions, tasks and rendering of one session's env."""

    @app.post("/sessions/{sid}/reset", response_model=ResetResponse)
    def reset(sid: str, body: ResetRequest | None = None) -> ResetResponse:
        """Start an episode; an empty body resets with no seed and no options."""
        body = body or ResetRequest()
        _check_options(body.options)
        s = sessions.get(sid)
        with s.lock:
            obs, info = _env_call(sessions, s, "reset", lambda: s.env.reset(seed=body.seed, options=body.options))
            s.episode, s.turn, s.last_step = s.episode + 1, 0, None
            return ResetResponse(observation=obs, info=jsonable(info), episode=s.episode)

    @app.post("/sessions/{sid}/step", response_model=StepResponse)
    def step(sid: str, body: StepRequest) -> StepResponse:
        s = sessions.get(sid)
        with s.lock:
            if body.episode is not None and body.turn is not None:
                if s.last_step is not None and (body.episode, body.turn) == (s.episode, s.turn):
                    return StepResponse(**s.last_step)  # a retry of the step just taken
                if (body.episode, body.turn) != (s.episode, s.turn + 1):
                    raise ServerError(409, "wrong_order", f"expected episode {s.episode} turn {s.turn + 1}, got "
                                      f"episode {body.episode} turn {body.turn}; reset to start a new episode.")
            obs, reward, terminated, truncated, info = _env_call(sessions, s, "step", lambda: s.env.step(body.action))
            s.turn += 1
            s.last_step = dict(observation=obs, reward=float(reward), terminated=bool(terminated),
                               truncated=bool(truncated), info=jsonable(info), episode=s.episode, turn=s.turn)
            return StepResponse(**s.last_step)

    @app.post("/sessions/{sid}/scripted", response_model=ScriptedResponse)
    def scripted(sid: str, name: str = Query("oracle", description="scripted policy, e.g. oracle")) -> ScriptedResponse:
        if not privileged:
            raise ServerError(
                403, "forbidden", "scripted actions (the oracle's) reveal the answers, and this server is not "
                "privileged; start it with `agentgym serve --privileged` (create_app(privileged=True)) to evaluate "
                "scripted policies, on a trusted network.",
            )
        s = sessions.get(sid)
        with s.lock:
            return ScriptedResponse(action=_env_call(sessions, s, f"scripted_action({name!r})",
                                                     lambda: s.env.scripted_action(name)))

    @app.get("/sessions/{sid}/tasks/{index}")
    def task(sid: str, index: int, split: str | None = None, difficulty: str | None = None) -> dict[str, Any]:
        """The ``index``-th task (``AgentEnv.task_at``); its answer and hidden meta only when privileged."""
        if index < 0:
            raise ServerError(422, "bad_request", f"task index must be >= 0 (tasks are numbered 0, 1, 2, ... in "
                              f"their split), got {index}.")
        s = sessions.get(sid)
        with s.lock:
            task = _env_call(sessions, s, "task_at()", lambda: s.env.task_at(index, split, difficulty))
        if privileged:
            return jsonable(task)
        return {"id": task.id, "prompt": task.prompt}  # no answer, no hidden meta

    @app.get("/sessions/{sid}/render")
    def render(sid: str) -> dict[str, Any]:
        """``{"text": ...}``: the env's text rendering (``render_text()``: task id, turn, the
        last action and observation), what ``render_mode="ansi"`` returns locally."""
        s = sessions.get(sid)
        with s.lock:
            return {"text": _env_call(sessions, s, "render", s.env.render_text)}



@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 20.0):
    """Run ``app`` with uvicorn in a background thread; yield its base URL.

    ``port=0`` picks a free port. For tests, notebooks and load tests::

        with serve_in_thread(create_app("GuessNumber-v0")) as url:
            env = RemoteEnv(url, "GuessNumber-v0")
    """
    import socket

    import uvicorn

    check_exposure(host, getattr(app.state, "token", None))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="agentgym-serve")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the env server did not start within {timeout} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()
