"""The seeds' other methods in the trainer: two iterations each on the tiny
model (Reinforce-Rej, RAFT, Stratified GRPO, EMPG), their config validation."""

from __future__ import annotations

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
