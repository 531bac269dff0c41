"""Benchmark the web envs: text-mode and browser-mode steps/s (WebShop, WebQA,
MiniWoB), and the overhead of text mode over a bare ``httpx`` GET of the same pages.

    python scripts/bench_web.py --cpu 0 --episodes 40 --browser-episodes 8 --miniwob-episodes 10

The machine's load average (``os.getloadavg``) is printed before and after the run:
figures taken on a loaded machine measure waiting for a CPU.

The oracle's actions are recorded once per task, then replayed: "env steps/s"
times ``env.step`` alone (parsing the call, the HTTP round trip to the site
server, rendering the page, anchor, reward). CPU figures add the CPU time of every
child process (the site server; in browser mode Playwright's driver and
Chromium) to ours (all pinned to the same core with ``--cpu``), so they are
per core-second of the whole system. The bare GET replays the URLs the
env loaded, with one persistent ``httpx.Client``, against the same server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import httpx
import psutil

from agentgym.envs.web.env import WebEnv, WebQAEnv, WebShopEnv

MINIWOB_TASKS = ("click-test", "click-button", "enter-text", "login-user", "click-checkboxes", "choose-list")


def record(env: WebEnv, indices: range, difficulty: str | None) -> list[list[str]]:
    out = []
    for i in indices:
        opts: dict[str, Any] = {"task_index": i, **({"difficulty": difficulty} if difficulty else {})}
        env.reset(options=opts)
        actions, done = [], False
        while not done:
            a = env.scripted_action("oracle")
            actions.append(a)
            *_, term, trunc, _ = env.step(a)
            done = term or trunc
        out.append(actions)
    return out


def _children_cpu() -> float:
    """CPU seconds of our child processes: the site server, and in browser mode Playwright's
    driver and Chromium's processes (all alive for the whole replay)."""
    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            total += sum(p.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def replay(env: WebEnv, episodes: list[list[str]], indices: range, difficulty: str | None) -> dict[str, Any]:
    step_wall, urls, latencies = 0.0, [], []
    cpu0, srv0 = time.process_time(), _children_cpu()
    for i, actions in zip(indices, episodes, strict=True):
        env.reset(options={"task_index": i, **({"difficulty": difficulty} if difficulty else {})})
        for a in actions:
            t = time.perf_counter()
            env.step(a)
            dt = time.perf_counter() - t
            step_wall += dt
            latencies.append(dt)
            if env.client.page is not None:
                urls.append(env.client.page.url)
    cpu = time.process_time() - cpu0 + _children_cpu() - srv0
    n = sum(len(a) for a in episodes)
    return {"steps": n, "wall": step_wall, "cpu": cpu, "urls": urls, "lat": latencies}


def bare_get(base: str, urls: list[str]) -> float:
    with httpx.Client(trust_env=False) as c:
        c.get(base + "/healthz")
        t = time.perf_counter()
        for u in urls:
            if not u.endswith("/done"):
                c.get(u)
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", type=int, default=None, help="pin this process and the servers to one core")
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--browser-episodes", type=int, default=8)
    ap.add_argument("--miniwob-episodes", type=int, default=10, help="per MiniWoB task (0: skip MiniWoB)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # children (the site servers, Chromium) inherit it
    load0, t0 = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    rows = []
    configs: list[tuple[Any, str | None, dict[str, Any], str, int]] = []
    for cls, difficulty in ((WebShopEnv, None), (WebQAEnv, "easy"), (WebQAEnv, "hard")):
        configs += [(cls, difficulty, {}, mode, n) for mode, n in (("text", args.episodes), ("browser", args.browser_episodes))]
    if args.miniwob_episodes > 0:
        from agentgym.envs.web.miniwob import MiniWoBEnv

        configs += [(MiniWoBEnv, None, {"task": t}, "browser", args.miniwob_episodes) for t in MINIWOB_TASKS]
    for cls, difficulty, kwargs, mode, n in configs:
        if n <= 0:
            continue
        env = cls(split="val", mode=mode, **kwargs)
        indices = range(n)
        episodes = record(env, indices, difficulty)
        best = min((replay(env, episodes, indices, difficulty) for _ in range(args.repeats)), key=lambda r: r["wall"])
        get_s = bare_get(env.base_url, best["urls"]) if mode == "text" else float("nan")
        gets = sum(1 for u in best["urls"] if not u.endswith("/done"))
        lat = sorted(best["lat"])
        name = cls.__name__.removesuffix("Env").replace("MiniWoB", "MiniWoB-v0").replace("WebShop", "WebShop-v0")
        name = name.replace("WebQA", "WebQA-v0")
        rows.append((name, difficulty or kwargs.get("task", "default"), mode, n, best["steps"],
                     best["steps"] / best["wall"], best["steps"] / best["cpu"],
                     1000 * statistics.median(lat), 1000 * lat[int(0.95 * (len(lat) - 1))],
                     gets / get_s if mode == "text" else float("nan"),
                     (best["wall"] / best["steps"]) / (get_s / gets) if mode == "text" else float("nan")))
        env.close()
    load1 = os.getloadavg()
    print(f"run {t0} .. {time.strftime('%H:%M:%S UTC', time.gmtime())}; load average (1, 5, 15 min) "
          f"before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; "
          f"{os.cpu_count()} CPUs")
    print("| env | difficulty / task | mode | episodes | steps | env steps/s (wall) | env steps/s (CPU, all processes) "
          "| step p50 ms | step p95 ms | bare GET/s | step time / GET time |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]:,.1f} | {r[6]:,.1f} | {r[7]:.1f} | {r[8]:.1f} | "
              + ("- | - |" if r[2] != "text" else f"{r[9]:,.0f} | {r[10]:.2f} |"))


if __name__ == "__main__":
    main()
