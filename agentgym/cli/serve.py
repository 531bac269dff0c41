"""``agentgym serve ENV_ID [ENV_ID ...]``: serve environments over HTTP.

    agentgym serve GuessNumber-v0 --host 127.0.0.1 --port 8765
    agentgym serve AskToAct-v0 SQL-v0 --max-sessions 512 --session-ttl 300

Clients use ``agentgym.remote.RemoteEnv(url, env_id)``; the API is documented at
``/docs`` and ``/openapi.json`` (see ``agentgym.server``).
"""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("env_ids", nargs="+", metavar="ENV_ID", help="registered env id(s) to serve (see `agentgym list`)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 for every one)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--max-sessions", type=int, default=256, help="cap on concurrently open sessions")
    p.add_argument("--session-ttl", type=float, default=600.0, help="seconds of inactivity before a session is closed")
    p.add_argument("--env-kwargs", default="{}", help="JSON defaults for every session's env constructor")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from agentgym.errors import ConfigError
    from agentgym.server import create_app

    try:
        env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r} ({e}).") from e
    app = create_app(args.env_ids, max_sessions=args.max_sessions, session_ttl=args.session_ttl, env_kwargs=env_kwargs)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
