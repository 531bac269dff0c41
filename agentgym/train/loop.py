"""The RL training loop, top to bottom.

::

    for iteration in range(start, config.iterations):
        trajectories = rollout(...)              # G episodes for each of this process's tasks
        mask_unavailable(...)                    # drop episodes whose judged reward part is unavailable
        reweight_rewards(...)                    # only with reward_weights: shape the reward
        filter_groups(...)                       # only with filter_groups: drop groups of equal returns
        reject_groups(...) / raft_select(...)    # reinforce_rej: drop all-solved/all-failed groups; raft: successes
        score_information_gain(policy, ...)      # IGPO only: one batched no-grad pass over the groups kept
        progress.features / predict / fit        # SPA only: hidden states at turn ends -> contributions; head update
        advantages = compute_advantages(...)     # GRPO / RLOO / GiGPO / IGPO / Reinforce-Rej / Stratified / SPA
        precompute(...)                          # no-grad passes: old log-probs, reference, step entropies
        empg(advantages, entropies)              # only with empg: entropy-modulated advantages
        set_epo(...)                             # only with epo: turn weights, historical entropy band
        update_policy(...)                       # PPO-clip (+ EPO's entropy terms; RAFT: SFT), AdamW
        log, validate, checkpoint

Distribution: launched with ``accelerate launch``, each process collects the
rollouts of its own share of the tasks (whole groups stay on one process, so
group statistics never need communication) and gradients are summed across
processes at every optimizer step (:mod:`agentgym.train.update`).

>>> from agentgym.train import TrainConfig, train
>>> result = train(TrainConfig(env="GuessNumber-v0", iterations=2))   # doctest: +SKIP
>>> result.metrics[-1]["rollout/success"]                             # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.credit import (
    advantage_metrics,
    compute_advantages,
    empg,
    empg_metrics,
    filter_groups,
    needs_scoring,
    raft_select,
    reject_groups,
    rejection_stats,
    reweight_rewards,
    score_information_gain,
    step_group_stats,
    strata_stats,
)
from agentgym.credit.epo import epo_history_entry, epo_reference, phase_weight
from agentgym.evaluation.summary import episode_means, episode_totals
from agentgym.rewards.env import mask_unavailable
from agentgym.rewards.monitor import agreement_counts, agreement_from_counts
from agentgym.train import curriculum
from agentgym.train.checkpoint import TrainState
from agentgym.train.config import TrainConfig
from agentgym.train.run import TrainingRun
from agentgym.train.update import (
    Dist,
    Unit,
    build_samples,
    build_units,
    needs_entropy,
    precompute,
    set_advantages,
    set_epo,
    turn_entropies,
    update_policy,
)
from agentgym.trajectory import Trajectory

__all__ = ["train", "TrainResult", "rollout_metrics"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, dict[str, float]], None]

# Warn when the judge and the verifier agree on fewer than this fraction of an
# iteration's judged episodes (at least AGREEMENT_MIN_EPISODES of them).
AGREEMENT_WARN = 0.8
AGREEMENT_MIN_EPISODES = 8


@dataclass
class TrainResult:
    """What a run produced: per-iteration metrics, the final policy and where it lies."""

    metrics: list[dict[str, float]]
    policy: Any
    out_dir: Path
    final_dir: Path | None = None
    curve: Path | None = None
    state: TrainState = field(default_factory=TrainState)


def train(
    config: TrainConfig,
    *,
    progress: Progress | None = None,
    accelerator: Any = None,
    stop_after: int | None = None,
) -> TrainResult:
    """Run RL training as configured (resuming if ``config.resume``).

    ``progress(iteration, metrics)`` is called after each iteration (the CLI
    draws its progress bar with it). ``stop_after=k`` returns right after the
    k-th iteration of this call and its checkpoint, as if the process had been
    killed there (tests use it to check exact resume).
    """
    run = TrainingRun.create(config, accelerator)
    try:
        return _train(run, progress, stop_after)
    finally:
        run.close()


def _train(run: TrainingRun, progress: Progress | None, stop_after: int | None) -> TrainResult:
    config = run.config
    history: list[dict[str, float]] = []
    if run.state.iteration == 0:
        run.log(0, run.validate())  # the starting point of the learning curve
    for done, iteration in enumerate(range(run.state.iteration, config.iterations), start=1):
        metrics: dict[str, float] = {}
        t0 = time.perf_counter()
        # 1. Rollouts: group_size episodes for each of this process's tasks (the
        #    next fresh ones, or the curriculum's pick).
        trajectories = _curriculum_rollout(run, iteration, metrics) if config.curriculum else run.rollout(iteration)
        steps = run.dist.sum_floats({"rollout/env_steps": float(sum(len(t.turns) for t in trajectories))})
        run.state.env_steps += int(steps["rollout/env_steps"])
        metrics.update(steps)
        metrics["rollout/env_steps_total"] = float(run.state.env_steps)
        metrics.update(_judge_monitor(trajectories, run.dist, iteration))
        # Episodes with a reward part nobody could compute (a judge that timed out)
        # are neither trained on nor counted in the reward statistics.
        trajectories, masked = mask_unavailable(trajectories)
        metrics.update(rollout_metrics(trajectories, run.dist))
        metrics["rollout/reward_unavailable"] = run.dist.sum_floats({"n": float(len(masked))})["n"]
        if config.reward_weights:  # the training reward: reweighted reward parts
            trajectories = reweight_rewards(trajectories, config.reward_weights)
            metrics["rollout/train_return"] = rollout_metrics(trajectories, run.dist)["rollout/return"]
        t1 = time.perf_counter()
        # 2. The groups trained on: filter_groups decides on episode returns (never
        #    on information gains), so it runs first and scoring skips dropped groups.
        trainable = [t for t in trajectories if not t.failed]
        if config.filter_groups:
            trainable, dropped = filter_groups(trainable)
            metrics.update(run.dist.sum_floats(dropped.as_metrics()))
        trainable = _select(config, trainable, metrics, run.dist)
        # 3. IGPO scoring (only if the estimator reads Turn.info_gain).
        if needs_scoring(config.estimator, config.credit_params()):
            score_information_gain(run.policy, trainable, micro_batch_size=config.micro_batch_size,
                                   temperature=config.temperature, info_gain=config.info_gain)
        params = config.credit_params()
        if config.estimator == "spa":  # SPA: the progress estimator's contributions (a no-grad pass)
            params["contributions"] = _spa_contributions(run, trainable, metrics)
        t2 = time.perf_counter()
        # 4. Credit assignment: one advantage per turn.
        advantages = compute_advantages(config.estimator, trainable, **params)
        units = build_units(build_samples(trainable, advantages), pack=config.pack)
        t3 = time.perf_counter()
        if config.estimator in ("gigpo", "stratified_gigpo"):
            metrics.update(step_group_stats(trainable, similarity=config.similarity))
        if config.estimator in ("stratified", "stratified_gigpo"):
            metrics.update(strata_stats(trainable, config.strata_key))
        # 5. No-grad passes before the update: old log-probs (several epochs or
        #    mini-batches), the reference (KL), the step entropies (EMPG).
        precompute(run.train_model, run.reference, units, config, run.pad_token_id)
        entropies = turn_entropies(units, trainable) if needs_entropy(config) else []
        if config.empg:  # entropy-modulated advantages, then into the samples
            advantages = empg(advantages, entropies, k=config.empg_k, k_future=config.empg_k_future,
                              zeta=config.empg_zeta)
            set_advantages(units, advantages)
            metrics.update(empg_metrics(entropies))
        epo_smooth = _epo(run, units, trainable, entropies, iteration, metrics) if config.epo else 0.0
        metrics.update(advantage_metrics(advantages))
        t35 = time.perf_counter()
        metrics["time/precompute"] = t35 - t3
        # 6. Policy update: PPO-clip (RAFT: SFT) epochs over mini-batches of turns
        #    (packed per trajectory where the tokens chain), AdamW.
        metrics.update(update_policy(run.train_model, run.optimizer, run.scheduler, units, config,
                                     pad_token_id=run.pad_token_id, iteration=iteration, dist=run.dist,
                                     epo_smooth=epo_smooth))
        metrics["train/rows"] = float(len(units))
        t4 = time.perf_counter()
        run.state.iteration = iteration + 1
        run.state.optimizer_steps += int(metrics["train/optimizer_steps"])
        run.state.skipped_steps += int(metrics["train/skipped_steps"])
        # 7. Log, validate, checkpoint.
        metrics.update(_timing(t0, t1, t2, t3, t4, metrics))
        run.log(iteration, metrics)
        history.append({"iteration": iteration, **metrics})
        if _due(iteration + 1, config.eval_every, config.iterations):
            val = run.validate()
            run.log(iteration + 1, val)  # validation of the policy after iteration + 1 updates
            history[-1].update(val)
        if progress is not None:
            progress(iteration, history[-1])
        if _due(iteration + 1, config.checkpoint_every, config.iterations):
            run.checkpoint()
        if stop_after is not None and done >= stop_after:
            return TrainResult(history, run.policy, run.out_dir, state=run.state)
    final, curve = run.finish()
    return TrainResult(history, run.policy, run.out_dir, final, curve, run.state)


def _curriculum_rollout(run: TrainingRun, iteration: int, metrics: dict[str, float]) -> list[Trajectory]:
    """``run.rollout`` on the tasks :func:`agentgym.train.curriculum.pick` chooses,
    then the results recorded (summed over processes: every process keeps the
    same curriculum state, so all pick the same tasks)."""
    cfg = run.config
    indices, mix = curriculum.pick(run.state.curriculum, cfg.tasks_per_iter, cursor=run.state.task_cursor,
                                   seed=cfg.seed, iteration=iteration, replay=cfg.curriculum_replay,
                                   retries=cfg.curriculum_retries, near=cfg.curriculum_near)
    metrics.update(mix)
    trajectories = run.rollout(iteration, indices)
    run.state.task_cursor += int(mix["curriculum/fresh"])
    counts = dict.fromkeys((f"{i}/{k}" for i in indices for k in ("s", "n")), 0.0)
    for t in trajectories:
        i = t.meta["task_index"]
        counts[f"{i}/s"] += float(t.success)
        counts[f"{i}/n"] += 1.0
    counts = run.dist.sum_floats(counts)
    curriculum.record(run.state.curriculum, {i: (counts[f"{i}/s"], counts[f"{i}/n"]) for i in indices},
                      window=cfg.curriculum_window)
    return trajectories


def _spa_contributions(run: TrainingRun, trainable: list[Trajectory], metrics: dict[str, float]) -> list[list[float]]:
    """SPA: each turn's contribution from the progress estimator as trained so far,
    then the estimator fitted on this iteration's trajectories (it scores
    episodes it has not seen)."""
    cfg = run.config
    t0 = time.perf_counter()
    run.model.eval()
    feats = run.progress.features(run.model, trainable, pad_token_id=run.pad_token_id,
                                  micro_batch_size=cfg.micro_batch_size)
    contributions = run.progress.predict(feats)
    before = run.progress.fit(feats, [t.episode_return for t in trainable], steps=cfg.spa_steps, dist=run.dist)
    flat = [c for row in contributions for c in row]
    sums = run.dist.sum_floats({"c": sum(flat), "n": float(len(flat)),
                                "loss": before * len(trainable) if before == before else 0.0,
                                "trajectories": float(len(trainable))})
    metrics["credit/spa_contribution_mean"] = sums["c"] / max(sums["n"], 1.0)
    metrics["credit/spa_progress_loss"] = sums["loss"] / max(sums["trajectories"], 1.0)
    metrics["time/spa"] = time.perf_counter() - t0
    return contributions


def _epo(run: TrainingRun, units: list[Unit], trainable: list[Trajectory], entropies: list[list[float | None]],
         iteration: int, metrics: dict[str, float]) -> float:
    """EPO: give the samples their trajectory weights and the historical
    reference entropies, then add this iteration's step entropies (measured
    before the update, all processes) to the history; returns the smoothing's
    weight ``beta_k * epo_smooth_coef``."""
    cfg = run.config
    turns = [0] * len(trainable)
    for unit in units:
        for sample in unit:
            turns[sample.trajectory] += 1
    width = max([cfg.max_turns, *(len(t.turns) for t in trainable)])
    refs = epo_reference(run.state.epo_history, cfg.epo_window, width)
    set_epo(units, turns, refs)
    sums, counts = epo_history_entry(entropies)
    sums, counts = sums + [0.0] * (width - len(sums)), counts + [0.0] * (width - len(counts))
    total = run.dist.sum_floats({**{f"s{t}": v for t, v in enumerate(sums)},
                                 **{f"n{t}": v for t, v in enumerate(counts)}})
    entry = [total[f"s{t}"] / total[f"n{t}"] if total[f"n{t}"] else None for t in range(width)]
    run.state.epo_history = [*run.state.epo_history, entry][-cfg.epo_window :]
    beta = phase_weight(iteration, cfg.iterations) if cfg.epo_schedule == "phase" else 1.0
    n = sum(total[f"n{t}"] for t in range(width))
    metrics["credit/epo_beta"] = beta
    metrics["credit/epo_step_entropy"] = sum(total[f"s{t}"] for t in range(width)) / n if n else 0.0
    if refs is not None:
        metrics["credit/epo_reference_entropy"] = sum(refs) / len(refs)
    return beta * cfg.epo_smooth_coef


def _judge_monitor(trajectories: list[Trajectory], dist: Dist, iteration: int) -> dict[str, float]:
    """``rewards/judge_agreement`` (and episodes, false passes) where episodes carry
    a judge verdict next to the verifier's; a warning when they diverge."""
    agreement = agreement_from_counts(dist.sum_floats(agreement_counts(trajectories)))
    if not agreement:
        return {}
    if agreement["judge_episodes"] >= AGREEMENT_MIN_EPISODES and agreement["judge_agreement"] < AGREEMENT_WARN:
        logger.warning(
            "iteration %d: the judge agrees with the verifier on only %.0f%% of %d episodes (judge passed %.0f%% "
            "the verifier failed): the policy may be learning to fool the judge (agentgym.rewards.monitor).",
            iteration, 100 * agreement["judge_agreement"], agreement["judge_episodes"],
            100 * agreement["judge_false_pass"])
    return {f"rewards/{k}": v for k, v in agreement.items()}


def _select(config: TrainConfig, trainable: list[Trajectory], metrics: dict[str, float], dist: Dist) -> list[Trajectory]:
    """The estimator's own selection: Reinforce-Rej's rejection rule (which groups
    it dropped and why is logged) or RAFT's successful episodes."""
    if config.estimator == "reinforce_rej":
        kept, decisions = reject_groups(trainable, drop=config.rej_drop)
        metrics.update(dist.sum_floats(rejection_stats(decisions).as_metrics("credit/rej_")))
        return kept
    if config.estimator == "raft":
        kept = raft_select(trainable)
        counts = dist.sum_floats({"kept": float(len(kept)), "seen": float(len(trainable))})
        metrics["credit/raft_kept"] = counts["kept"]
        metrics["credit/raft_kept_frac"] = counts["kept"] / counts["seen"] if counts["seen"] else 0.0
        return kept
    return trainable


def _due(done: int, every: int, total: int) -> bool:
    return done == total or (every > 0 and done % every == 0)


def _timing(t0: float, t1: float, t2: float, t3: float, t4: float, m: dict[str, float]) -> dict[str, float]:
    total = t4 - t0
    return {
        "time/rollout": t1 - t0,
        "time/scoring": t2 - t1,
        "time/advantages": t3 - t2,
        "time/update": t4 - t3,
        "time/iteration": total,
        "time/advantages_frac": (t3 - t2) / total if total > 0 else 0.0,
        "perf/update_tokens_per_s": m.get("train/tokens", 0.0) / max(t4 - t3, 1e-9),
        "perf/rollout_tokens_per_s": m.get("rollout/response_tokens", 0.0) / max(t1 - t0, 1e-9),
    }


def rollout_metrics(trajectories: Sequence[Trajectory], dist: Dist | None = None, prefix: str = "rollout/") -> dict[str, float]:
    """Success, return, turns, invalid actions and tokens of a batch of episodes,
    summed over processes then averaged, by the rule ``agentgym eval`` uses
    (:func:`agentgym.evaluation.summary.episode_totals`): a failed episode counts
    as an episode and a failure, and ``failed`` says how many there were."""
    sums = episode_totals(trajectories)
    if dist is not None:
        sums = dist.sum_floats(sums)
    means = episode_means(sums)
    return {
        f"{prefix}success": means["success"],
        f"{prefix}return": means["return"],
        f"{prefix}turns": means["turns"],
        f"{prefix}invalid_frac": means["invalid_frac"],
        f"{prefix}episodes": sums["episodes"],
        f"{prefix}failed": sums["failed"],
        f"{prefix}response_tokens": sums["tokens"],
    }
