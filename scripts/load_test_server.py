"""Load test of the env server: N concurrent clients on loopback.

Starts ``agentgym serve`` in a subprocess (its own process and GIL, as in
production), then runs ``--clients`` concurrent clients (asyncio + httpx), each
with its own session, playing ``--episodes`` oracle episodes of GuessNumber on
its own tasks. Checks, for every step, that the answer belongs to *this*
client's episode (the guessed number is echoed, the task id and the remaining
interval match the task the client computed locally) — so a lost or crossed
session is detected, not assumed away — and reports step latency percentiles.

    python scripts/load_test_server.py                      # 64 clients x 5 episodes
    python scripts/load_test_server.py --clients 128 --episodes 3

Exit status 0 only if no request failed, no session was lost or crossed, and
every episode ended with the oracle's success.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import numpy as np

import agentgym
from agentgym.tools import ToolCall

ENV_ID = "GuessNumber-v0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), for the server's cost per request."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(port: int, max_sessions: int) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "import sys; from agentgym.cli import main; sys.exit(main())", "serve", ENV_ID, "--port", str(port),
           "--max-sessions", str(max_sessions), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
    proc.kill()
    raise SystemExit("server did not start in 60 s")


class Stats:
    def __init__(self) -> None:
        self.step_latency: list[float] = []
        self.errors: list[str] = []
        self.crossed = 0
        self.lost = 0
        self.episodes = 0
        self.successes = 0
        self.requests = 0


async def client(cid: int, url: str, args: argparse.Namespace, stats: Stats, local) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        r = await c.post("/sessions", json={"env_id": ENV_ID, "kwargs": {"split": "val", "difficulty": args.difficulty}})
        if r.status_code != 201:
            stats.errors.append(f"client {cid}: open session: HTTP {r.status_code} {r.text[:200]}")
            return
        sid = r.json()["session_id"]
        stats.requests += 1
        for e in range(args.episodes):
            index = cid * 1000 + e
            task = local.generator.task("val", index, args.difficulty)
            low, high, secret = task.meta["low"], task.meta["high"], task.meta["secret"]
            r = await c.post(f"/sessions/{sid}/reset", json={"seed": index, "options": {"task_index": index}})
            if r.status_code == 404:
                stats.lost += 1
                return
            data = r.json()
            stats.requests += 1
            if data["info"]["task_id"] != task.id or str(low) not in data["observation"]:
                stats.crossed += 1
            episode, turn, done = data["episode"], 0, False
            while not done:
                guess = (low + high) // 2  # the client's own binary search, from its own task
                action = ToolCall("guess", {"number": guess}).render()
                turn += 1
                t0 = time.perf_counter()
                r = await c.post(f"/sessions/{sid}/step", json={"action": action, "episode": episode, "turn": turn})
                stats.step_latency.append(time.perf_counter() - t0)
                stats.requests += 1
                if r.status_code == 404:
                    stats.lost += 1
                    return
                if r.status_code != 200:
                    stats.errors.append(f"client {cid}: step: HTTP {r.status_code} {r.text[:200]}")
                    return
                s = r.json()
                if not re.search(rf"\b{guess}\b", s["observation"]) or s["info"]["task_id"] != task.id:
                    stats.crossed += 1
                if guess < secret:
                    low = guess + 1
                elif guess > secret:
                    high = guess - 1
                if guess != secret and s["info"]["anchor"] != f"{low}..{high}":
                    stats.crossed += 1
                done = s["terminated"] or s["truncated"]
            stats.episodes += 1
            stats.successes += int(s["info"]["metrics"]["success"] == 1.0)
        r = await c.delete(f"/sessions/{sid}")
        stats.requests += 1
        if r.status_code != 204:
            stats.errors.append(f"client {cid}: close: HTTP {r.status_code}")


async def main_async(url: str, args: argparse.Namespace) -> tuple[Stats, float]:
    stats = Stats()
    local = agentgym.make(ENV_ID, split="val", difficulty=args.difficulty)
    t0 = time.perf_counter()
    await asyncio.gather(*(client(i, url, args, stats, local) for i in range(args.clients)))
    return stats, time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--episodes", type=int, default=5, help="episodes per client")
    p.add_argument("--difficulty", default="hard", choices=["easy", "medium", "hard"])
    p.add_argument("--url", default=None, help="test a running server instead of starting one")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    proc = None
    url = args.url
    if url is None:
        port = free_port()
        proc = start_server(port, max_sessions=max(256, 2 * args.clients))
        url = f"http://127.0.0.1:{port}"
    try:
        cpu0 = cpu_seconds(proc.pid) if proc is not None else None
        stats, wall = asyncio.run(main_async(url, args))
        cpu = cpu_seconds(proc.pid) - cpu0 if proc is not None else None
        health = httpx.get(url + "/health").json()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    lat = np.array(stats.step_latency) * 1000
    expected = args.clients * args.episodes
    report = {
        "clients": args.clients,
        "episodes": stats.episodes,
        "expected_episodes": expected,
        "successes": stats.successes,
        "steps": len(lat),
        "steps_per_s": round(len(lat) / wall, 1),
        "wall_s": round(wall, 2),
        "step_ms_p50": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
        "step_ms_p90": round(float(np.percentile(lat, 90)), 2) if len(lat) else None,
        "step_ms_p99": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
        "requests": stats.requests,
        "server_cpu_ms_per_request": round(1000 * cpu / stats.requests, 3) if cpu is not None and stats.requests else None,
        "lost_sessions": stats.lost,
        "crossed": stats.crossed,
        "errors": len(stats.errors),
        "open_sessions_after": health["sessions"],
        "cpus": os.cpu_count(),
    }
    for e in stats.errors[:5]:
        print("error:", e, file=sys.stderr)
    print(json.dumps(report, indent=2) if args.json else "\n".join(f"{k:>20}: {v}" for k, v in report.items()))
    ok = (stats.episodes == stats.successes == expected and not stats.lost and not stats.crossed
          and not stats.errors and health["sessions"] == 0)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
