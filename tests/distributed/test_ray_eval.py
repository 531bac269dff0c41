"""`evaluate(..., ray=...)` and `agentgym eval --ray`: the same episodes and
results.json as the local run, on a local Ray cluster (marked slow)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray", reason="Ray is not installed: pip install 'agentgym[distributed]'")

from agentgym.evaluation import evaluate  # noqa: E402
from agentgym.suites import SuiteEntry  # noqa: E402

pytestmark = pytest.mark.slow


def _episodes(path):
    return sorted(path.read_text().splitlines())


def test_eval_on_ray_equals_local(tmp_path, ray_cluster):
    suite = [SuiteEntry("GuessNumber-v0", "val", 6, {})]
    kw = dict(episodes_per_task=2, max_turns=4, chunk_tasks=2, seed=3, report=False)
    evaluate("random", suite, out=tmp_path / "local", **kw)
    evaluate("random", suite, out=tmp_path / "ray", ray="", workers=2, **kw)
    local = json.loads((tmp_path / "local" / "results.json").read_text())
    remote = json.loads((tmp_path / "ray" / "results.json").read_text())
    assert remote == local
    assert _episodes(tmp_path / "ray" / "episodes.jsonl") == _episodes(tmp_path / "local" / "episodes.jsonl")


def test_cli_takes_ray_with_or_without_an_address():
    import argparse

    from agentgym.cli.eval_cmd import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    base = ["--policy", "random", "--out", "x"]
    assert p.parse_args(base).ray is None
    assert p.parse_args([*base, "--ray"]).ray == ""
    assert p.parse_args([*base, "--ray", "auto"]).ray == "auto"
