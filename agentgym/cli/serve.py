"""``agentgym serve ENV_ID [ENV_ID ...]``: serve environments over HTTP.

    agentgym serve GuessNumber-v0 --host 127.0.0.1 --port 8765
    agentgym serve AskToAct-v0 SQL-v0 --max-sessions 512 --session-ttl 300
    AGENTGYM_SERVER_TOKEN=$(openssl rand -hex 32) agentgym serve SQL-v0 --host 0.0.0.0
    agentgym serve GuessNumber-v0 --privileged      # the oracle's actions and the answers: trusted use only

Beyond loopback a bearer token is required (``--token`` or
``AGENTGYM_SERVER_TOKEN``); the privileged routes (scripted actions, tasks with
their answers) are off unless ``--privileged``. See ``agentgym.server``.

Clients use ``with agentgym.remote.RemoteEnv(url, env_id) as env: ...``; the API is
documented at ``/docs`` and ``/openapi.json`` (see ``agentgym.server``); operators
list the open sessions with ``GET /sessions``.
"""

from __future__ import annotations

import argparse
import json
import logging

from agentgym.remote import TOKEN_ENV


def add_arguments(p: argparse.ArgumentParser) -> None:
    # Every option's help ends with its default (the parser's formatter is shared by all commands).
    p.add_argument("env_ids", nargs="+", metavar="ENV_ID", help="registered env id(s) to serve (see `agentgym list`)")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on; 0.0.0.0 for every one, which needs a token (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default: %(default)s)")
    p.add_argument("--max-sessions", type=int, default=256,
                   help="cap on concurrently open sessions; past it POST /sessions answers 429 (default: %(default)s)")
    p.add_argument("--session-ttl", type=float, default=600.0,
                   help="seconds of inactivity before a session is closed (default: %(default)g)")
    p.add_argument("--env-kwargs", default="{}",
                   help="JSON defaults for every session's env constructor, e.g. '{\"difficulty\": \"hard\"}' "
                        "(default: %(default)s)")
    p.add_argument("--token", default=None,
                   help=f"bearer token every request must carry; required unless --host is loopback. Prefer the "
                        f"variable: a command line is visible to other users (default: ${TOKEN_ENV}, else none)")
    p.add_argument("--privileged", action="store_true",
                   help="serve the oracle's actions (/scripted), tasks with their answers, and full session ids "
                        "(GET /sessions), for evaluating scripted policies; an agent that can reach the server could "
                        "read its answers (default: off)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn's log level (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from agentgym.errors import ConfigError
    from agentgym.server import check_exposure, create_app

    try:
        env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r} ({e}).") from e
    token = args.token or os.environ.get(TOKEN_ENV) or None
    check_exposure(args.host, token)  # before anything starts
    app = create_app(args.env_ids, max_sessions=args.max_sessions, session_ttl=args.session_ttl, env_kwargs=env_kwargs,
                     privileged=args.privileged, token=token)
    if args.privileged:
        logging.getLogger(__name__).warning("privileged: the oracle's actions and the tasks' answers are served to %s",
                                            "every client with the token" if token else "every local process")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
