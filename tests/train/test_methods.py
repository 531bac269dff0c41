"""The seeds' other methods in the trainer: two iterations each on the tiny
model (Reinforce-Rej, RAFT, Stratified GRPO, EMPG, EPO, SPA), their config
validation, and exact resume of the state they keep (curriculum, EPO's entropy
history, SPA's progress estimator)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.train import train
from agentgym.train.config import TrainConfig
from agentgym.train.run import TrainingRun


@pytest.fixture
def one_success_per_group(monkeypatch):
    """The untrained tiny model never solves a task: mark the first episode of
    each group solved (reward 1 on its last turn), so that the selections keep
    something and the advantages are not all zero."""
    real = TrainingRun._collect

    def collect(self, tasks, *, group_size, split, seed):
        trajectories = real(self, tasks, group_size=group_size, split=split, seed=seed)
        seen: set[str] = set()
        for t in trajectories if split == "train" else []:
            if t.group_id not in seen and t.turns:
                seen.add(t.group_id)
                t.metrics["success"] = 1.0
                t.turns[-1].reward = 1.0
        return trajectories

    monkeypatch.setattr(TrainingRun, "_collect", collect)


def _moved(policy) -> bool:
    import agentgym

    before = agentgym.load_policy("tiny").model.parameters()
    return any(not torch.equal(a, b) for a, b in zip(policy.model.parameters(), before, strict=True))


def test_reinforce_rej_trains_on_mixed_groups_and_logs_its_rule(tiny_config, one_success_per_group) -> None:
    result = train(tiny_config.replace(estimator="reinforce_rej"))
    for m in result.metrics:
        assert m["credit/rej_groups"] == 2.0
        assert m["credit/rej_groups_dropped"] == m["credit/rej_groups_dropped_all_max"] + m["credit/rej_groups_dropped_all_min"]
        assert m["train/optimizer_steps"] + m["train/empty_steps"] == 1.0
    assert any(m["train/optimizer_steps"] == 1.0 for m in result.metrics) and _moved(result.policy)


def test_reinforce_rej_with_every_group_rejected_changes_nothing(tiny_config) -> None:
    # Untrained: every episode fails, every group is dropped: empty steps, no update.
    result = train(tiny_config.replace(estimator="reinforce_rej"))
    assert [m["credit/rej_groups_dropped_all_min"] for m in result.metrics] == [2.0, 2.0]
    assert [m["train/empty_steps"] for m in result.metrics] == [1.0, 1.0]
    assert not _moved(result.policy)


def test_raft_takes_sft_steps_on_successes_at_logged_env_steps(tiny_config, one_success_per_group) -> None:
    result = train(tiny_config.replace(estimator="raft"))
    m0, m1 = result.metrics
    assert m0["credit/raft_kept"] == 2.0 and m0["credit/raft_kept_frac"] == pytest.approx(0.5)
    assert m0["loss/nll"] > 0 and "loss/pg" not in m0 and "loss/clip_frac" not in m0
    assert m1["rollout/env_steps_total"] == m0["rollout/env_steps"] + m1["rollout/env_steps"]
    assert m0["train/optimizer_steps"] == 1.0 and _moved(result.policy)


@pytest.mark.parametrize("estimator", ["stratified", "stratified_gigpo"])
def test_stratified_runs_and_logs_its_strata(tiny_config, one_success_per_group, estimator) -> None:
    result = train(tiny_config.replace(estimator=estimator, strata_alpha=0.5))
    m = result.metrics[-1]
    assert 1.0 <= m["credit/strata"] <= 4.0 and "credit/strata_singleton_frac" in m
    assert ("credit/step_shared_frac" in m) == (estimator == "stratified_gigpo")
    assert m["train/optimizer_steps"] == 1.0 and _moved(result.policy)


def test_empg_modulates_with_the_step_entropies_of_the_pre_update_pass(tiny_config, one_success_per_group) -> None:
    result = train(tiny_config.replace(estimator="grpo", empg=True, empg_zeta=0.05))
    m = result.metrics[-1]
    assert 0.0 < m["credit/step_entropy_min"] <= m["credit/step_entropy_mean"] <= m["credit/step_entropy_max"]
    assert m["time/precompute"] > 0 and m["train/optimizer_steps"] == 1.0 and _moved(result.policy)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"estimator": "raft", "kl_coef": 0.1}, "SFT loss"),
        ({"estimator": "raft", "empg": True}, "empg=false"),
        ({"estimator": "stratified", "strata_key": "tool_count"}, "strata key"),
        ({"strata_alpha": 1.5}, "strata_alpha"),
        ({"empg_k": -1.0}, "empg_k"),
        ({"rej_drop": "none"}, "rej_drop"),
        ({"estimator": "reinforce_rej", "group_size": 1}, "group_size"),
        ({"estimator": "stratified", "step_rewards": "igpo"}, "stratified_gigpo"),
        ({"epo": True, "entropy_coef": 0.01}, "entropy_coef=0"),
        ({"epo": True, "estimator": "raft"}, "epo=false"),
        ({"epo_band": (1.2, 1.5)}, "epo_band"),
        ({"epo_band": (0.5,)}, "epo_band"),
        ({"epo_window": 0}, "epo_window"),
        ({"epo_coef": float("nan")}, "epo_coef"),
        ({"spa_steps": -1}, "spa_steps"),
        ({"spa_beta": -0.5}, "spa_beta"),
        ({"spa_gamma": 2.0}, "spa_gamma"),
    ],
)
def test_invalid_method_options_fail_with_the_fix(changes: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**changes)


def test_methods_load_from_toml_and_the_command_line(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[credit]\nestimator = "stratified"\nstrata_key = "metric:questions_asked"\nstrata_alpha = 0.3\n'
                    'empg = true\nempg_zeta = 0.2\n')
    cfg = TrainConfig.from_toml(path)
    assert (cfg.strata_key, cfg.strata_alpha, cfg.empg, cfg.empg_zeta) == ("metric:questions_asked", 0.3, True, 0.2)
    assert cfg.credit_params() == {"alpha": 0.3, "key": "metric:questions_asked", "norm": "mean_std"}
    cli = TrainConfig.from_args(["--estimator", "reinforce_rej", "--rej_drop", "all_failure"])
    assert (cli.estimator, cli.rej_drop, cli.credit_params()) == ("reinforce_rej", "all_failure", {})
    again = TrainConfig.from_toml(cfg.save(tmp_path / "saved.toml"))
    assert again == cfg
    path.write_text('[credit]\nestimator = "spa"\nspa_beta = 0.25\nepo = true\nepo_band = [0.6, 1.4]\n'
                    'epo_schedule = "constant"\n')
    cfg = TrainConfig.from_toml(path)
    assert (cfg.estimator, cfg.spa_beta, cfg.epo, cfg.epo_band, cfg.epo_schedule) == ("spa", 0.25, True, (0.6, 1.4),
                                                                                      "constant")
    assert cfg.credit_params() == {"alpha": 1.0, "beta": 0.25, "gamma": 1.0, "norm": "mean_std"}
    assert TrainConfig.from_toml(cfg.save(tmp_path / "saved2.toml")) == cfg
    cli = TrainConfig.from_args(["--epo", "true", "--epo_band", "0.4,2", "--epo_coef", "0.05", "--estimator", "spa",
                                 "--spa_steps", "5"])
    assert (cli.epo, cli.epo_band, cli.epo_coef, cli.estimator, cli.spa_steps) == (True, (0.4, 2.0), 0.05, "spa", 5)


def _comparable(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith(("time/", "perf/"))}


def test_curriculum_replays_mixed_tasks_and_resumes_exactly(tiny_config, tmp_path, one_success_per_group) -> None:
    cfg = tiny_config.replace(iterations=3, checkpoint_every=1, curriculum=True, curriculum_replay=0.5,
                              estimator="grpo")
    full = train(cfg.replace(out_dir=str(tmp_path / "full")))
    m0, m1, _ = full.metrics
    assert (m0["curriculum/fresh"], m0["curriculum/frontier"]) == (2.0, 0.0)
    # Every task's first episode is made a success, its second fails: rate 1/2, a frontier task.
    assert (m1["curriculum/frontier_pool"], m1["curriculum/frontier"], m1["curriculum/fresh"]) == (2.0, 1.0, 1.0)
    killed = cfg.replace(out_dir=str(tmp_path / "killed"))
    train(killed, stop_after=2)
    resumed = train(killed.replace(resume=True))
    assert _comparable(resumed.metrics[0]) == _comparable(full.metrics[2])


def test_epo_adds_its_trajectory_entropy_terms_and_keeps_a_history(tiny_config, one_success_per_group) -> None:
    result = train(tiny_config.replace(estimator="grpo", epo=True, epo_coef=0.1, iterations=2))
    m0, m1 = result.metrics
    # Iteration 0 has no history (no smoothing yet); iteration 1's band is iteration 0's entropy.
    assert "credit/epo_reference_entropy" not in m0 and m0["loss/epo_penalty"] == 0.0
    first = result.state.epo_history[0]  # iteration 0's mean step entropy at turn index 0 and 1
    assert m1["credit/epo_reference_entropy"] == pytest.approx(sum(first) / 2)
    assert m0["credit/epo_beta"] == 1.0 and m1["credit/epo_beta"] == pytest.approx(0.8)  # phase 1/2 of 2
    assert m0["loss/epo_entropy"] > 0 and 0.0 <= m1["loss/epo_out_of_band_frac"] <= 1.0
    assert len(result.state.epo_history) == 2 and min(first) <= m0["credit/epo_step_entropy"] <= max(first)
    assert all(m["train/optimizer_steps"] == 1.0 for m in result.metrics) and _moved(result.policy)


def test_spa_learns_contributions_and_trains_the_policy(tiny_config, one_success_per_group) -> None:
    result = train(tiny_config.replace(estimator="spa"))
    m0, m1 = result.metrics
    assert m0["credit/spa_contribution_mean"] == 0.0  # the head starts at zero and scores before it is fitted
    assert m1["credit/spa_contribution_mean"] != 0.0 and m0["credit/spa_progress_loss"] > 0
    assert m0["time/spa"] > 0 and set(result.state.spa) == {"head", "optimizer"}  # stored by the final checkpoint
    assert all(m["train/optimizer_steps"] == 1.0 for m in result.metrics) and _moved(result.policy)


def test_epo_and_spa_state_resumes_exactly(tiny_config, tmp_path, one_success_per_group) -> None:
    cfg = tiny_config.replace(iterations=3, checkpoint_every=1, estimator="spa", epo=True, epo_coef=0.1,
                              epo_band=(0.9, 1.01))
    full = train(cfg.replace(out_dir=str(tmp_path / "full")))
    assert full.metrics[2]["loss/epo_penalty"] >= 0 and set(full.state.spa) == {"head", "optimizer"}
    killed = cfg.replace(out_dir=str(tmp_path / "killed"))
    train(killed, stop_after=2)
    resumed = train(killed.replace(resume=True))
    assert _comparable(resumed.metrics[0]) == _comparable(full.metrics[2])
    assert resumed.state.epo_history == full.state.epo_history
    assert all(torch.equal(a, b) for a, b in zip(resumed.policy.model.parameters(), full.policy.model.parameters(),
                                                 strict=True))


def test_curriculum_generates_tasks_next_to_failed_ones(tiny_config) -> None:
    # Untrained, every episode fails: iteration 1 replays nothing (replay 0) and makes
    # one task next to a failed one (near 0.5 of 2), GuessNumber's easy level.
    cfg = tiny_config.replace(estimator="grpo", curriculum=True, curriculum_replay=0.0, curriculum_near=0.5,
                              env_kwargs={"difficulty": "medium"}, save_rollouts=True)
    result = train(cfg)
    m0, m1 = result.metrics
    assert (m0["curriculum/near"], m1["curriculum/near"], m1["curriculum/fresh"]) == (0.0, 1.0, 1.0)
    near = [k for k in result.state.curriculum["outcomes"] if isinstance(k, str)]
    assert len(near) == 1 and near[0] in ("0~0", "1~0")
    rows = [json.loads(line) for line in (Path(cfg.out_dir) / "rollouts.jsonl").read_text().splitlines()]
    played = {r["task_id"] for r in rows if r["meta"]["task_index"] == near[0]}
    assert len(played) == 1 and played.pop().startswith("guess_number/train/easy/")
    assert result.state.task_cursor == 3  # two fresh tasks, then one


def test_curriculum_near_needs_a_generator_that_makes_them(tiny_config) -> None:
    from agentgym.tasks import Task

    fixed = [{"id": "t0", "prompt": "Guess a number between 1 and 3.", "answer": "2", "meta": {"secret": 2}}]
    with pytest.raises(ConfigError, match="curriculum_near = 0"):
        train(tiny_config.replace(curriculum=True, curriculum_near=0.5, env_kwargs={"tasks": fixed}))
    assert Task.from_dict(fixed[0]).id == "t0"
