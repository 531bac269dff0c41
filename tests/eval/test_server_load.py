"""Concurrent clients never lose or cross sessions."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import agentgym
from agentgym.remote import RemoteEnv

ROOT = Path(__file__).resolve().parents[2]


def _transcript(env, index: int) -> list:
    obs, info = env.reset(seed=index, options={"task_index": index})
    out, done = [obs, info["task_id"]], False
    while not done:
        obs, reward, term, trunc, info = env.step(env.scripted_action("oracle"))
        out += [obs, reward, info["anchor"]]
        done = term or trunc
    return out


def test_sixteen_concurrent_remote_envs_see_only_their_own_episodes(server_url):
    local = agentgym.make("GuessNumber-v0", split="val", difficulty="hard")
    expected = {i: _transcript(local, i) for i in range(32)}

    def client(cid: int) -> dict[int, list]:
        env = RemoteEnv(server_url, "GuessNumber-v0", split="val", difficulty="hard")
        try:
            return {i: _transcript(env, i) for i in (cid, cid + 16)}
        finally:
            env.close()

    with ThreadPoolExecutor(16) as pool:
        got = {}
        for part in pool.map(client, range(16)):
            got.update(part)
    assert got == expected


@pytest.mark.slow
def test_load_test_script_64_clients():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "load_test_server.py"), "--clients", "64", "--episodes", "2"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "lost_sessions: 0" in r.stdout and "crossed: 0" in r.stdout and r.stdout.strip().endswith("PASS")
