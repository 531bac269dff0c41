"""Smoke test of scripts/bench_peers.py: it runs end to end (tiny sizes) and reports
the figures BENCHMARKS.md quotes, with GEM where ``gem-llm`` is installed. A separate
process: importing GEM configures the root logger (``logging.basicConfig``)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_peers.py"


def test_bench_peers_runs(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    args = ["--envs", "4", "--steps", "5", "--turns", "2", "5", "--repeats", "1", "--breakdown", "--json", str(out)]
    run = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    cpu = result["cpu_us_per_step"]
    ours = ["agentgym env.step", "agentgym collect() per turn, 2-turn episodes",
            "agentgym collect() per turn, 5-turn episodes"]
    assert all(cpu[name] > 0 for name in ours)
    assert set(result["breakdown"]) >= {"NullEnv.reset(seed=...)", "NullEnv.reset()"}
    if importlib.util.find_spec("gem") is not None:
        assert cpu["GEM SyncVectorEnv.step"] > 0 and "× GEM sync" in run.stdout
    assert "| agentgym env.step |" in run.stdout
