"""Smoke test of scripts/bench_rollout.py: it runs end to end and reports the
figures BENCHMARKS.md quotes."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_rollout.py"


def test_bench_rollout_runs(monkeypatch, capsys) -> None:
    argv = [str(SCRIPT), "--tasks", "2", "--group-size", "2", "--max-turns", "2", "--max-new-tokens", "4",
            "--repeats", "1", "--threads", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    out = capsys.readouterr().out
    assert "episodes=4 steps=2 turns=8 response_tokens=32" in out
    assert re.search(r"overhead vs bare generate: [+-]\d+\.\d%", out)
    assert re.search(r"collect\(\):\s+\d+\.\d+ s", out)
