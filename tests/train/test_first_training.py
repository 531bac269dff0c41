"""scripts/first_training.py (the README's training-from-a-script template) runs end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_first_training_runs_from_a_warm_start_and_prints_the_comparison(tmp_path) -> None:
    from agentgym.train import SFTConfig, sft

    warm = tmp_path / "warm"
    sft(SFTConfig.from_toml("asktoact_easy_sft").replace(tasks=4, epochs=1, out_dir=str(warm)))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "first_training.py"), "--warm-start", str(warm), "--out",
         str(tmp_path / "out"), "--iterations", "1", "--tasks-per-iter", "2", "--group-size", "2", "--val-tasks", "2",
         "--threads", "1"],
        capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| untrained |" in proc.stdout and "| trained |" in proc.stdout
    assert "trained vs warm_start:" in proc.stdout and "paired p =" in proc.stdout
    assert (tmp_path / "out" / "rl" / "final" / "model.safetensors").is_file()
