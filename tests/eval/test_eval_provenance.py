"""What an evaluation depends on (issue 13, items 3 and 4): decoding defaults
(greedy for one episode per task, the policy's own temperature for pass@k,
explicit kwargs win) recorded in results.json; a resume refused, naming what
differs, when the env, its tasks, the policy or agentgym changed, and
``overwrite``; ``agentgym compare`` warning about runs that differ in more than
the policy."""

from __future__ import annotations

import json
import logging

import pytest

import agentgym
from agentgym.errors import ConfigError
from agentgym.evaluation import compare_results, evaluate, load_results
from agentgym.evaluation import runner as runner_mod
from agentgym.evaluation.compare import comparison_warnings, format_comparison
from agentgym.policy import Completion
from agentgym.suites import SuiteEntry

EASY = [SuiteEntry("GuessNumber-v0", "val", 3, {"difficulty": "easy"})]


class _Sampler:
    """A model-like policy (it has decoding attributes, like HFPolicy and
    OpenAIPolicy) that records the temperature it was asked to act at."""

    def __init__(
        self, temperature: float = 1.0, top_p: float = 1.0, max_new_tokens: int = 32
    ) -> None:
        self.temperature, self.top_p, self.max_new_tokens = temperature, top_p, max_new_tokens
        self.acted_at: set[float] = set()

    def act(self, conversations, tools):
        self.acted_at.add(self.temperature)
        return [Completion("guess(number=1)") for _ in conversations]


@pytest.fixture
def sampler_spec(monkeypatch):
    """``load_policy("sampler:...")`` builds a _Sampler (its own default temperature
    0.8, like a checkpoint saved by a run trained at 0.8); the built ones are kept."""
    built: list[_Sampler] = []
    real = runner_mod.load_policy

    def load(spec, **kwargs):
        if not spec.startswith("sampler:"):
            return real(spec, **kwargs)
        built.append(_Sampler(**{"temperature": 0.8, **kwargs}))
        return built[-1]

    monkeypatch.setattr(runner_mod, "load_policy", load)
    return built


def test_one_episode_per_task_is_greedy_and_recorded(sampler_spec, tmp_path):
    res = evaluate("sampler:x", EASY, out=tmp_path)
    assert sampler_spec[-1].acted_at == {0.0}
    assert res.sampling == {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 32}
    assert json.loads((tmp_path / "results.json").read_text())["sampling"]["temperature"] == 0.0
    assert json.loads((tmp_path / "config.json").read_text())["sampling"]["temperature"] == 0.0


def test_pass_at_k_samples_at_the_policys_own_temperature(sampler_spec):
    res = evaluate("sampler:x", EASY, episodes_per_task=3)
    assert sampler_spec[-1].acted_at == {0.8} and res.sampling["temperature"] == 0.8


@pytest.mark.parametrize("k", [1, 3])
def test_explicit_policy_kwargs_win(sampler_spec, k):
    res = evaluate(
        "sampler:x", EASY, episodes_per_task=k, policy_kwargs={"temperature": 0.3, "top_p": 0.9}
    )
    assert sampler_spec[-1].acted_at == {0.3}
    assert res.sampling == {"temperature": 0.3, "top_p": 0.9, "max_new_tokens": 32}


def test_a_policy_object_is_used_as_given_and_greedy_pass_at_k_warns(caplog):
    policy = _Sampler(temperature=0.0)
    with caplog.at_level(logging.WARNING, logger="agentgym.evaluation.runner"):
        res = evaluate(policy, EASY, episodes_per_task=2)
    assert policy.acted_at == {0.0} and res.sampling["temperature"] == 0.0
    assert "pass@k equals pass@1" in caplog.text
    assert evaluate("oracle", EASY).sampling == {}  # a scripted policy has no decoding settings


def test_cli_defaults_to_greedy_and_shows_defaults(sampler_spec, tmp_path, capsys):
    from agentgym.cli import main

    assert (
        main(
            [
                "eval",
                "--env",
                "GuessNumber-v0",
                "--n-tasks",
                "2",
                "--policy",
                "sampler:x",
                "--out",
                str(tmp_path / "a"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert load_results(tmp_path / "a").sampling["temperature"] == 0.0
    assert (
        main(
            [
                "eval",
                "--env",
                "GuessNumber-v0",
                "--n-tasks",
                "2",
                "--policy",
                "sampler:x",
                "-k",
                "2",
                "--policy-kwargs",
                '{"temperature": 0.5}',
                "--out",
                str(tmp_path / "b"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert load_results(tmp_path / "b").sampling["temperature"] == 0.5
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = capsys.readouterr().out
    assert "(default: 20)" in text and "(default: 0.95)" in text and "(default: val)" in text
    assert (
        "--overwrite" in text and "checkpoint-100" not in text and "checkpoints/iter-000005" in text
    )


# ---------------------------------------------------------------------------
# Resuming: what the episodes depend on
# ---------------------------------------------------------------------------
def test_resume_after_the_tasks_changed_is_refused_then_overwrite_starts_afresh(
    tmp_path, monkeypatch
):
    from agentgym.envs.guess_number.env import GuessNumberEnv

    first = evaluate("oracle", EASY, out=tmp_path)
    real_task_at = GuessNumberEnv.task_at

    def other_prompts(self, index, split=None, difficulty=None):
        task = real_task_at(self, index, split, difficulty)
        return type(task)(task.id, task.prompt + " Be quick.", task.answer, task.meta)

    # The env changed, its version did not.
    monkeypatch.setattr(GuessNumberEnv, "task_at", other_prompts)
    with pytest.raises(ConfigError) as err:
        evaluate("oracle", EASY, out=tmp_path)
    message = str(err.value)
    assert "GuessNumber-v0[val,difficulty=easy].tasks_digest" in message
    assert "the env's tasks changed" in message and "--overwrite" in message
    assert load_results(tmp_path) == first  # nothing was touched

    fresh = evaluate("oracle", EASY, out=tmp_path, overwrite=True)
    episodes = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 3 and all(
        e["initial_observation"].endswith("Be quick.") for e in episodes
    )
    assert fresh.entries[0].tasks_digest != first.entries[0].tasks_digest
    assert evaluate("oracle", EASY, out=tmp_path) == fresh  # and it resumes as usual from then on


def test_resume_after_the_env_source_changed_is_refused(tmp_path, monkeypatch):
    module = tmp_path / "src" / "h13_my_game.py"
    module.parent.mkdir()
    module.write_text(
        "from agentgym.envs.guess_number.env import GuessNumberEnv\n\n\n"
        "class MyGame(GuessNumberEnv):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(module.parent))
    agentgym.register("TestMyGame-v0", "h13_my_game:MyGame", description="test double")
    entry = [SuiteEntry("TestMyGame-v0", "val", 2)]
    evaluate("oracle", entry, out=tmp_path / "run")
    evaluate("oracle", entry, out=tmp_path / "run")  # unchanged: resumes
    module.write_text(module.read_text() + "    # a reward fix, same version\n")
    with pytest.raises(
        ConfigError, match=r"env_source_digest: .* \(the env's source code changed\)"
    ):
        evaluate("oracle", entry, out=tmp_path / "run")


def test_resume_names_each_difference(tmp_path, monkeypatch):
    evaluate("oracle", EASY, out=tmp_path)
    with pytest.raises(ConfigError, match=r'policy: "oracle" -> "random"'):
        evaluate("random", EASY, out=tmp_path)
    with pytest.raises(ConfigError, match=r"kwargs.difficulty"):
        evaluate(
            "oracle", [SuiteEntry("GuessNumber-v0", "val", 3, {"difficulty": "hard"})], out=tmp_path
        )
    with pytest.raises(
        ConfigError, match=r"n_tasks: 3 -> 4.*\n.*task_ids: 3 -> 4 tasks; task 3 was '\(none\)'"
    ):
        evaluate(
            "oracle", [SuiteEntry("GuessNumber-v0", "val", 4, {"difficulty": "easy"})], out=tmp_path
        )
    monkeypatch.setattr(agentgym, "__version__", "9.9.9")
    with pytest.raises(
        ConfigError, match=r'agentgym_version: "[^"]+" -> "9.9.9" \(another agentgym version\)'
    ):
        evaluate("oracle", EASY, out=tmp_path)


def test_resume_of_a_run_recorded_by_an_older_agentgym_is_refused(tmp_path):
    evaluate("oracle", EASY, out=tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    old = {
        k: config[k]
        for k in (
            "suite",
            "policy",
            "episodes_per_task",
            "seed",
            "max_turns",
            "history",
            "chunk_tasks",
            "remote",
        )
    }
    old["entries"] = [
        {k: e[k] for k in ("env_id", "split", "n_tasks", "kwargs")} for e in config["entries"]
    ]
    (tmp_path / "config.json").write_text(json.dumps(old))
    with pytest.raises(ConfigError, match="older agentgym"):
        evaluate("oracle", EASY, out=tmp_path)


# ---------------------------------------------------------------------------
# compare: warnings
# ---------------------------------------------------------------------------
def test_compare_warns_when_runs_differ_in_more_than_the_policy(tmp_path, capsys):
    a = evaluate("random", EASY, episodes_per_task=2)
    clean = evaluate("oracle", EASY, episodes_per_task=2)
    assert comparison_warnings([a, clean]) == []
    sampled = clean.model_copy(update={"sampling": {"temperature": 1.0, "top_p": 1.0}})
    greedy = a.model_copy(update={"sampling": {"temperature": 0.0, "top_p": 1.0}})
    (warning,) = comparison_warnings([greedy, sampled], ["greedy", "sampled"])
    assert (
        warning
        == "sampled: other decoding than greedy: sampled at temperature 1 vs greedy (temperature 0)"
    )

    fewer = evaluate("oracle", [SuiteEntry("GuessNumber-v0", "val", 2, {"difficulty": "easy"})])
    changed = clean.model_copy(
        update={"entries": [clean.entries[0].model_copy(update={"tasks_digest": "0" * 20})]}
    )
    warnings = comparison_warnings([a, fewer, changed], ["a", "fewer", "changed"])
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "fewer: other tasks than a on agentgym/GuessNumber-v0[val,difficulty=easy]"
    )
    assert (
        warnings[1].startswith("changed: same task ids as a") and "the env changed" in warnings[1]
    )

    v1 = a.model_copy(
        update={"entries": [a.entries[0].model_copy(update={"env_id": "agentgym/GuessNumber-v1"})]}
    )
    assert comparison_warnings([a, v1], ["v0", "v1"]) == [
        "v1: evaluated GuessNumber version v1, v0 version v0: the envs differ"
    ]
    md = format_comparison(
        [greedy, sampled],
        ["greedy", "sampled"],
        compare_results([greedy, sampled]),
        comparison_warnings([greedy, sampled], ["greedy", "sampled"]),
    )
    assert md.startswith("## Warnings\n\n- sampled: other decoding")

    # The command prints them on stderr and writes them into its report.
    from agentgym.cli import main

    for name, res in (("greedy", greedy), ("sampled", sampled)):
        res.save(tmp_path / name / "results.json")
    assert (
        main(
            [
                "compare",
                str(tmp_path / "greedy"),
                str(tmp_path / "sampled"),
                "--out",
                str(tmp_path / "cmp"),
            ]
        )
        == 0
    )
    assert "warning: sampled: other decoding than greedy" in capsys.readouterr().err
    assert "## Warnings" in (tmp_path / "cmp" / "compare.md").read_text()
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["warnings"][0].startswith(
        "sampled:"
    )
