"""The evaluation harness end to end: oracle vs random, resume, reports, CLI, remote envs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentgym
from agentgym.errors import ConfigError
from agentgym.evaluation import compare_results, evaluate, load_results
from agentgym.evaluation import runner as runner_mod
from agentgym.policy import Completion
from agentgym.suites import SuiteEntry, get_suite

# Small and fast: the first few tasks of every entry.
FAST = {"max_tasks": 3, "episodes_per_task": 2, "chunk_tasks": 2}
GUESS = [SuiteEntry("GuessNumber-v0", "val", 5, {"difficulty": "easy"}),
         SuiteEntry("GuessNumber-v0", "val", 4, {"difficulty": "hard"})]


def test_oracle_solves_every_core_family_and_random_is_far_below():
    oracle = evaluate("oracle", "core-v0", **FAST)
    random = evaluate("random", "core-v0", **FAST)
    families = {e.env_id for e in get_suite("core-v0").entries}
    assert {e.env_id for e in oracle.entries} == families
    for e in oracle.entries:
        assert e.figures.success.mean >= 0.95, e.label
        assert e.figures.episodes == 6 and e.figures.failed_episodes == 0
        assert e.figures.invalid_action_rate == 0.0
    assert oracle.overall.success.mean >= 0.95
    assert random.overall.success.mean <= oracle.overall.success.mean - 0.5
    assert random.overall.invalid_action_rate > 0.0
    # pass@k is non-decreasing in k and pass@1 is the success rate.
    for r in (oracle, random):
        assert set(r.overall.pass_at_k) == {"1", "2"}
        for e in r.entries:
            assert e.figures.pass_at_k["1"] == pytest.approx(e.figures.success.mean)
            assert e.figures.pass_at_k["2"] >= e.figures.pass_at_k["1"]


@pytest.mark.slow
def test_oracle_and_random_on_the_full_core_suite(tmp_path):
    oracle = evaluate("oracle", "core-v0", max_tasks=20, episodes_per_task=2, out=tmp_path / "o")
    random = evaluate("random", "core-v0", max_tasks=20, episodes_per_task=2, out=tmp_path / "r")
    assert all(e.figures.success.mean >= 0.95 for e in oracle.entries)
    rows = compare_results([random, oracle])
    assert rows[-1].entry == "overall" and rows[-1].significant and rows[-1].diff > 0.5


def _files(d: Path) -> dict[str, bytes]:
    return {p: (d / p).read_bytes() for p in ["results.json", "report.md", "report.html", "plots/success.png"]}


def test_interrupted_then_resumed_run_writes_the_same_results(tmp_path, monkeypatch):
    full = evaluate("random", GUESS, episodes_per_task=3, chunk_tasks=2, out=tmp_path / "full")

    real = runner_mod._run_chunk
    calls = {"n": 0}

    def crash_after_two_chunks(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-run
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_mod, "_run_chunk", crash_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        evaluate("random", GUESS, episodes_per_task=3, chunk_tasks=2, out=tmp_path / "resumed")
    jsonl = tmp_path / "resumed" / "episodes.jsonl"
    assert len(jsonl.read_text().splitlines()) == 2 * 2 * 3  # two chunks of 2 tasks x 3 episodes
    with jsonl.open("a") as f:
        f.write('{"task_id": "torn by the crash", "gro')  # a half-written last line
    monkeypatch.setattr(runner_mod, "_run_chunk", real)

    resumed = evaluate("random", GUESS, episodes_per_task=3, chunk_tasks=2, out=tmp_path / "resumed")
    assert resumed == full
    assert _files(tmp_path / "resumed") == _files(tmp_path / "full")
    run = json.loads((tmp_path / "resumed" / "run.json").read_text())
    assert run["episodes_resumed"] == 12 and run["episodes_run"] == 15
    # A third run has nothing left to do and changes nothing.
    monkeypatch.setattr(runner_mod, "_run_chunk", lambda *a, **k: pytest.fail("nothing should run"))
    assert evaluate("random", GUESS, episodes_per_task=3, chunk_tasks=2, out=tmp_path / "resumed") == full


def test_parallel_workers_give_the_same_results_as_one():
    one = evaluate("random", GUESS, episodes_per_task=2, chunk_tasks=1)
    four = evaluate("random", GUESS, episodes_per_task=2, chunk_tasks=1, workers=4)
    assert one == four
    assert one != evaluate("random", GUESS, episodes_per_task=2, chunk_tasks=1, seed=1)


def test_resuming_with_another_configuration_is_refused(tmp_path):
    evaluate("oracle", GUESS[:1], out=tmp_path)
    with pytest.raises(ConfigError, match="(?s)another evaluation.*episodes_per_task: 1 -> 2"):
        evaluate("oracle", GUESS[:1], out=tmp_path, episodes_per_task=2)
    with pytest.raises(ConfigError, match="already holds"):
        evaluate("oracle", GUESS[:1], out=tmp_path, resume=False)


def test_results_file_schema_and_reports(tmp_path):
    res = evaluate("random", GUESS, episodes_per_task=2, out=tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["schema_name"] == "agentgym.eval.results" and data["schema_version"] == 1
    assert load_results(tmp_path) == res
    entry = res.entries[0]
    assert [t.task_index for t in entry.tasks] == list(range(5))
    assert sum(t.successes for t in entry.tasks) == round(entry.figures.success.mean * entry.figures.episodes)
    assert sum(entry.figures.turns_histogram.values()) == entry.figures.episodes
    assert "guesses" in entry.figures.metrics  # the family's own metric
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "pass@2" in html
    md = (tmp_path / "report.md").read_text()
    assert "GuessNumber-v0[val,difficulty=easy]" in md and "plots/success.png" in md
    data["schema_version"] = 99
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="schema version 99"):
        load_results(tmp_path)


class _AlwaysCrash:
    """A policy whose every action makes TestCrashy's step raise (an env bug)."""

    def act(self, conversations, tools):
        return [Completion("crash") for _ in conversations]


def test_failed_episodes_are_counted_as_failures():
    res = evaluate(_AlwaysCrash(), [SuiteEntry("TestCrashy-v0", "val", 2)], episodes_per_task=2)
    assert res.overall.failed_episodes == 4 and res.overall.success.mean == 0.0
    assert res.policy == "_AlwaysCrash"


def test_eval_through_remote_envs_equals_local(server_url):
    local = evaluate("oracle", GUESS, episodes_per_task=2)
    remote = evaluate("oracle", GUESS, episodes_per_task=2, remote=server_url, workers=2)
    assert remote == local and remote.overall.success.mean == 1.0


def test_rollout_collect_runs_on_remote_envs(server_url):
    from agentgym.policies.scripted import OraclePolicy
    from agentgym.remote import RemoteEnv
    from agentgym.rollout import collect

    envs = [RemoteEnv(server_url, "GuessNumber-v0", split="val") for _ in range(3)]
    trajs = collect(envs, OraclePolicy(), tasks=envs[0].generator.tasks("val", 4), group_size=2)
    local = collect("GuessNumber-v0", OraclePolicy(), tasks=4, group_size=2, split="val")
    assert len(trajs) == 8 and all(t.success and not t.failed for t in trajs)
    assert [[u.action for u in t.turns] for t in trajs] == [[u.action for u in t.turns] for t in local]
    assert trajs[0].group_id == trajs[1].group_id != trajs[2].group_id
    for e in envs:
        e.close()


def test_cli_eval_then_compare(tmp_path, capsys):
    from agentgym.cli import main

    for policy in ("random", "oracle"):
        rc = main(["eval", "--env", "GuessNumber-v0", "--n-tasks", "12", "--policy", policy, "-k", "2",
                   "--out", str(tmp_path / policy), "--no-progress"])
        assert rc == 0
    assert "overall" in capsys.readouterr().out
    rc = main(["compare", str(tmp_path / "random"), str(tmp_path / "oracle"), "--out", str(tmp_path / "cmp"), "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    overall = data["differences"][-1]
    assert overall["candidate"] == "oracle" and overall["paired"] and overall["significant"]
    assert overall["diff"] > 0.5 and overall["p_value"] < 0.01
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 0
    rc = main(["eval", "--suite", "no-such-suite", "--policy", "oracle", "--out", str(tmp_path / "x")])
    assert rc == 1


def test_lazy_public_names():
    assert agentgym.evaluate is evaluate
