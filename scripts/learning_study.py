#!/usr/bin/env python
"""The learning study (issue 20): GRPO, RLOO, GiGPO, IGPO and GiGPO with IGPO's step
rewards, trained from one warm start with one budget, over several seeds and envs.

    python scripts/learning_study.py run --envs asktoact --seeds 0 1 2 --jobs 2
    python scripts/learning_study.py report --docs docs/learning_study
    python scripts/learning_study.py status

Each run is a normal ``agentgym train`` run directory,
``STUDY/ENV/ESTIMATOR/seed-S`` (its ``metrics.jsonl``, ``final/``, checkpoints), plus
``eval/`` (``agentgym eval`` of ``final/``: greedy, one episode on each of the first
``--final-eval-tasks`` validation tasks, per-task results) and, for the IGPO
estimators, ``info_gain.json`` (information gain of every turn of those evaluation
episodes, scored with the final policy, against the episode's success).

Resumable: a step whose output exists is never redone (training is done when
``final/`` and ``metrics.jsonl`` exist, the evaluation when ``eval/results.json``
exists); an interrupted training continues with ``--resume true`` from its last
checkpoint; an interrupted evaluation continues from its episodes. The study's budget
is fixed the first time it runs (``STUDY/study.json``) and later sittings must match
it, so every run of a study has the same budget (equal environment episodes).

``--jobs N`` runs N runs side by side, each a subprocess with one torch thread
(``OMP_NUM_THREADS=1``, ``threads = 1``); runs are ordered seed-major, so a sitting
that stops early leaves whole seeds done across estimators.

Optional rows (issue 19), run only when named: ``--extra reinforce_rej raft stratified
stratified_gigpo empg epo spa curriculum`` adds them to the default five (or name the
rows exactly with ``--estimators grpo epo spa``). EMPG, EPO and the curriculum ride on
GRPO, so their "Δ vs GRPO" is the modifier alone. Every row is parsed into the env's
TrainConfig before anything runs; an unknown or invalid row stops the script with the
list of choices.

``report`` writes ``STUDY/report.md`` and ``STUDY/report.json`` and, with ``--docs``,
one learning-curve PNG per env: per (env, estimator) the final success over seeds
(mean ± std, a t-interval over seeds and a bootstrap interval over tasks), the area
under the validation curve, the paired difference against GRPO with a sign-flip
permutation test over seeds × tasks (:func:`agentgym.evaluation.stats.compare_rates`,
seeds as strata), GiGPO's step-group statistics and IGPO's gain–success correlation.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

# The estimators compared, as `agentgym train` flags. GiGPO with IGPO rewards is
# GiGPO whose step-level rewards are IGPO's information gains (TrainConfig.step_rewards).
ESTIMATORS: dict[str, list[str]] = {
    "grpo": ["--estimator", "grpo"],
    "rloo": ["--estimator", "rloo"],
    "gigpo": ["--estimator", "gigpo"],
    "igpo": ["--estimator", "igpo"],
    "gigpo_igpo": ["--estimator", "gigpo", "--step_rewards", "igpo"],
}
# Optional rows (issue 19): the other methods, run only when named (``--estimators`` or
# ``--extra``). EMPG, EPO and the curriculum modify an estimator rather than replace it;
# their rows put them on GRPO, the baseline, so that "Δ vs GRPO" is the modifier's
# effect alone. Every row is checked against TrainConfig when the grid is built.
OPTIONAL_ESTIMATORS: dict[str, list[str]] = {
    "reinforce_rej": ["--estimator", "reinforce_rej"],
    "raft": ["--estimator", "raft"],
    "stratified": ["--estimator", "stratified"],
    "stratified_gigpo": ["--estimator", "stratified_gigpo"],
    "empg": ["--estimator", "grpo", "--empg", "true"],
    "epo": ["--estimator", "grpo", "--epo", "true"],
    "spa": ["--estimator", "spa"],
    "curriculum": ["--estimator", "grpo", "--curriculum", "true"],
}
ALL_ESTIMATORS: dict[str, list[str]] = {**ESTIMATORS, **OPTIONAL_ESTIMATORS}
IGPO_ESTIMATORS = ("igpo", "gigpo_igpo")
GIGPO_ESTIMATORS = ("gigpo", "gigpo_igpo")
BASELINE = "grpo"
BUDGET_KEYS = (
    "iterations",
    "tasks_per_iter",
    "group_size",
    "eval_every",
    "eval_tasks",
    "final_eval_tasks",
)


@dataclass(frozen=True)
class StudyEnv:
    """One env of the study: its training config (the budget and the method settings),
    the behaviour-cloning config that builds its warm start, and how to evaluate it."""

    name: str
    train_config: Path
    sft_config: Path
    env: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    max_turns: int = 12


ENVS: dict[str, StudyEnv] = {
    "asktoact": StudyEnv(
        "asktoact",
        CONFIGS / "learning_study_asktoact.toml",
        CONFIGS / "asktoact_easy_sft.toml",
        "AskToAct-v0",
        {"difficulty": "easy"},
        12,
    ),
    # ToolCalls-v0's prompts (system + tool schemas ~9,000 characters) are too long for
    # the byte-level tiny model on a CPU. SQL-v0 (easy) without the schema in the prompt
    # (the four generated domains' schemas are fixed: the warm start learns the names, or
    # reads them with list_tables/describe_table): with it, behaviour cloning reached 0%.
    "sql": StudyEnv(
        "sql",
        CONFIGS / "learning_study_sql.toml",
        CONFIGS / "learning_study_sql_sft.toml",
        "SQL-v0",
        {"difficulty": "easy", "backend": "sqlite", "schema_in_prompt": "none"},
        6,  # the oracle needs 4 (list_tables, describe_table, execute, submit)
    ),
}


@dataclass(frozen=True)
class RunSpec:
    env: str
    estimator: str
    seed: int

    def path(self, study: Path) -> Path:
        return study / self.env / self.estimator / f"seed-{self.seed}"


# ----------------------------------------------------------------------------- state
def train_done(run: Path) -> bool:
    return (run / "final" / "config.json").exists() and (run / "metrics.jsonl").exists()


def eval_done(run: Path) -> bool:
    return (run / "eval" / "results.json").exists()


def info_gain_done(run: Path) -> bool:
    return (run / "info_gain.json").exists()


def run_done(run: Path, estimator: str) -> bool:
    return (
        train_done(run)
        and eval_done(run)
        and (estimator not in IGPO_ESTIMATORS or info_gain_done(run))
    )


def grid(envs: Sequence[str], estimators: Sequence[str], seeds: Sequence[int]) -> list[RunSpec]:
    """Seed-major order: every estimator of seed 0 before any of seed 1."""
    return [RunSpec(e, est, s) for s in seeds for e in envs for est in estimators]


def row_config(env: str, estimator: str) -> Any:
    """The TrainConfig of one (env, estimator) row: the env's study config with the
    row's flags, parsed and validated by TrainConfig itself."""
    from agentgym.train import TrainConfig

    return TrainConfig.from_args(
        ["--config", str(ENVS[env].train_config), *ALL_ESTIMATORS[estimator]]
    )


def _choices() -> str:
    return (
        f"the study's rows: {', '.join(ESTIMATORS)}; optional rows: "
        f"{', '.join(OPTIONAL_ESTIMATORS)}"
    )


def check_names(estimators: Sequence[str]) -> None:
    unknown = [e for e in estimators if e not in ALL_ESTIMATORS]
    if unknown:
        raise SystemExit(f"unknown estimator row(s) {', '.join(unknown)}: {_choices()}.")


def check_rows(envs: Sequence[str], estimators: Sequence[str]) -> None:
    """Refuse, before anything runs, a row that is not known or whose flags TrainConfig
    rejects for an env's study config; the message lists the choices."""
    choices = _choices()
    check_names(estimators)
    for env in envs:
        for est in estimators:
            try:
                row_config(env, est)
            except (Exception, SystemExit) as e:  # ConfigError, or argparse's exit
                raise SystemExit(
                    f"row {est!r} ({' '.join(ALL_ESTIMATORS[est])}) is not a valid TrainConfig "
                    f"for {ENVS[env].train_config.name}: {e}. {choices}."
                ) from e


def warm_start_dir(study: Path, env: str) -> Path:
    return study / "warm" / env


# ----------------------------------------------------------------------------- commands
def _agentgym(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentgym", *args]


def train_command(spec: RunSpec, study: Path, budget: dict[str, int]) -> list[str]:
    env = ENVS[spec.env]
    run = spec.path(study)
    return _agentgym(
        "train",
        "--config",
        str(env.train_config),
        "--policy",
        f"hf:{warm_start_dir(study, spec.env)}",
        "--out_dir",
        str(run),
        "--seed",
        str(spec.seed),
        "--resume",
        "true" if run.exists() else "false",
        "--threads",
        "1",
        "--tensorboard",
        "false",
        "--no-progress",
        "--iterations",
        str(budget["iterations"]),
        "--tasks_per_iter",
        str(budget["tasks_per_iter"]),
        "--group_size",
        str(budget["group_size"]),
        "--eval_every",
        str(budget["eval_every"]),
        "--eval_tasks",
        str(budget["eval_tasks"]),
        *ALL_ESTIMATORS[spec.estimator],
    )


def eval_command(spec: RunSpec, study: Path, budget: dict[str, int]) -> list[str]:
    env = ENVS[spec.env]
    run = spec.path(study)
    return _agentgym(
        "eval",
        "--env",
        env.env,
        "--split",
        "val",
        "--n-tasks",
        str(budget["final_eval_tasks"]),
        "--env-kwargs",
        json.dumps(env.env_kwargs),
        "--max-turns",
        str(env.max_turns),
        "--policy",
        f"hf:{run / 'final'}",
        "--policy-kwargs",
        '{"temperature": 0.0}',
        "-k",
        "1",
        "--out",
        str(run / "eval"),
        "--no-progress",
    )


def info_gain_command(spec: RunSpec, study: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "infogain", str(spec.path(study))]


def sft_command(env: StudyEnv, study: Path) -> list[str]:
    return _agentgym(
        "sft",
        "--config",
        str(env.sft_config),
        "--out_dir",
        str(warm_start_dir(study, env.name)),
        "--threads",
        "1",
    )


Execute = Callable[[list[str], Path], int]


def subprocess_execute(cmd: list[str], log: Path) -> int:
    """Run one step as a subprocess with one torch thread, its output appended to ``log``."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        return subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def run_one(spec: RunSpec, study: Path, budget: dict[str, int], execute: Execute) -> str:
    """Bring one run to done: train (or resume), evaluate, score information gain.
    Returns what happened ("skipped", "done", or "failed: STEP")."""
    run = spec.path(study)
    if run_done(run, spec.estimator):
        return "skipped"
    log = run.parent / f"{run.name}.log"
    steps: list[tuple[str, Callable[[], bool], list[str]]] = [
        ("train", lambda: train_done(run), train_command(spec, study, budget)),
        ("eval", lambda: eval_done(run), eval_command(spec, study, budget)),
    ]
    if spec.estimator in IGPO_ESTIMATORS:
        steps.append(("infogain", lambda: info_gain_done(run), info_gain_command(spec, study)))
    for name, done, cmd in steps:
        if done():
            continue
        if name == "train":  # built now: --resume depends on whether the directory exists
            cmd = train_command(spec, study, budget)
        t0 = time.time()
        rc = execute(cmd, log)
        if rc != 0 or not done():
            return f"failed: {name} (exit {rc}; see {log})"
        _record_time(run, name, time.time() - t0)
    return "done"


def _record_time(run: Path, step: str, seconds: float) -> None:
    path = run / "study_times.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times[step] = round(times.get(step, 0.0) + seconds, 1)
    path.write_text(json.dumps(times, indent=1))


def fix_budget(study: Path, budget: dict[str, int]) -> dict[str, int]:
    """The study's budget: written on its first sitting, checked on later ones."""
    path = study / "study.json"
    if path.exists():
        saved = json.loads(path.read_text())["budget"]
        diff = {k: (saved.get(k), v) for k, v in budget.items() if saved.get(k) != v}
        if diff:
            raise SystemExit(
                f"{study} was started with another budget {diff} (saved, asked); every run of a "
                f"study needs the same budget: pass the saved values or use another --study."
            )
        return saved
    study.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {"budget": budget, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            indent=1,
        )
    )
    return budget


def budget_from_args(args: argparse.Namespace, env: StudyEnv) -> dict[str, int]:
    import tomllib

    with open(env.train_config, "rb") as f:
        cfg = tomllib.load(f)
    flat = {**cfg, **cfg.get("eval", {})}
    budget = {k: int(flat.get(k, 0)) for k in BUDGET_KEYS if k != "final_eval_tasks"}
    for key in BUDGET_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            budget[key] = int(value)
    budget.setdefault("final_eval_tasks", 200)
    return budget


def ensure_warm_start(env: StudyEnv, study: Path, execute: Execute) -> None:
    warm = warm_start_dir(study, env.name)
    if (warm / "config.json").exists():
        return
    print(f"building the {env.name} warm start: {' '.join(sft_command(env, study))}", flush=True)
    if (
        execute(sft_command(env, study), study / "warm" / f"{env.name}.log") != 0
        or not (warm / "config.json").exists()
    ):
        raise SystemExit(
            f"behaviour cloning of the {env.name} warm start failed: see {study}/warm/{env.name}.log"
        )


def cmd_run(
    args: argparse.Namespace, execute: Execute = subprocess_execute
) -> list[tuple[RunSpec, str]]:
    study = Path(args.study)
    check_rows(args.envs, args.estimators)
    specs = grid(args.envs, args.estimators, args.seeds)
    budgets = {}
    for name in args.envs:
        env_study = study / name
        budgets[name] = fix_budget(env_study, budget_from_args(args, ENVS[name]))
        ensure_warm_start(ENVS[name], study, execute)
    results: list[tuple[RunSpec, str]] = []
    lock = threading.Lock()

    def work(spec: RunSpec) -> None:
        status = run_one(spec, study, budgets[spec.env], execute)
        with lock:
            results.append((spec, status))
            print(
                f"[{time.strftime('%H:%M:%S')}] {spec.env}/{spec.estimator}/seed-{spec.seed}: {status}",
                flush=True,
            )

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(work, specs))
    return results


def cmd_status(args: argparse.Namespace) -> None:
    study = Path(args.study)
    for spec in grid(args.envs, args.estimators, args.seeds):
        run = spec.path(study)
        state = (
            "done"
            if run_done(run, spec.estimator)
            else "trained"
            if train_done(run)
            else "started"
            if run.exists()
            else "todo"
        )
        print(f"{spec.env:10s} {spec.estimator:11s} seed-{spec.seed}  {state}")


# ----------------------------------------------------------------------------- infogain
def cmd_infogain(args: argparse.Namespace) -> None:
    """Score IGPO's information gain on a run's evaluation episodes with its final policy."""
    import agentgym
    from agentgym.credit import score_information_gain
    from agentgym.trajectory import load_jsonl

    run = Path(args.run)
    import tomllib

    cfg: dict[str, Any] = {}
    if (run / "config.toml").exists():  # the resolved config `agentgym train` saved
        with open(run / "config.toml", "rb") as f:
            cfg = tomllib.load(f)
        cfg = {**cfg, **cfg.get("credit", {})}
    import torch

    torch.set_num_threads(1)
    policy = agentgym.load_policy(f"hf:{run / 'final'}")
    # The first N evaluation episodes (a teacher-forced pass per turn costs about as much
    # as a training iteration's rollouts on a CPU).
    episodes = load_jsonl(run / "eval" / "episodes.jsonl")[: args.episodes]
    score_information_gain(
        policy, episodes, micro_batch_size=8, info_gain=cfg.get("info_gain", "prob")
    )
    rows = []
    for ep in episodes:
        gains = [t.info_gain for t in ep.turns if t.info_gain is not None]
        rows.append(
            {
                "task_id": ep.task_id,
                "success": float(bool(ep.metrics.get("success"))),
                "turns": len(ep.turns),
                "gain_sum": float(sum(gains)),
                "gain_mean": float(sum(gains) / len(gains)) if gains else 0.0,
            }
        )
    out = {
        "episodes": rows,
        "corr_gain_sum_success": _corr([r["gain_sum"] for r in rows], [r["success"] for r in rows]),
        "corr_gain_mean_success": _corr(
            [r["gain_mean"] for r in rows], [r["success"] for r in rows]
        ),
    }
    (run / "info_gain.json").write_text(json.dumps(out, indent=1))


def _corr(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson correlation (point-biserial where ``y`` is 0/1); None when either is constant."""
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


# ----------------------------------------------------------------------------- report
# Two-sided 97.5% quantiles of Student's t for 1..10 degrees of freedom (the CI over seeds).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


@dataclass
class RunResult:
    """What the report reads from one finished run."""

    seed: int
    task_success: Any  # (tasks,) per-task success of the final 200-task evaluation
    task_ids: list[str]
    curve: list[tuple[int, float]]  # (iteration, val/success) of the training's validation
    env_steps: float
    step_shared_frac: list[float]
    step_group_size: list[float]
    info_gain: dict[str, Any] | None
    train_seconds: float | None
    eval_figures: dict[str, float] = field(default_factory=dict)

    @property
    def final(self) -> float:
        return float(self.task_success.mean())

    def auc(self) -> float | None:
        """Area under the validation curve over the iterations it spans, divided by
        that span: the mean validation success over training (trapezoid rule)."""
        if len(self.curve) < 2:
            return None
        xs, ys = zip(*self.curve, strict=True)
        area = sum((xs[i + 1] - xs[i]) * (ys[i] + ys[i + 1]) / 2 for i in range(len(xs) - 1))
        return area / (xs[-1] - xs[0])


# The final evaluation's other figures (agentgym eval's results.json), reported next to
# success: where success does not move (SQL's 0%), the reward and validity still may.
EVAL_FIGURES = ("mean_reward", "invalid_action_rate", "mean_turns")


def eval_figures(eval_dir: Path) -> dict[str, float]:
    figures = json.loads((eval_dir / "results.json").read_text())["entries"][0].get("figures", {})
    return {k: float(figures[k]) for k in EVAL_FIGURES if figures.get(k) is not None}


def load_eval(eval_dir: Path) -> tuple[Any, list[str]]:
    """Per-task success rates (in task-index order) of an ``agentgym eval`` output."""
    import numpy as np

    entry = json.loads((eval_dir / "results.json").read_text())["entries"][0]
    tasks = sorted(entry["tasks"], key=lambda t: t["task_index"])
    return (
        np.array([t["successes"] / max(t["episodes"], 1) for t in tasks], dtype=float),
        [t["task_id"] for t in tasks],
    )


def load_run(run: Path, seed: int) -> RunResult:
    from agentgym.train.logging import read_metrics

    rows = read_metrics(run / "metrics.jsonl")
    curve: dict[int, float] = {}
    for r in rows:  # a resumed run may log an iteration twice: the last line wins
        if "val/success" in r:
            curve[int(r["iteration"])] = float(r["val/success"])
    train_rows = {int(r["iteration"]): r for r in rows if "rollout/success" in r}
    ordered = [train_rows[i] for i in sorted(train_rows)]
    success, ids = load_eval(run / "eval")
    times = (
        json.loads((run / "study_times.json").read_text())
        if (run / "study_times.json").exists()
        else {}
    )
    ig = (
        json.loads((run / "info_gain.json").read_text())
        if (run / "info_gain.json").exists()
        else None
    )
    return RunResult(
        seed=seed,
        task_success=success,
        task_ids=ids,
        curve=sorted(curve.items()),
        env_steps=float(ordered[-1].get("rollout/env_steps_total", 0.0)) if ordered else 0.0,
        step_shared_frac=[
            float(r["credit/step_shared_frac"]) for r in ordered if "credit/step_shared_frac" in r
        ],
        step_group_size=[
            float(r["credit/step_group_size"]) for r in ordered if "credit/step_group_size" in r
        ],
        info_gain=ig,
        train_seconds=times.get("train"),
        eval_figures=eval_figures(run / "eval"),
    )


def _mean_std(xs: Sequence[float]) -> tuple[float, float]:
    n = len(xs)
    m = sum(xs) / n
    return m, (math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else float("nan"))


def summarise_env(
    env: str, study: Path, estimators: Sequence[str], seeds: Sequence[int]
) -> dict[str, Any]:
    """Every figure of one env's table, from the runs that are done."""
    import numpy as np

    from agentgym.evaluation.stats import bootstrap_rate, compare_rates, holm

    runs: dict[str, list[RunResult]] = {}
    for est in estimators:
        done = [
            RunSpec(env, est, s) for s in seeds if run_done(RunSpec(env, est, s).path(study), est)
        ]
        runs[est] = [load_run(spec.path(study), spec.seed) for spec in done]
    rows: dict[str, dict[str, Any]] = {}
    for est, rs in runs.items():
        if not rs:
            rows[est] = {"runs": 0}
            continue
        finals = [r.final for r in rs]
        mean, std = _mean_std(finals)
        half = (
            T975[min(len(rs), len(T975) + 1) - 2] * std / math.sqrt(len(rs))
            if len(rs) > 1
            else float("nan")
        )
        lo, hi = bootstrap_rate(
            [r.task_success for r in rs], [np.ones(len(r.task_success)) for r in rs], seed=0
        )
        aucs = [a for a in (r.auc() for r in rs) if a is not None]
        row: dict[str, Any] = {
            "runs": len(rs),
            "seeds": [r.seed for r in rs],
            "tasks": len(rs[0].task_success),
            "final": finals,
            "mean": mean,
            "std": std,
            "ci_seeds": [mean - half, mean + half],
            "ci_tasks": [lo, hi],
            "auc": aucs,
            "auc_mean": _mean_std(aucs)[0] if aucs else None,
            "auc_std": _mean_std(aucs)[1] if aucs else None,
            "env_steps": _mean_std([r.env_steps for r in rs])[0],
            "train_seconds": _mean_std([r.train_seconds for r in rs if r.train_seconds])[0]
            if any(r.train_seconds for r in rs)
            else None,
            "curves": {r.seed: r.curve for r in rs},
            "eval_figures": {
                k: _mean_std(vs)
                for k in EVAL_FIGURES
                if (vs := [r.eval_figures[k] for r in rs if k in r.eval_figures])
            },
        }
        if est in GIGPO_ESTIMATORS:
            fr = [v for r in rs for v in r.step_shared_frac]
            sz = [v for r in rs for v in r.step_group_size]
            row["step_shared_frac"] = sum(fr) / len(fr) if fr else None
            row["step_group_size"] = sum(sz) / len(sz) if sz else None
            row["step_shared_frac_first_last"] = (
                [
                    _mean_std([r.step_shared_frac[0] for r in rs if r.step_shared_frac])[0],
                    _mean_std([r.step_shared_frac[-1] for r in rs if r.step_shared_frac])[0],
                ]
                if fr
                else None
            )
        if est in IGPO_ESTIMATORS:
            igs = [r.info_gain for r in rs if r.info_gain]
            eps = [e for ig in igs for e in ig["episodes"]]
            corr = [
                ig["corr_gain_sum_success"] for ig in igs if ig["corr_gain_sum_success"] is not None
            ]
            row["ig_corr_per_seed"] = corr
            row["ig_corr_pooled"] = _corr([e["gain_sum"] for e in eps], [e["success"] for e in eps])
            succ = [e["gain_sum"] for e in eps if e["success"]]
            fail = [e["gain_sum"] for e in eps if not e["success"]]
            row["ig_gain_success"] = sum(succ) / len(succ) if succ else None
            row["ig_gain_failure"] = sum(fail) / len(fail) if fail else None
        rows[est] = row
    # Paired differences against the baseline: the same seeds (same task order in
    # training) and the same validation tasks; seeds are the strata of the permutation.
    base = {r.seed: r for r in runs.get(BASELINE, [])}
    diffs: dict[str, dict[str, Any]] = {}
    for est, rs in runs.items():
        if est == BASELINE:
            continue
        pairs = [(base[r.seed], r) for r in rs if r.seed in base]
        if not pairs:
            continue
        d = compare_rates(
            [a.task_success for a, _ in pairs],
            [b.task_success for _, b in pairs],
            paired=True,
            seed=0,
        )
        diffs[est] = {
            "seeds": [b.seed for _, b in pairs],
            "diff": d.diff,
            "ci": [d.low, d.high],
            "p": d.p_value,
        }
    for est, p in zip(diffs, holm([d["p"] for d in diffs.values()]), strict=True):
        diffs[est]["p_holm"] = p
    warm = None
    warm_eval = study / "warm" / f"{env}_eval"
    if (warm_eval / "results.json").exists():
        w, _ = load_eval(warm_eval)
        lo, hi = bootstrap_rate([w], [np.ones(len(w))], seed=0)
        warm = {
            "mean": float(w.mean()),
            "ci_tasks": [lo, hi],
            "tasks": len(w),
            "eval_figures": eval_figures(warm_eval),
        }
        for est, rs in runs.items():  # what RL added: each seed's run against the warm start
            if rs and all(len(r.task_success) == len(w) for r in rs):
                d = compare_rates([w] * len(rs), [r.task_success for r in rs], paired=True, seed=0)
                rows[est]["vs_warm"] = {"diff": d.diff, "ci": [d.low, d.high], "p": d.p_value}
    return {"env": env, "rows": rows, "diffs": diffs, "warm_start": warm}


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def format_env(summary: dict[str, Any], budget: dict[str, Any] | None) -> str:
    rows, diffs, warm = summary["rows"], summary["diffs"], summary["warm_start"]
    lines = [f"## {summary['env']}", ""]
    if budget:
        lines.append(
            f"Budget per run: {budget['iterations']} iterations × {budget['tasks_per_iter']} tasks × "
            f"{budget['group_size']} rollouts; validation curve on {budget['eval_tasks']} val tasks every "
            f"{budget['eval_every']} iterations; final: greedy, {budget['final_eval_tasks']} val tasks."
        )
        lines.append("")
    lines += [
        "| estimator | runs | final success, mean ± std over seeds | 95% CI (seeds, t) | 95% CI (tasks) "
        "| AUC of val curve | Δ vs warm start (p) | Δ vs GRPO [95% CI] | p (perm.) | p (Holm) "
        "| env steps/run | train s/run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    if warm:
        lines.append(
            f"| warm start | – | {_pct(warm['mean'])}% | – | [{_pct(warm['ci_tasks'][0])}, "
            f"{_pct(warm['ci_tasks'][1])}] | – | – | – | – | – | – | – |"
        )
    for est, r in rows.items():
        if not r["runs"]:
            lines.append(f"| {est} | 0 | not run yet | | | | | | | | | |")
            continue
        d = diffs.get(est)
        dtxt = (
            (
                f"{100 * d['diff']:+.1f} [{100 * d['ci'][0]:+.1f}, {100 * d['ci'][1]:+.1f}]",
                f"{d['p']:.3f}",
                f"{d['p_holm']:.3f}",
            )
            if d
            else ("(baseline)" if est == BASELINE else "–", "–", "–")
        )
        auc = f"{_pct(r['auc_mean'])} ± {_pct(r['auc_std'])}" if r["auc_mean"] is not None else "–"
        secs = "–" if r["train_seconds"] is None else f"{r['train_seconds']:.0f}"
        vw = r.get("vs_warm")
        warm_txt = f"{100 * vw['diff']:+.1f} (p={vw['p']:.3f})" if vw else "–"
        lines.append(
            f"| {est} | {r['runs']} | {_pct(r['mean'])} ± {_pct(r['std'])}% | [{_pct(r['ci_seeds'][0])}, "
            f"{_pct(r['ci_seeds'][1])}] | [{_pct(r['ci_tasks'][0])}, {_pct(r['ci_tasks'][1])}] | {auc} | {warm_txt} "
            f"| {dtxt[0]} "
            f"| {dtxt[1]} | {dtxt[2]} | {r['env_steps']:.0f} | {secs} |"
        )
    g = [(e, r) for e, r in rows.items() if e in GIGPO_ESTIMATORS and r["runs"]]
    if g:
        lines += [
            "",
            "GiGPO's step groups (mean over iterations and seeds; first → last iteration):",
            "",
            "| estimator | turns in step groups of size ≥ 2 | first → last iteration | mean step-group size |",
            "|---|---|---|---|",
        ]
        for e, r in g:
            fl = r["step_shared_frac_first_last"]
            lines.append(
                f"| {e} | {_pct(r['step_shared_frac'])}% | {_pct(fl[0])}% → {_pct(fl[1])}% | "
                f"{r['step_group_size']:.2f} |"
            )
    figs = [(e, r["eval_figures"]) for e, r in rows.items() if r["runs"] and r["eval_figures"]]
    if figs:
        lines += [
            "",
            "The final evaluation's other figures (mean ± std over seeds):",
            "",
            "| estimator | mean reward | invalid actions | turns |",
            "|---|---|---|---|",
        ]
        if warm and warm.get("eval_figures"):
            figs.insert(0, ("warm start", {k: (v, None) for k, v in warm["eval_figures"].items()}))

        def fig(f: dict[str, Any], k: str, scale: float, fmt: str) -> str:
            if k not in f:
                return "–"
            m, sd = f[k]
            sd_txt = "" if sd is None or math.isnan(sd) else f" ± {scale * sd:{fmt.lstrip('+')}}"
            return f"{scale * m:{fmt}}{sd_txt}"

        for e, f in figs:
            lines.append(
                f"| {e} | {fig(f, 'mean_reward', 1, '+.3f')} | "
                f"{fig(f, 'invalid_action_rate', 100, '.1f')}% | {fig(f, 'mean_turns', 1, '.2f')} |"
            )
    ig = [(e, r) for e, r in rows.items() if e in IGPO_ESTIMATORS and r["runs"]]
    if ig:
        lines += [
            "",
            "IGPO's information gain on the final evaluation episodes (scored with the final policy; "
            "an episode's gain is the sum over its turns):",
            "",
            "| estimator | corr(gain, success) per seed | pooled | mean gain, successes | mean gain, failures |",
            "|---|---|---|---|---|",
        ]
        for e, r in ig:
            per = ", ".join(f"{c:+.2f}" for c in r["ig_corr_per_seed"]) or "–"
            pooled = "–" if r["ig_corr_pooled"] is None else f"{r['ig_corr_pooled']:+.2f}"
            gs = "–" if r["ig_gain_success"] is None else f"{r['ig_gain_success']:+.2e}"
            gf = "–" if r["ig_gain_failure"] is None else f"{r['ig_gain_failure']:+.2e}"
            lines.append(f"| {e} | {per} | {pooled} | {gs} | {gf} |")
    return "\n".join(lines) + "\n"


def plot_env(summary: dict[str, Any], png: Path) -> Path | None:
    """Two panels: the training's validation curve (mean over seeds per estimator, a
    band of ± one standard deviation) and the final evaluation (each seed a dot, the
    mean with its 95% t-interval over seeds, the warm start as a dashed line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    done = [(e, r) for e, r in summary["rows"].items() if r["runs"]]
    if not done:
        return None
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    for k, (est, r) in enumerate(done):
        color = f"C{k}"
        curves = list(r["curves"].values())
        its = sorted(set.intersection(*(set(i for i, _ in c) for c in curves)))
        if its:
            ys = np.array([[dict(c)[i] for i in its] for c in curves])  # (seeds, points)
            m = ys.mean(axis=0)
            sd = ys.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(len(its))
            ax.plot(its, m, "o-", color=color, label=f"{est} (n={len(curves)})")
            ax.fill_between(its, m - sd, m + sd, color=color, alpha=0.15)
        bx.plot([k] * len(r["final"]), r["final"], "o", color=color, alpha=0.5)
        err = None
        if r["runs"] > 1:
            err = [[r["mean"] - r["ci_seeds"][0]], [r["ci_seeds"][1] - r["mean"]]]
        bx.errorbar([k + 0.15], [r["mean"]], yerr=err, fmt="s", color=color, capsize=4)
    if summary["warm_start"]:
        bx.axhline(summary["warm_start"]["mean"], color="grey", ls="--", lw=1, label="warm start")
        bx.legend(fontsize=8)
    n_val = summary.get("budget", {}) or {}
    ax.set_xlabel("iteration")
    ax.set_ylabel("greedy validation success")
    ax.set_title(
        f"{summary['env']}: validation during training ({n_val.get('eval_tasks', '?')} tasks)"
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    bx.set_xticks(range(len(done)), [e for e, _ in done], rotation=20)
    bx.set_xlim(-0.5, len(done) - 0.3)
    bx.set_title(f"final, {n_val.get('final_eval_tasks', '?')} val tasks: seeds, mean, 95% CI")
    bx.grid(alpha=0.3, axis="y")
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def write_report(args: argparse.Namespace) -> dict[str, Any]:
    study = Path(args.study)
    out: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "envs": {},
    }
    parts = [f"# Learning study ({out['generated']})", ""]
    for env in args.envs:
        summary = summarise_env(env, study, args.estimators, args.seeds)
        budget_path = study / env / "study.json"
        budget = json.loads(budget_path.read_text())["budget"] if budget_path.exists() else None
        summary["budget"] = budget
        parts.append(format_env(summary, budget))
        if args.docs:
            png = plot_env(summary, Path(args.docs) / f"{env}.png")
            if png:
                parts.append(f"![{env} learning curves]({png})\n")
        out["envs"][env] = summary
    text = "\n".join(parts)
    (study / "report.md").write_text(text)
    (study / "report.json").write_text(json.dumps(out, indent=1, default=str))
    print(text)
    return out


def main(argv: Sequence[str] | None = None, execute: Execute = subprocess_execute) -> Any:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def grid_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--study", default="runs/learning_study", help="the study directory")
        p.add_argument("--envs", nargs="+", default=["asktoact"], choices=sorted(ENVS))
        p.add_argument(
            "--estimators",
            nargs="+",
            default=list(ESTIMATORS),
            metavar="ROW",
            help=f"rows (default: the study's {' '.join(ESTIMATORS)}; optional: "
            f"{' '.join(OPTIONAL_ESTIMATORS)})",
        )
        p.add_argument(
            "--extra",
            nargs="+",
            default=[],
            metavar="ROW",
            help="optional rows added to --estimators: "
            f"{' '.join(OPTIONAL_ESTIMATORS)} (EMPG, EPO, curriculum on GRPO)",
        )
        p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])

    p_run = sub.add_parser(
        "run", help="train, evaluate and score every run of the grid not yet done"
    )
    grid_args(p_run)
    p_run.add_argument(
        "--jobs", type=int, default=1, help="runs side by side (one torch thread each)"
    )
    for key in BUDGET_KEYS:
        p_run.add_argument(
            f"--{key.replace('_', '-')}",
            dest=key,
            type=int,
            default=None,
            help=f"budget: {key} (default: the env's study config; final_eval_tasks 200)",
        )
    p_status = sub.add_parser("status", help="what is done, started or left")
    grid_args(p_status)
    p_report = sub.add_parser("report", help="tables, tests and learning curves of what is done")
    grid_args(p_report)
    p_report.add_argument("--docs", default=None, help="also write the learning-curve PNGs here")
    p_ig = sub.add_parser(
        "infogain", help="(internal) IGPO's information gain on a run's evaluation episodes"
    )
    p_ig.add_argument("run")
    p_ig.add_argument(
        "--episodes", type=int, default=40, help="score the first N evaluation episodes"
    )
    args = parser.parse_args(argv)
    if hasattr(args, "extra"):
        args.estimators = list(dict.fromkeys([*args.estimators, *args.extra]))
        check_names(args.estimators)
    if args.command == "run":
        return cmd_run(args, execute)
    if args.command == "status":
        return cmd_status(args)
    if args.command == "infogain":
        return cmd_infogain(args)
    return write_report(args)


if __name__ == "__main__":
    main()
