"""AskToAct-v0 trains with the LLM question reward through `agentgym train`
(the tiny model; the judge backend given as a spec string in --env_kwargs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym.train.logging import read_metrics

ROOT = Path(__file__).resolve().parents[2]


def _train(tmp_path: Path, env_kwargs: dict, timeout: int) -> tuple[Path, list[dict]]:
    """``agentgym train`` for two tiny iterations on AskToAct easy; the run dir and its rollout rows."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "agentgym", "train", "--policy", "tiny", "--env", "AskToAct-v0",
           "--env_kwargs", json.dumps({"difficulty": "easy", **env_kwargs}), "--iterations", "2",
           "--tasks_per_iter", "2", "--group_size", "2", "--max_turns", "2", "--max_new_tokens", "8",
           "--eval_tasks", "2", "--eval_every", "0", "--checkpoint_every", "0", "--tensorboard", "false",
           "--threads", "1", "--out_dir", str(out), "--no-progress"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [r for r in read_metrics(out / "metrics.jsonl") if "rollout/success" in r]
    assert [r["iteration"] for r in rows] == [0, 1]
    return out, rows


@pytest.mark.slow
def test_asktoact_trains_two_iterations_with_the_judged_question_reward(tmp_path) -> None:
    out, _ = _train(tmp_path, {"question_judge": "agentgym.rewards.scripted:OverlapJudge"}, timeout=900)
    assert "question_judge" in (out / "config.toml").read_text()


@pytest.mark.slow
def test_asktoact_trains_with_a_model_judge_read_from_logprobs(tmp_path) -> None:
    """The question judge is a language model (the tiny one, verdicts from log P(YES)
    vs log P(NO)), given as a dict of LLMJudge arguments in --env_kwargs."""
    judge = {"policy": "tiny:seed=1", "verdict": "logprob", "min_mass": 0.0}
    out, rows = _train(tmp_path, {"question_judge": judge}, timeout=1200)
    assert all("rollout/reward_unavailable" in r for r in rows)
    assert "logprob" in (out / "config.toml").read_text()
