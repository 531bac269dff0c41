"""``TrainConfig``: every knob of a training run, in one frozen dataclass.

Loaded from TOML (flat keys, or grouped under tables whose names are not
fields, e.g. ``[credit]``), overridden from the command line with
``--key value``; each field's ``help`` is the ``--help`` text. The resolved
config is saved as ``config.toml`` in the run directory.

>>> cfg = TrainConfig(env="GuessNumber-v0", estimator="gigpo", iterations=2)
>>> cfg.replace(gamma=0.9).gamma
0.9
>>> TrainConfig.from_args(["--iterations", "3", "--env_kwargs", '{"difficulty": "easy"}']).env_kwargs
{'difficulty': 'easy'}
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from agentgym.credit.shaping import check_reward_weights
from agentgym.errors import ConfigError, did_you_mean

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["TrainConfig", "SFTConfig", "add_config_arguments", "config_from_namespace", "to_toml"]

Estimator = Literal["grpo", "rloo", "gigpo", "igpo", "reinforce_rej", "raft", "stratified", "stratified_gigpo", "spa"]


TRACKERS = ("wandb", "mlflow")
"""Optional experiment trackers of ``report_to`` (see :mod:`agentgym.train.logging`)."""


def _f(default: Any, help: str, **kw: Any) -> Any:
    """A field with its ``--help`` text (mutable defaults via a factory)."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass(frozen=True)
class TrainConfig:
    """Configuration of an RL run (``agentgym train``); see the README's Training section."""

    # --- run -------------------------------------------------------------
    out_dir: str = _f("runs/train", "run directory: metrics, TensorBoard events, checkpoints, config")
    seed: int = _f(0, "seed of everything (task order, sampling, dropout)")
    iterations: int = _f(20, "RL iterations (rollout + update) to run")
    resume: bool = _f(False, "continue from the latest checkpoint in out_dir, exactly")
    # --- policy ----------------------------------------------------------
    policy: str = _f("tiny", "policy spec to train: 'tiny', 'hf:PATH' (e.g. an SFT output), 'hf:smollm2-135m'")
    temperature: float = _f(1.0, "sampling temperature of rollouts (the loss uses the same)")
    max_new_tokens: int = _f(48, "longest reply per turn, in tokens")
    lora: bool = _f(False, "train LoRA adapters (peft) instead of all weights")
    lora_r: int = _f(16, "LoRA rank")
    lora_alpha: int = _f(32, "LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = _f(0.0, "dropout on the LoRA branch")
    lora_target_modules: tuple[str, ...] = _f(
        ("q_proj", "k_proj", "v_proj", "o_proj"), "module names that get adapters (comma-separated)"
    )
    # --- environment and rollout ----------------------------------------
    env: str = _f("GuessNumber-v0", "environment id to train on")
    env_kwargs: dict[str, Any] = _f({}, "keyword arguments of the env, as JSON (e.g. '{\"difficulty\": \"easy\"}')")
    tasks_per_iter: int = _f(8, "distinct train tasks per iteration (each gets group_size rollouts)")
    group_size: int = _f(4, "rollouts per task (the group GRPO/GiGPO normalise within)")
    max_turns: int = _f(8, "turn limit of an episode (truncation)")
    history: int | None = _f(None, "turns of history kept in the prompt (None: all)")
    env_workers: int = _f(0, "0: the rollout's envs run in the trainer process; N: in N Ray actors "
                             "(agentgym.distributed; pip install 'agentgym[distributed]'), the policy staying here")
    ray_address: str = _f("", "with env_workers: the Ray cluster to join ('auto', 'ray://host:10001'); "
                              "empty: RAY_ADDRESS, else a local cluster")
    curriculum: bool = _f(False, "self-evolving curriculum (WebRL): replay tasks solved sometimes but not always, "
                                 "then failed ones, before fresh ones (agentgym.train.curriculum)")
    curriculum_window: int = _f(4, "curriculum: a task's success rate is over its last this many episodes")
    curriculum_replay: float = _f(0.5, "curriculum: at most this fraction of an iteration's tasks are replays")
    curriculum_retries: int = _f(3, "curriculum: a task never solved is replayed until picked this many times")
    curriculum_near: float = _f(0.0, "curriculum: up to this fraction of an iteration's tasks are new ones generated "
                                     "next to failed ones (TaskGenerator.near: by default one difficulty easier)")
    # --- credit assignment ----------------------------------------------
    estimator: Estimator = _f("gigpo", "advantage estimator: grpo, rloo, gigpo, igpo, reinforce_rej (REINFORCE on the "
                                       "groups rej_drop keeps), raft (SFT on successful episodes), stratified, "
                                       "stratified_gigpo (GiGPO, its episode level stratified) or spa (a "
                                       "progress estimator's stepwise contributions + grounding as turn rewards)")
    norm: Literal["mean_std", "mean"] = _f("mean_std", "group normalisation: 'mean_std' (z-score) or 'mean'")
    gamma: float = _f(0.95, "discount of GiGPO's step-level returns")
    omega: float = _f(1.0, "weight of GiGPO's step-level advantage")
    step_rewards: Literal["env", "igpo"] = _f("env", "GiGPO step rewards: env rewards, or IGPO's (the combination)")
    similarity: float | None = _f(None, "GiGPO: merge text anchors whose difflib ratio >= this (None: exact)")
    igpo_gamma: float = _f(1.0, "discount of IGPO's returns")
    info_gain: Literal["prob", "logprob"] = _f(
        "prob", "IGPO's turn reward: 'prob' (the paper's: gain in exp(mean log-prob) of the answer, in [-1, 1]) "
                "or 'logprob' (gain in mean log-prob)"
    )
    filter_groups: bool = _f(False, "drop groups whose returns are all equal (DAPO dynamic sampling)")
    rej_drop: Literal["both", "all_failure", "all_success"] = _f(
        "both", "reinforce_rej: which groups to drop, by outcome: 'both' (all solved or all failed: the paper's), "
                "'all_failure' or 'all_success'"
    )
    strata_key: str = _f("tool_calls", "stratified: the structural key of a stratum: 'tool_calls' (calls of each "
                                       "tool name), 'turns', 'metric:NAME' or 'package.module:function'")
    strata_alpha: float = _f(0.5, "stratified: weight of the within-stratum advantage (1 - it: GRPO's group one)")
    empg: bool = _f(False, "EMPG: scale each turn's advantage by its step entropy (confident turns up) and add "
                           "the future-clarity bonus; any estimator but raft")
    empg_k: float = _f(1.0, "EMPG: sharpness k of the scale exp(-k * normalised step entropy)")
    empg_k_future: float = _f(1.0, "EMPG: sharpness of the future-clarity bonus exp(-k_future * next turn's entropy)")
    empg_zeta: float = _f(0.1, "EMPG: weight zeta of the future-clarity bonus (0 disables it)")
    epo: bool = _f(False, "EPO: trajectory-level entropy bonus (epo_coef) plus a penalty on step entropies outside "
                          "a band around their running historical average, weighted by a phase schedule "
                          "(agentgym.credit.epo); replaces entropy_coef")
    epo_coef: float = _f(0.01, "EPO: weight lambda of the trajectory-level entropy term")
    epo_smooth_coef: float = _f(1.0, "EPO: weight c of the entropy-smoothing penalty (0: the bonus alone)")
    epo_band: tuple[float, ...] = _f((0.5, 1.5), "EPO: the band [low, high] x historical average step entropy "
                                                 "inside which no smoothing penalty applies (comma-separated)")
    epo_window: int = _f(5, "EPO: iterations in the historical average entropy")
    epo_schedule: Literal["phase", "constant"] = _f(
        "phase", "EPO: weight of the smoothing over training: 'phase' (the paper's: 1 -> 0.8 over the first half, "
                 "decaying towards 0 in the second) or 'constant' (1)")
    spa_alpha: float = _f(1.0, "spa: weight of the progress estimator's per-turn contribution in the turn reward")
    spa_beta: float = _f(0.5, "spa: weight of the grounding term (1 when the turn's action was valid and executed)")
    spa_gamma: float = _f(1.0, "spa: discount of the returns of the SPA turn rewards")
    spa_lr: float = _f(1e-2, "spa: Adam learning rate of the progress estimator (a linear head)")
    spa_steps: int = _f(20, "spa: progress-estimator optimizer steps per iteration (full batch)")
    reward_weights: dict[str, float] = _f(
        {}, "weights of the env's reward parts in the training reward, as JSON (parts not named keep 1; "
            "e.g. '{\"invalid_action\": 0, \"question\": 0}' trains on success alone; validation is unaffected)"
    )
    # --- loss and optimiser ---------------------------------------------
    clip_eps_low: float = _f(0.2, "PPO ratio clip below: ratio >= 1 - clip_eps_low")
    clip_eps_high: float = _f(0.28, "PPO ratio clip above: ratio <= 1 + clip_eps_high (DAPO clip-higher)")
    kl_coef: float = _f(0.0, "weight of the k3 KL to the reference (initial) policy; 0 skips the reference pass")
    entropy_coef: float = _f(0.0, "weight of the entropy bonus")
    ppo_epochs: int = _f(1, "passes over each iteration's rollouts")
    num_mini_batches: int = _f(1, "optimizer steps per epoch (the rollouts are split this many ways)")
    micro_batch_size: int = _f(16, "rows per forward pass (memory bound; does not change the maths)")
    pack: bool = _f(True, "score the turns of a trajectory as one row where their tokens chain (full history): "
                          "same numbers, a fraction of the compute")
    lr: float = _f(1e-5, "AdamW learning rate")
    weight_decay: float = _f(0.0, "AdamW weight decay")
    adam_betas: tuple[float, ...] = _f((0.9, 0.999), "AdamW betas (comma-separated)")
    max_grad_norm: float = _f(1.0, "clip the global gradient norm to this (0 disables)")
    lr_schedule: Literal["constant", "linear", "cosine"] = _f("constant", "learning-rate schedule after warm-up")
    warmup_steps: int = _f(0, "optimizer steps of linear warm-up")
    # --- evaluation, logging, checkpoints -------------------------------
    eval_every: int = _f(5, "validate every this many iterations (0: only at the start and the end)")
    eval_tasks: int = _f(32, "validation tasks (one greedy episode each)")
    eval_split: Literal["train", "val", "test"] = _f("val", "split validated on")
    eval_temperature: float = _f(0.0, "sampling temperature of validation (0: greedy)")
    checkpoint_every: int = _f(5, "save a checkpoint every this many iterations (0: only at the end)")
    keep_checkpoints: int = _f(2, "checkpoints kept (older ones are deleted)")
    tensorboard: bool = _f(True, "write TensorBoard event files under out_dir/tb")
    report_to: tuple[str, ...] = _f((), "trackers besides metrics.jsonl and TensorBoard, comma-separated: wandb, mlflow (imported only when named)")
    save_rollouts: bool = _f(False, "append every rollout to out_dir/rollouts.jsonl")
    cpu: bool = _f(False, "force the CPU even where an accelerator exists")
    threads: int = _f(0, "torch CPU threads per process (0: torch's default; 1 is fastest for tiny models)")

    def __post_init__(self) -> None:
        for name in ("iterations", "tasks_per_iter", "group_size", "max_turns", "max_new_tokens",
                     "ppo_epochs", "num_mini_batches", "micro_batch_size", "eval_tasks", "lora_r"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.env_workers < 0:
            raise ConfigError(f"env_workers must be >= 0 (0: envs in this process), got {self.env_workers}.")
        if self.estimator not in typing.get_args(Estimator):
            raise ConfigError(
                f"estimator {self.estimator!r} is not known.{did_you_mean(self.estimator, typing.get_args(Estimator))} "
                f"Choose one of {', '.join(typing.get_args(Estimator))}."
            )
        if self.estimator != "raft" and self.group_size < 2:
            raise ConfigError(
                f"group_size={self.group_size}: {self.estimator} compares rollouts of the same task, "
                "so it needs group_size >= 2 (4-8 is usual)."
            )
        if not (0.0 <= self.gamma <= 1.0 and 0.0 <= self.igpo_gamma <= 1.0):
            raise ConfigError("gamma and igpo_gamma must lie in [0, 1].")
        if self.info_gain not in ("prob", "logprob"):
            raise ConfigError(
                f"info_gain={self.info_gain!r} is not known: use 'prob' (the IGPO paper's gain in the answer's "
                "probability, the default) or 'logprob' (the gain in its mean log-probability)."
            )
        if not (0.0 <= self.clip_eps_low < 1.0 and self.clip_eps_high >= 0.0):
            raise ConfigError(
                f"clip_eps_low={self.clip_eps_low} must be in [0, 1) and clip_eps_high={self.clip_eps_high} >= 0 "
                "(typical: 0.2 and 0.28)."
            )
        if self.temperature <= 0:
            raise ConfigError(
                f"temperature={self.temperature}: RL needs sampled rollouts and their log-probabilities; "
                "use a temperature > 0 (1.0 is usual). Greedy decoding is for validation (eval_temperature=0)."
            )
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}.")
        if self.step_rewards == "igpo" and self.estimator not in ("gigpo", "stratified_gigpo"):
            raise ConfigError("step_rewards='igpo' is the GiGPO + IGPO combination: set estimator='gigpo' "
                              "(or 'stratified_gigpo') with it.")
        check_reward_weights(self.reward_weights)
        self._check_methods()
        unknown = [t for t in self.report_to if t not in TRACKERS]
        if unknown:
            raise ConfigError(
                f"report_to={list(self.report_to)}: {unknown[0]!r} is not a tracker.{did_you_mean(unknown[0], TRACKERS)} "
                f"Choose from {list(TRACKERS)} (TensorBoard is --tensorboard; metrics.jsonl is always written)."
            )
        if len(self.adam_betas) != 2:
            raise ConfigError(f"adam_betas needs two numbers (e.g. '0.9,0.999'), got {self.adam_betas}.")
        if self.tasks_per_iter * self.group_size < self.num_mini_batches:
            raise ConfigError(
                f"num_mini_batches={self.num_mini_batches} exceeds the rollouts per iteration "
                f"({self.tasks_per_iter} x {self.group_size}); lower it or collect more."
            )

    def _check_methods(self) -> None:
        """The options of Reinforce-Rej, RAFT, Stratified GRPO, EMPG and the curriculum."""
        if self.rej_drop not in ("both", "all_failure", "all_success"):
            raise ConfigError(f"rej_drop={self.rej_drop!r} is not known: use 'both' (the paper's Reinforce-Rej), "
                              "'all_failure' or 'all_success'.")
        if self.estimator == "raft" and (self.kl_coef or self.entropy_coef or self.empg):
            raise ConfigError("estimator='raft' trains with the plain SFT loss on successful episodes: set kl_coef=0, "
                              "entropy_coef=0 and empg=false with it (or choose a policy-gradient estimator).")
        if self.curriculum_window < 1 or self.curriculum_retries < 1 or not 0.0 <= self.curriculum_replay <= 1.0:
            raise ConfigError(f"curriculum_window={self.curriculum_window} and curriculum_retries="
                              f"{self.curriculum_retries} must be >= 1 and curriculum_replay={self.curriculum_replay} "
                              "in [0, 1] (defaults: 4, 3, 0.5).")
        if not 0.0 <= self.curriculum_near <= 1.0:
            raise ConfigError(f"curriculum_near={self.curriculum_near} must lie in [0, 1] (0: no generated tasks).")
        if not 0.0 <= self.strata_alpha <= 1.0:
            raise ConfigError(f"strata_alpha={self.strata_alpha} must lie in [0, 1] (1: within-stratum only, "
                              "0: GRPO's group normalisation).")
        if self.estimator in ("stratified", "stratified_gigpo"):
            from agentgym.credit.stratified import resolve_key

            resolve_key(self.strata_key)  # raises with the accepted forms
        self._check_epo_spa()
        for name in ("empg_k", "empg_k_future", "empg_zeta"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"{name}={v} must be a finite number >= 0 (defaults: 1, 1, 0.1).")

    def _check_epo_spa(self) -> None:
        if self.epo and self.estimator == "raft":
            raise ConfigError("epo=true adds entropy terms to the policy-gradient loss; estimator='raft' trains "
                              "with the SFT loss: set epo=false or choose a policy-gradient estimator.")
        if self.epo and self.entropy_coef:
            raise ConfigError(f"epo=true replaces the token-mean entropy bonus with EPO's trajectory-level one: "
                              f"set entropy_coef=0 (got {self.entropy_coef}) and weight EPO's with epo_coef.")
        lo_hi = self.epo_band
        if len(lo_hi) != 2 or not (0.0 <= lo_hi[0] <= 1.0 <= lo_hi[1]) or not all(map(math.isfinite, lo_hi)):
            raise ConfigError(f"epo_band={lo_hi} needs two numbers low <= 1 <= high, both >= 0 "
                              "(default '0.5,1.5': the band around the historical average entropy).")
        if self.epo_window < 1:
            raise ConfigError(f"epo_window={self.epo_window} must be >= 1 (iterations averaged; default 5).")
        if self.spa_steps < 0 or not self.spa_lr > 0:
            raise ConfigError(f"spa_steps={self.spa_steps} must be >= 0 and spa_lr={self.spa_lr} > 0.")
        if not 0.0 <= self.spa_gamma <= 1.0:
            raise ConfigError(f"spa_gamma={self.spa_gamma} must lie in [0, 1].")
        for name in ("epo_coef", "epo_smooth_coef", "spa_alpha", "spa_beta"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"{name}={v} must be a finite number >= 0.")

    # ------------------------------------------------------------------
    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(f"unknown config key {name!r}.{did_you_mean(name, [f.name for f in fields(self)])}")
        return dataclasses.replace(self, **changes)

    def credit_params(self) -> dict[str, Any]:
        """Keyword arguments of the chosen estimator."""
        if self.estimator == "grpo":
            return {"norm": self.norm}
        if self.estimator in ("rloo", "reinforce_rej", "raft"):
            return {}
        if self.estimator == "stratified":
            return {"alpha": self.strata_alpha, "key": self.strata_key, "norm": self.norm}
        if self.estimator == "igpo":
            return {"gamma": self.igpo_gamma, "norm": self.norm}
        if self.estimator == "spa":  # the trainer adds the progress estimator's contributions
            return {"alpha": self.spa_alpha, "beta": self.spa_beta, "gamma": self.spa_gamma, "norm": self.norm}
        gigpo = {"gamma": self.gamma, "omega": self.omega, "norm": self.norm,
                 "rewards": self.step_rewards, "similarity": self.similarity}
        if self.estimator == "stratified_gigpo":
            return {**gigpo, "alpha": self.strata_alpha, "key": self.strata_key}
        return gigpo

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a (possibly table-grouped) dict, converting values to the field types."""
        return cls(**_flatten_and_convert(cls, data))

    @classmethod
    def from_toml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
        """Load a TOML file (or a shipped config by name, :func:`read_config`),
        then apply ``overrides`` (already typed or strings)."""
        return cls.from_dict({**_flatten(cls, read_config(path)), **(overrides or {})})

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None) -> TrainConfig:
        """Parse ``[--config FILE] [--key value ...]`` (the script's command line)."""
        parser = argparse.ArgumentParser(description=cls.__doc__)
        add_config_arguments(parser, cls)
        return config_from_namespace(cls, parser.parse_args(argv))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_toml(self.to_dict()), encoding="utf-8")
        return path


@dataclass(frozen=True)
class SFTConfig:
    """Configuration of behaviour cloning (``agentgym sft``)."""

    data: str = _f("", "JSONL trajectories to imitate (empty: collect them with from_policy)")
    policy: str = _f("tiny", "policy spec to fine-tune ('tiny', 'hf:PATH', ...)")
    out_dir: str = _f("runs/sft", "where the fine-tuned policy is saved (load it with hf:OUT_DIR)")
    from_policy: str = _f("oracle", "when data is empty: policy whose rollouts are collected ('oracle', 'random')")
    env: str = _f("AskToAct-v0", "when data is empty: environment to collect from")
    env_kwargs: dict[str, Any] = _f({}, "env keyword arguments, as JSON")
    tasks: int = _f(200, "when data is empty: train tasks to collect (one episode each)")
    max_turns: int = _f(8, "when data is empty: turn limit of collected episodes")
    history: int | None = _f(None, "turns of history in each prompt (match the RL run's)")
    only_success: bool = _f(True, "imitate successful trajectories only")
    only_valid: bool = _f(True, "skip turns whose action was invalid")
    action_format: Literal["as_is", "call", "call_spaced"] = _f(
        "as_is",
        "imitate actions as written, or rewritten as positional calls: pick(\"red mug (1)\"); "
        "call_spaced writes pick(\" red mug (1)\") so names tokenize as in observations",
    )
    pack: bool = _f(True, "score all turns of a demonstration in one row where the tokens chain (full history): "
                          "same loss, a fraction of the compute; batch sizes then count rows")
    observation_weight: float = _f(0.0, "weight of a language-model loss on the observations between actions "
                                        "(packed rows only; 0 = imitate actions only)")
    epochs: int = _f(3, "passes over the data")
    batch_size: int = _f(16, "rows per optimizer step (a row: one turn, or a packed episode)")
    micro_batch_size: int = _f(16, "rows per forward pass")
    lr: float = _f(1e-3, "AdamW learning rate")
    lr_schedule: Literal["constant", "linear", "cosine"] = _f("constant", "learning-rate schedule after warm-up")
    warmup_steps: int = _f(0, "optimizer steps of linear warm-up")
    weight_decay: float = _f(0.0, "AdamW weight decay")
    max_grad_norm: float = _f(1.0, "gradient-norm clip (0 disables)")
    temperature: float = _f(1.0, "sampling temperature saved with the policy (used by later rollouts)")
    max_new_tokens: int = _f(48, "longest reply per turn, saved with the policy")
    seed: int = _f(0, "seed of data order and init")
    threads: int = _f(0, "torch CPU threads (0: torch's default; 1 is fastest for tiny models)")
    cpu: bool = _f(False, "force the CPU even where an accelerator exists")

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "micro_batch_size", "tasks", "max_turns"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}.")
        if self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be >= 0, got {self.warmup_steps}.")
        if self.observation_weight < 0:
            raise ConfigError(f"observation_weight must be >= 0, got {self.observation_weight}.")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes: Any) -> SFTConfig:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(f"unknown config key {name!r}.{did_you_mean(name, [f.name for f in fields(self)])}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_toml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> SFTConfig:
        """Load a TOML file (or a shipped config by name, :func:`read_config`),
        then apply ``overrides``."""
        return cls(**_flatten_and_convert(cls, {**_flatten(cls, read_config(path)), **(overrides or {})}))


# ----------------------------------------------------------------------
# TOML and the command line
# ----------------------------------------------------------------------
def _flatten(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Merge tables whose name is not a field (``[credit]``) into the top level."""
    names = {f.name for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key not in names:
            out.update(value)
        else:
            out[key] = value
    return out


def _flatten_and_convert(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    data = _flatten(cls, data)
    by_name = {f.name: f for f in fields(cls)}
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in data.items():
        if key not in by_name:
            raise ConfigError(f"unknown config key {key!r}.{did_you_mean(key, by_name)} Run with --help for the list.")
        out[key] = _convert(key, hints[key], value)
    return out


def _convert(name: str, tp: Any, value: Any) -> Any:
    """Coerce a TOML value or a command-line string to the field's type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        return _convert(name, next(a for a in args if a is not type(None)), value)
    try:
        if origin is Literal:
            if value not in args:
                raise ConfigError(f"{name}={value!r} is not one of {list(args)}.")
            return value
        if origin is tuple:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(_convert(name, args[0], v.strip() if isinstance(v, str) else v) for v in items if v != "")
        if tp is dict or origin is dict:
            value = json.loads(value) if isinstance(value, str) else value
            if not isinstance(value, dict):
                raise ConfigError(f"{name} must be a JSON object, e.g. '{{\"difficulty\": \"easy\"}}'.")
            return dict(value)
        if tp is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ConfigError(f"{name}={value!r}: write true or false.")
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if tp is int:
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"{name}={value} must be a whole number.")
            return int(value)
        if tp is float:
            return float(value)
        return str(value) if tp is str else value
    except (ValueError, json.JSONDecodeError) as e:
        raise ConfigError(f"{name}={value!r} cannot be read as {getattr(tp, '__name__', tp)}: {e}") from e


def add_config_arguments(parser: argparse.ArgumentParser, cls: type = TrainConfig) -> None:
    """``--config FILE`` plus one ``--field value`` option per config field."""
    parser.add_argument("--config", default=None, metavar="FILE_OR_NAME",
                        help="TOML file with config values, or the name of a shipped config "
                             "(agentgym.configs, e.g. asktoact_easy_gigpo); flags override it")
    for f in fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        shown = json.dumps(default) if isinstance(default, dict) else default
        parser.add_argument(
            f"--{f.name}", dest=f.name, default=None, metavar="VALUE",
            help=f"{f.metadata.get('help', '')} (default: {shown})",
        )


def read_config(ref: str | Path) -> dict[str, Any]:
    """The values of a config: a TOML file's path, or the name of a config
    shipped in :mod:`agentgym.configs` (``"asktoact_easy_gigpo"``; an existing
    file of that name wins)."""
    from agentgym import configs

    path = Path(ref)
    if path.is_file():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        shipped = configs.read(str(ref))
        if shipped is None:
            raise ConfigError(
                f"config {ref} is neither a file nor a shipped config; shipped: {', '.join(configs.names())}."
                f"{did_you_mean(path.stem, configs.names())}"
            )
        text, source = shipped, f"agentgym.configs:{ref}"
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config {source} is not valid TOML: {e}") from e


def config_from_namespace(cls: type, args: argparse.Namespace) -> Any:
    """The config given by ``--config`` (or the defaults) with the flags set on top."""
    overrides = {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}
    if getattr(args, "config", None):
        data = read_config(args.config)
        return cls(**_flatten_and_convert(cls, {**_flatten(cls, data), **overrides}))
    return cls(**_flatten_and_convert(cls, overrides))


def to_toml(values: dict[str, Any]) -> str:
    """A config's field values as TOML that :meth:`TrainConfig.from_toml` reads
    back to the same config (written with ``tomli-w``).

    TOML has no null: a ``None`` field is written as the string ``"none"``,
    which the loader turns back into ``None`` for optional fields. A dict field
    (``env_kwargs``, ``reward_weights``) becomes a table, or a JSON string when
    it holds something TOML cannot say (a ``None`` at any depth, a non-string
    key); the loader reads either.

    >>> print(to_toml({"seed": 1, "history": None, "env_kwargs": {"difficulty": "easy"}}), end="")
    seed = 1
    history = "none"
    <BLANKLINE>
    [env_kwargs]
    difficulty = "easy"
    """
    import tomli_w

    return tomli_w.dumps({key: _toml_value(value) for key, value in values.items()})


def _toml_value(value: Any) -> Any:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return value if _toml_safe(value) else json.dumps(value)
    return value


def _toml_safe(value: Any) -> bool:
    """Whether TOML can hold ``value`` as it is (no null anywhere, string keys)."""
    if value is None:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _toml_safe(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_toml_safe(v) for v in value)
    return isinstance(value, (str, int, float, bool))
