"""``TrainingRun``: the state of a run and the steps the loop calls by name
(rollout, validate, log, checkpoint, finish). The algorithm itself is in
:mod:`agentgym.train.loop`.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agentgym.errors import ConfigError
from agentgym.registry import env_spec, make
from agentgym.tasks import Task, derive_seed
from agentgym.train.checkpoint import (
    TrainState,
    latest_checkpoint,
    load_checkpoint,
    load_rank_rng,
    prune_checkpoints,
    save_checkpoint,
    save_rank_rng,
)
from agentgym.train.config import TrainConfig
from agentgym.train.logging import MetricsLogger, check_trackers, plot_learning_curve
from agentgym.train.optim import Dist, build_optimizer, build_scheduler
from agentgym.train.setup import (
    Reference,
    apply_lora,
    build_policy,
    seed_everything,
    set_threads,
    use_cpu,
)
from agentgym.trajectory import Trajectory, append_jsonl

__all__ = ["TrainingRun"]

logger = logging.getLogger(__name__)


@dataclass
class TrainingRun:
    config: TrainConfig
    accelerator: Any
    dist: Dist
    policy: Any
    model: Any  # policy.model, or its LoRA wrapper: what is generated with and saved
    train_model: Any  # ``model`` as accelerator.prepare wrapped it (DDP with several processes): trained through
    reference: Reference
    optimizer: torch.optim.Optimizer
    scheduler: Any
    state: TrainState
    out_dir: Path
    metrics_log: MetricsLogger | None  # main process only
    task_env: Any  # gives tasks (its generator) for every split
    pad_token_id: int
    env_pool: Any = None  # the RayEnvPool the rollouts run in (env_workers > 0)
    progress: Any = None  # SPA's progress estimator (estimator="spa"; agentgym.train.spa)

    # ------------------------------------------------------------------
    @classmethod
    def create(cls, config: TrainConfig, accelerator: Any = None) -> TrainingRun:
        env_spec(config.env)  # an unknown env fails here: before a model is built or a file written
        check_trackers(config.report_to)  # so does a tracker whose package is missing
        if accelerator is None:
            from accelerate import Accelerator

            accelerator = Accelerator(cpu=use_cpu(config))
        dist = Dist(accelerator)
        set_threads(config.threads)
        seed_everything(config.seed)
        policy = build_policy(config, rank=dist.rank, device=accelerator.device)
        model = apply_lora(policy, config) if config.lora else policy.model
        _check_supported(accelerator)
        reference = Reference(model, lora=config.lora, needed=config.kl_coef > 0)
        # With several processes prepare() wraps the model in DDP, which starts every
        # process from rank 0's weights and sums gradients with bucketed all-reduces.
        # The scheduler is not prepared (accelerate would step it once per process).
        train_model, optimizer = accelerator.prepare(model, build_optimizer(model, config))
        scheduler = build_scheduler(optimizer, config)
        out_dir = Path(config.out_dir)
        state, ckpt = TrainState(), None
        if config.resume:
            ckpt = latest_checkpoint(out_dir)
            if ckpt is None:
                logger.info("resume: no checkpoint in %s, starting afresh", out_dir)
        elif latest_checkpoint(out_dir) is not None:
            raise ConfigError(
                f"{out_dir} already holds a run with checkpoints; continue it with --resume true, "
                "or choose another --out_dir."
            )
        if ckpt is not None:
            state = load_checkpoint(ckpt, policy=policy, model=model, optimizer=optimizer, scheduler=scheduler)
            if dist.rank > 0:
                load_rank_rng(ckpt, dist.rank, policy)
        log = None
        if accelerator.is_main_process:
            config.save(out_dir / "config.toml")
            log = MetricsLogger(out_dir, tensorboard=config.tensorboard, report_to=config.report_to,
                                config=config.to_dict(), run_name=out_dir.name,
                                keep_lines=state.log_lines if ckpt else None,
                                resume_from=state.iteration if ckpt else None)
        task_env = make(config.env, split="train", **config.env_kwargs)
        if config.curriculum and config.curriculum_near > 0:
            _check_near(config.env, task_env.unwrapped)
        pad = getattr(policy, "pad_token_id", None)
        if pad is None:
            pad = policy.tokenizer.pad_token_id or 0
        progress = None
        if config.estimator == "spa":
            from agentgym.train.spa import ProgressEstimator

            progress = ProgressEstimator(int(model.config.hidden_size), lr=config.spa_lr)
            if state.spa:
                progress.load_state_dict(state.spa)
        return cls(config, accelerator, dist, policy, model, train_model, reference, optimizer, scheduler, state,
                   out_dir, log, task_env, int(pad), progress=progress)

    # ------------------------------------------------------------------
    def tasks(self, split: str, indices: Sequence[int | str]) -> list[Task]:
        """This process's share of the tasks ``indices`` (whole tasks: groups stay
        local), each as the env maps an index to its task (``AgentEnv.task_at``:
        a fixed ``tasks=`` list in ``env_kwargs`` is honoured); a curriculum's
        near key ``"PARENT~m"`` is the m-th task its generator makes next to
        PARENT's (:meth:`agentgym.tasks.TaskGenerator.near`)."""
        return [self._task(i, split) for i in list(indices)[self.dist.rank :: self.dist.world]]

    def _task(self, key: int | str, split: str) -> Task:
        env = self.task_env.unwrapped
        if isinstance(key, int):
            return env.task_at(key, split)
        from agentgym.train.curriculum import parse_near_key

        parent, m = parse_near_key(key)
        task = env.generator.near(self._task(parent, split), m)
        if task is None:
            raise ConfigError(f"{self.config.env}'s task generator cannot make a task near {parent!r}; "
                              "set curriculum_near = 0 for this env.")
        return task

    def _collect(self, tasks: list[Task], *, group_size: int, split: str, seed: int) -> list[Trajectory]:
        from agentgym.rollout import collect

        if not tasks:
            return []
        return collect(
            self._envs(split, len(tasks) * group_size), self.policy, tasks=tasks, group_size=group_size,
            max_turns=self.config.max_turns, history="full" if self.config.history is None else self.config.history,
            split=split, seed=seed, env_kwargs=self.config.env_kwargs,
        )

    def _envs(self, split: str, episodes: int) -> Any:
        """What ``collect`` runs the episodes in: the env id (envs built in this
        process), or with ``env_workers`` the envs of the run's Ray pool
        (:class:`agentgym.distributed.RayEnvPool`; the policy stays here), started
        on first use with room for the largest batch (rollout or validation) at
        once. One pool serves every split: episodes get their :class:`Task`
        objects, so an env's own split (used only to draw tasks) plays no part."""
        cfg = self.config
        if cfg.env_workers <= 0:
            return cfg.env
        if self.env_pool is None:
            from agentgym.distributed import RayEnvPool

            largest = max(episodes, math.ceil(cfg.tasks_per_iter / self.dist.world) * cfg.group_size,
                          math.ceil(cfg.eval_tasks / self.dist.world))
            # max_turns in the kwargs: the envs are built there, not by collect, and
            # must truncate as the ones collect builds do (identical trajectories).
            self.env_pool = RayEnvPool(cfg.env, workers=cfg.env_workers,
                                       envs_per_worker=math.ceil(largest / cfg.env_workers),
                                       env_kwargs={"max_turns": cfg.max_turns, **cfg.env_kwargs}, split="train",
                                       address=cfg.ray_address or None)
        return self.env_pool.envs

    def close(self) -> None:
        """Stop the run's env workers (Ray actors), if any."""
        if self.env_pool is not None:
            self.env_pool.close()
            self.env_pool = None

    def rollout(self, iteration: int, indices: Sequence[int | str] | None = None) -> list[Trajectory]:
        """``group_size`` episodes of each of this process's share of the train
        tasks ``indices`` (default: the next ``tasks_per_iter`` fresh ones, and
        the cursor moves past them; given indices leave the cursor to the
        caller). Each trajectory's ``meta["task_index"]`` is its task's index."""
        n = self.config.tasks_per_iter
        fresh = indices is None
        indices = range(self.state.task_cursor, self.state.task_cursor + n) if indices is None else indices
        local = list(indices)[self.dist.rank :: self.dist.world]
        tasks = self.tasks("train", indices)
        self.model.eval()  # sampling, not training: no dropout in the behaviour policy
        trajectories = self._collect(tasks, group_size=self.config.group_size, split="train",
                                     seed=derive_seed("rollout", self.config.seed, iteration, self.dist.rank) % 2**31)
        index_of = {task.id: i for task, i in zip(tasks, local, strict=True)}
        for t in trajectories:
            t.meta["task_index"] = index_of[t.task_id]
        if fresh:
            self.state.task_cursor += n
        if self.config.save_rollouts:
            suffix = f"-rank{self.dist.rank}" if self.dist.world > 1 else ""
            append_jsonl(self.out_dir / f"rollouts{suffix}.jsonl", trajectories)
        return trajectories

    def validate(self) -> dict[str, float]:
        """One episode on each of the first ``eval_tasks`` tasks of ``eval_split``, at
        ``eval_temperature`` (greedy by default), always the same tasks."""
        from agentgym.train.loop import rollout_metrics

        t0 = time.perf_counter()
        tasks = self.tasks(self.config.eval_split, range(self.config.eval_tasks))
        saved = getattr(self.policy, "temperature", None)
        if saved is not None:
            self.policy.temperature = self.config.eval_temperature
        self.model.eval()
        try:
            trajectories = self._collect(tasks, group_size=1, split=self.config.eval_split,
                                         seed=derive_seed("val", self.config.seed) % 2**31)
        finally:
            if saved is not None:
                self.policy.temperature = saved
        out = rollout_metrics(trajectories, self.dist, prefix="val/")
        out["time/validation"] = time.perf_counter() - t0
        return out

    def log(self, iteration: int, metrics: dict[str, float]) -> None:
        if self.metrics_log is not None:
            self.metrics_log.log(iteration, metrics)
        self.state.log_lines += 1

    # ------------------------------------------------------------------
    def export(self, directory: Path) -> None:
        """Save the policy loadable with ``hf:DIR``; LoRA adapters are merged into a copy."""
        if not self.config.lora:
            self.policy.save_pretrained(directory)
            return
        wrapped = self.policy.model
        self.policy.model = copy.deepcopy(wrapped).merge_and_unload()
        try:
            self.policy.save_pretrained(directory)
        finally:
            self.policy.model = wrapped

    def checkpoint(self) -> Path:
        directory = self.out_dir / "checkpoints" / f"iter-{self.state.iteration:06d}"
        if self.progress is not None:
            self.state.spa = self.progress.state_dict()
        if self.accelerator.is_main_process:
            save_checkpoint(directory, policy=self.policy, model=self.model, optimizer=self.optimizer,
                            scheduler=self.scheduler, state=self.state, export=self.export)
            prune_checkpoints(self.out_dir, self.config.keep_checkpoints)
        self.accelerator.wait_for_everyone()
        if self.dist.rank > 0:
            save_rank_rng(directory, self.dist.rank, self.policy)
        self.accelerator.wait_for_everyone()
        return directory

    def finish(self) -> tuple[Path | None, Path | None]:
        """Export the final policy and draw the learning curve (main process)."""
        final = curve = None
        if self.accelerator.is_main_process:
            final = self.out_dir / "final"
            self.export(final)
            if self.metrics_log is not None:
                self.metrics_log.close()
                curve = plot_learning_curve(self.metrics_log.path, title=f"{self.config.estimator} on {self.config.env}")
        self.accelerator.wait_for_everyone()
        return final, curve


def _check_near(env_id: str, env: Any) -> None:
    """``curriculum_near`` needs a task generator that makes tasks near others."""
    if getattr(env, "fixed_tasks", None) is None and env.generator.near(env.task_at(0, "train"), 0) is not None:
        return
    raise ConfigError(
        f"curriculum_near > 0, but {env_id}'s tasks cannot be generated next to others (a fixed task list, or a "
        "generator whose TaskGenerator.near returns None): set curriculum_near = 0, or implement near() in the "
        "family's task generator."
    )


def _check_supported(accelerator: Any) -> None:
    """Refuse, with the reason, the distributed modes the trainer does not run."""
    kind = str(getattr(getattr(accelerator, "distributed_type", None), "value", "NO")).upper()
    if kind in ("FSDP", "DEEPSPEED", "MEGATRON_LM"):
        raise ConfigError(
            f"accelerate is configured for {kind}, which agentgym's trainer does not support yet: rollouts "
            "generate with the full model on each process, and sharded parameters would need every process "
            "to run the same forward passes. Use data parallelism (`accelerate launch --multi_gpu`, or "
            "`--cpu`), and LoRA (`lora = true`) for models too large to replicate."
        )
