"""Behaviour cloning (``agentgym sft``): imitate saved or scripted trajectories.

A randomly initialised or small model rarely emits a valid tool call, so RL
has nothing to reinforce. A short supervised warm start on expert (oracle)
trajectories fixes that. Each turn of a trajectory becomes one example: the
prompt is rebuilt exactly as the rollout engine builds it
(:func:`agentgym.rollout.messages_before_turn` then ``policy.prompt_ids``), the
target is the action text tokenised as a reply (``policy.response_ids``, with
the end-of-turn token, so the model also learns to stop). The loss is the
token-mean negative log-likelihood of the targets.

Packing (``pack=True``, the default): with a full history, the turns of one
demonstration chain token for token, so the whole episode is scored as one row
(:mod:`agentgym.train.scoring`) — the same loss at a fraction of the compute (an
AskToAct episode: ~540 tokens once instead of ~5 prompts of ~430). With
``observation_weight > 0`` the observations between actions get a
language-model loss too (weighted, and divided by the same action-token count):
a randomly initialised model then also learns how the environment answers —
which object it picked, what a room holds when it returns — and with it the
copying that grounding its actions needs.

Data parallel: under ``accelerate launch --num_processes N`` (``scripts/sft.py``,
the script form of ``agentgym sft``), each optimizer step's ``batch_size`` rows
are dealt out to the N processes (row ``i`` of the step to process ``i mod N``),
gradients are summed by DDP, and the loss keeps dividing by the step's action
tokens over all processes: the same steps as one process, up to the order of
floating-point sums. Every process collects the same demonstrations (they are
seeded); the main process saves the model.

>>> from agentgym.train import SFTConfig
>>> from agentgym.train.sft import sft
>>> sft(SFTConfig(env="GuessNumber-v0", tasks=50, out_dir="runs/sft"))   # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agentgym.errors import ConfigError
from agentgym.policy import load_policy
from agentgym.registry import env_spec, make
from agentgym.tasks import derive_seed
from agentgym.train.config import SFTConfig, to_toml
from agentgym.train.loss import sft_loss
from agentgym.train.optim import (
    Dist,
    build_optimizer,
    build_scheduler,
    grad_sync,
    optimizer_step,
    zero_micro_step,
)
from agentgym.train.scoring import PackedRow, pack_chain, packed_logprobs
from agentgym.train.setup import seed_everything, set_threads, use_cpu
from agentgym.trajectory import Trajectory, load_jsonl, save_jsonl

__all__ = ["sft", "SFTResult", "build_examples", "build_rows", "collect_demonstrations", "to_call_syntax"]

logger = logging.getLogger(__name__)


@dataclass
class SFTResult:
    policy: Any
    out_dir: Path
    examples: int
    metrics: list[dict[str, float]]


#: Episodes live at once while demonstrations are collected: each holds an env
#: instance (SQL-v0's hold database connections), and an expert answers a batch
#: of 64 about as fast as one of thousands. Without a cap, 4,000 SQL tasks opened
#: ~20,000 files at once and failed with "Too many open files".
DEMO_PARALLEL = 64


def collect_demonstrations(config: SFTConfig) -> list[Trajectory]:
    """One episode of ``config.from_policy`` on each of ``config.tasks`` train tasks
    (at most :data:`DEMO_PARALLEL` at once, so envs are reused, not built per task)."""
    from agentgym.rollout import collect

    expert = load_policy(config.from_policy)
    return collect(
        config.env, expert, tasks=config.tasks, group_size=1, max_turns=config.max_turns,
        history="full" if config.history is None else config.history, split="train",
        seed=config.seed, env_kwargs=config.env_kwargs, max_parallel=DEMO_PARALLEL,
    )


def to_call_syntax(action: str, tools: Sequence[dict[str, Any]], *, spaced: bool = False) -> str:
    """Rewrite a tool-call action as positional call syntax (what the parser also
    accepts): ``<tool_call>{"name": "pick", "arguments": {"object": "red mug (1)"}}</tool_call>``
    becomes ``pick("red mug (1)")``. A third of the tokens, and no argument names
    to get right: a tiny model learns it far sooner. Unparseable actions are
    returned unchanged.

    ``spaced=True`` starts string arguments with a space (``pick(" red mug (1)")``,
    for envs that strip names, as AskToAct does): byte-level BPE tokenizers merge
    a leading space into the word, so the name is then made of the *same tokens*
    as in the observation (`` red``, `` mug``), and imitating means copying tokens
    rather than learning a second spelling of every word.

    >>> to_call_syntax('<tool_call>{"name": "go", "arguments": {"room": "hall"}}</tool_call>',
    ...                [{"function": {"name": "go", "parameters": {"properties": {"room": {}}}}}])
    'go("hall")'
    """
    from agentgym.errors import ActionError
    from agentgym.parsing import parse_tool_calls

    order = {}
    for t in tools:
        f = t.get("function", t)
        order[f["name"]] = list(f.get("parameters", {}).get("properties", {}))
    try:
        calls = parse_tool_calls(action)
    except ActionError:
        return action
    parts = []
    for call in calls:
        names = order.get(call.name, list(call.arguments))
        values = list(call.positional) + [call.arguments[n] for n in names if n in call.arguments]
        if spaced:
            values = [" " + v if isinstance(v, str) and not v.startswith(" ") else v for v in values]
        parts.append(f"{call.name}({', '.join(json.dumps(v, ensure_ascii=False) for v in values)})")
    return " ".join(parts)


def _demonstration_turns(
    policy: Any, trajectories: Sequence[Trajectory], *, env: str, env_kwargs: dict[str, Any] | None,
    history: int | None, only_success: bool, only_valid: bool, action_format: str,
) -> list[list[tuple[list[int], list[int], bool]]]:
    """Per kept trajectory: ``(prompt_ids, response_ids, imitate)`` of every turn."""
    from agentgym.rollout import messages_before_turn

    tools: dict[str, list[dict[str, Any]]] = {}
    out = []
    for traj in trajectories:
        if traj.failed or (only_success and not traj.success):
            continue
        env_id = traj.env_id or env
        if env_id not in tools:
            if not env_id:
                raise ConfigError("trajectories without env_id: pass --env so the tool schemas can be rendered.")
            tools[env_id] = list(make(env_id, **(env_kwargs or {})).unwrapped.tools)
        if action_format in ("call", "call_spaced"):
            traj = copy.deepcopy(traj)
            for turn in traj.turns:
                turn.action = to_call_syntax(turn.action, tools[env_id], spaced=action_format == "call_spaced")
        turns = []
        for t, turn in enumerate(traj.turns):
            messages = messages_before_turn(traj, t, "full" if history is None else history)
            turns.append((policy.prompt_ids(messages, tools[env_id]), policy.response_ids(turn.action),
                          turn.action_valid or not only_valid))
        out.append(turns)
    return out


def build_examples(
    policy: Any,
    trajectories: Sequence[Trajectory],
    *,
    env: str = "",
    env_kwargs: dict[str, Any] | None = None,
    history: int | None = None,
    only_success: bool = True,
    only_valid: bool = True,
    action_format: str = "as_is",
) -> list[tuple[list[int], list[int]]]:
    """``(prompt_ids, response_ids)`` for every turn worth imitating. With
    ``action_format="call"`` (or ``"call_spaced"``) the actions are rewritten by :func:`to_call_syntax`,
    in the targets and in the history the prompts show (as the model will see
    its own actions at rollout time)."""
    per_traj = _demonstration_turns(policy, trajectories, env=env, env_kwargs=env_kwargs, history=history,
                                    only_success=only_success, only_valid=only_valid, action_format=action_format)
    return [(p, r) for turns in per_traj for p, r, keep in turns if keep]


def build_rows(
    policy: Any,
    trajectories: Sequence[Trajectory],
    *,
    pack: bool = True,
    env: str = "",
    env_kwargs: dict[str, Any] | None = None,
    history: int | None = None,
    only_success: bool = True,
    only_valid: bool = True,
    action_format: str = "as_is",
) -> list[PackedRow]:
    """The rows :func:`sft` trains on: one per demonstration where its turns
    chain (``pack=True`` and a full history), else one per turn. Turns not to
    imitate (invalid actions) stay in a packed row as context, unscored."""
    per_traj = _demonstration_turns(policy, trajectories, env=env, env_kwargs=env_kwargs, history=history,
                                    only_success=only_success, only_valid=only_valid, action_format=action_format)
    rows: list[PackedRow] = []
    for turns in per_traj:
        base = sum(len(r.members) for r in rows)
        ids = [base + k for k in range(len(turns))]
        keep = [m for m, (_, _, imitate) in zip(ids, turns, strict=True) if imitate]
        if pack:
            chained = pack_chain([p for p, _, _ in turns], [r for _, r, _ in turns], members=ids)
        else:
            chained = [PackedRow(p + r, [(len(p), len(p) + len(r))], [m]) for m, (p, r, _) in zip(ids, turns, strict=True)]
        rows += [row.only(keep) for row in chained if set(row.members) & set(keep)]
    # Number the members that remain 0..n-1.
    n = 0
    for row in rows:
        row.members = list(range(n, n + len(row.members)))
        n += len(row.members)
    return rows


def sft(
    config: SFTConfig,
    *,
    trajectories: Sequence[Trajectory] | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None,
    accelerator: Any = None,
) -> SFTResult:
    """Fine-tune ``config.policy`` on demonstrations; save it to ``config.out_dir``.

    ``accelerator``: an ``accelerate.Accelerator`` to train data-parallel with;
    by default one is made when the process was launched as one of several
    (``WORLD_SIZE`` > 1, as ``accelerate launch`` and ``torchrun`` set)."""
    if trajectories is None and not config.data:
        env_spec(config.env)  # an unknown env fails before a model is loaded or a file written
    if accelerator is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from accelerate import Accelerator

        accelerator = Accelerator(cpu=use_cpu(config))
    dist = Dist(accelerator)
    main = dist.rank == 0
    set_threads(config.threads)
    seed_everything(config.seed)
    policy = load_policy(config.policy, temperature=config.temperature, max_new_tokens=config.max_new_tokens)
    if accelerator is not None:
        policy.model.to(accelerator.device)
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if trajectories is None:
        if config.data:
            trajectories = load_jsonl(config.data)
        else:
            trajectories = collect_demonstrations(config)
            if main:
                save_jsonl(out_dir / "demonstrations.jsonl", trajectories)
    examples = build_rows(policy, trajectories, pack=config.pack, env=config.env, env_kwargs=config.env_kwargs,
                          history=config.history, only_success=config.only_success, only_valid=config.only_valid,
                          action_format=config.action_format)
    if not examples:
        raise ConfigError(
            f"no examples to imitate in {len(trajectories)} trajectories (only_success={config.only_success}, "
            f"only_valid={config.only_valid}); collect with an oracle or relax the filters."
        )
    if main:
        logger.info("SFT on %d turns in %d rows from %d trajectories%s", sum(len(r.members) for r in examples),
                    len(examples), len(trajectories), f", {dist.world} processes" if dist.world > 1 else "")
    metrics = _fit(policy, examples, config, progress if main else None, accelerator, dist)
    if main:
        policy.save_pretrained(out_dir)
        (out_dir / "sft_config.toml").write_text(to_toml(config.to_dict()), encoding="utf-8")
        with (out_dir / "sft_metrics.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(m) + "\n" for m in metrics)
    if accelerator is not None:
        accelerator.wait_for_everyone()
    return SFTResult(policy, out_dir, sum(len(r.members) for r in examples), metrics)


def _fit(policy: Any, rows: list[PackedRow], config: SFTConfig,
         progress: Callable[[int, dict[str, float]], None] | None,
         accelerator: Any = None, dist: Dist | None = None) -> list[dict[str, float]]:
    dist = dist or Dist(accelerator)
    model = policy.model
    pad = int(getattr(policy, "pad_token_id", 0) or 0)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = build_optimizer(model, config)
    train_model = model
    if accelerator is not None:
        # DDP with several processes: every process starts from rank 0's weights,
        # gradients are summed with bucketed all-reduces. The scheduler is not
        # prepared (accelerate would step it once per process).
        train_model, opt = accelerator.prepare(model, opt)
    sched = build_scheduler(opt, config, total_steps=config.epochs * math.ceil(len(rows) / config.batch_size))
    context = config.observation_weight > 0
    model.train()
    metrics = []
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(derive_seed("sft", config.seed, epoch) % 2**62)
        order = torch.randperm(len(rows), generator=gen).tolist()
        sums = dict.fromkeys(("nll", "tokens", "obs_nll", "obs_tokens"), 0.0)
        steps = skipped = 0
        for start in range(0, len(order), config.batch_size):
            batch = [rows[i] for i in order[start : start + config.batch_size]]
            # The step's action tokens over every process: each process knows the whole batch.
            n_tok = float(sum(e - s for r in batch for s, e in r.spans))
            mine = batch[dist.rank :: dist.world]
            # Every process runs as many micro-steps as the busiest one (DDP joins each backward).
            n_micro = math.ceil(math.ceil(len(batch) / dist.world) / config.micro_batch_size)
            finite = True
            for k in range(n_micro):
                micro = mine[k * config.micro_batch_size : (k + 1) * config.micro_batch_size]
                with grad_sync(train_model, last=k == n_micro - 1):
                    if not micro:
                        zero_micro_step(train_model, pad)
                        continue
                    loss, stats = _sft_micro_step(train_model, micro, pad, n_tok / dist.world,
                                                  config.observation_weight if context else 0.0)
                    if not math.isfinite(float(loss.detach())):
                        finite = False
                        loss = loss.nan_to_num(0.0) * 0.0  # still join the all-reduce; the step is skipped
                    else:
                        for key, v in stats.items():
                            sums[key] += v
                    loss.backward()
            outcome = optimizer_step(params, opt, sched, tokens=n_tok, finite=finite,
                                     max_grad_norm=config.max_grad_norm, dist=dist)
            steps += outcome.applied
            skipped += not outcome.applied
        sums = dist.sum_floats(sums)
        row = {"epoch": epoch, "sft/nll": sums["nll"] / max(sums["tokens"], 1.0), "sft/tokens": sums["tokens"],
               "sft/steps": float(steps), "sft/skipped_steps": float(skipped), "time/epoch": time.perf_counter() - t0}
        if context:
            row["sft/observation_nll"] = sums["obs_nll"] / max(sums["obs_tokens"], 1.0)
        metrics.append(row)
        if dist.rank == 0:
            logger.info("SFT epoch %d: nll %.4f (%.1f s)", epoch, row["sft/nll"], row["time/epoch"])
        if progress is not None:
            progress(epoch, row)
    model.eval()
    return metrics


def _sft_micro_step(model: Any, rows: list[PackedRow], pad: int, num_tokens: float,
                    observation_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one micro-batch (divided by the action tokens of the whole batch)."""
    scores, ctx = packed_logprobs(model, rows, pad_token_id=pad, context=observation_weight > 0)
    out = sft_loss(scores.logprobs, scores.mask, num_tokens=num_tokens)
    stats = {"nll": out.stats["nll"], "tokens": out.stats["tokens"]}
    loss = out.loss
    if ctx is not None and ctx.mask.any():
        obs_nll = -(ctx.logprobs * ctx.mask).sum()
        loss = loss + observation_weight * obs_nll / num_tokens
        stats.update(obs_nll=float(obs_nll.detach()), obs_tokens=float(ctx.mask.sum()))
    return loss, stats
