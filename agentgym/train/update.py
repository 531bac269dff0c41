"""The policy update of one iteration: PPO epochs over mini-batches of turns.

Each training sample is one turn: its prompt, its sampled response and its
advantage. Per mini-batch: token-mean loss over all its response tokens
(micro-batched forward/backward, gradients summed), gradients summed across
processes, then one optimizer step (skipped when the mini-batch holds no
tokens on any process, or a loss or gradient is not finite).
With ``estimator="raft"`` (RAFT) the loss is the SFT loss instead: the
token-mean negative log-likelihood of the kept (successful) turns' responses.

Packing (``config.pack``, on by default): the turns of one trajectory whose
token ids chain (full history) are scored as one row (:mod:`agentgym.train.scoring`);
the numbers equal per-turn scoring, the compute is that of one forward over the
episode. Rows — a packed episode, or a single turn where nothing chains — are
then the unit that mini-batches are drawn from and ``micro_batch_size`` counts.

Data parallelism: ``model`` is the DDP wrapper ``accelerator.prepare`` made,
so gradients are summed by DDP's bucketed all-reduce in the backward of each
step's last micro-step (the others run under ``no_sync``). Processes hold whole
groups, hence different numbers of rows; DDP needs the same number of backward
calls everywhere, so a process with fewer micro-batches pads with zero-loss
ones. The loss is divided by the token count of the *global* mini-batch (times
the process count, which DDP's averaging divides out again), so the gradient is
exactly the token-mean gradient of the whole batch. The step itself, and when
it is skipped, is :func:`agentgym.train.optim.optimizer_step` (shared with SFT).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from agentgym.credit.epo import epo_term
from agentgym.tasks import derive_seed
from agentgym.train.config import TrainConfig
from agentgym.train.loss import masked_sum, policy_loss, sft_loss
from agentgym.train.optim import Dist, grad_sync, optimizer_step, zero_micro_step
from agentgym.train.scoring import PackedRow, pack_chain, packed_logprobs
from agentgym.trajectory import Trajectory

__all__ = ["Sample", "build_samples", "build_units", "set_advantages", "set_epo", "turn_entropies", "update_policy",
           "needs_entropy", "Dist"]

logger = logging.getLogger(__name__)

STAT_KEYS = ("pg", "kl", "entropy", "clip_frac", "ratio", "approx_kl_old", "tokens", "behaviour_gap", "nll",
             "epo_weight", "epo_entropy", "epo_penalty", "epo_out_of_band")
PG_KEYS = ("loss/pg", "loss/clip_frac", "loss/ratio_mean", "loss/approx_kl_old")  # not logged under RAFT's SFT loss


@dataclass
class Sample:
    """One turn to train on."""

    prompt_ids: list[int]
    response_ids: list[int]
    behaviour_logprobs: list[float]
    advantage: float
    old: torch.Tensor | None = field(default=None, repr=False)  # (R,) log-probs before the update
    ref: torch.Tensor | None = field(default=None, repr=False)  # (R,) under the reference
    trajectory: int = -1  # index of its trajectory (turns of one trajectory may be packed)
    turn: int = -1  # index of its turn in the trajectory
    entropy: float | None = None  # mean token entropy before the update (EMPG's step entropy; precompute)
    group: str = ""  # its group (task): a group's rows share a micro-batch, which scores their prompt once
    epo_weight: float = 0.0  # EPO: the turn's trajectory-level weight 1 / n_turns (set_epo)
    epo_ref: float | None = None  # EPO: the historical average step entropy at its turn index (None: no smoothing)


Unit = list[Sample]  # the turns scored in one row: a packed trajectory (in turn order) or one turn


def build_samples(trajectories: Sequence[Trajectory], advantages: Sequence[Sequence[float]]) -> list[Sample]:
    """One sample per turn that has sampled tokens (scripted turns have none)."""
    out = []
    for k, (traj, row) in enumerate(zip(trajectories, advantages, strict=True)):
        if traj.failed:
            continue
        for t, (turn, adv) in enumerate(zip(traj.turns, row, strict=True)):
            if turn.response_ids and turn.prompt_ids:
                out.append(Sample(turn.prompt_ids, turn.response_ids, turn.logprobs, float(adv), trajectory=k,
                                  turn=t, group=traj.group_id))
    return out


def turn_entropies(units: Sequence[Unit], trajectories: Sequence[Trajectory]) -> list[list[float | None]]:
    """Each turn's step entropy from :func:`precompute` (``Sample.entropy``), laid
    out like the advantages; None for a turn without sampled tokens."""
    out: list[list[float | None]] = [[None] * len(t.turns) for t in trajectories]
    for unit in units:
        for s in unit:
            out[s.trajectory][s.turn] = s.entropy
    return out


def set_advantages(units: Sequence[Unit], advantages: Sequence[Sequence[float]]) -> None:
    """Give every sample its turn's advantage (after a modulation such as EMPG)."""
    for unit in units:
        for s in unit:
            s.advantage = float(advantages[s.trajectory][s.turn])


def set_epo(units: Sequence[Unit], turns: Sequence[int], refs: Sequence[float] | None) -> None:
    """EPO's per-turn inputs: weight ``1 / turns[trajectory]`` and the reference
    entropy ``refs[turn index]`` (:mod:`agentgym.credit.epo`)."""
    for unit in units:
        for s in unit:
            s.epo_weight = 1.0 / turns[s.trajectory]
            s.epo_ref = None if refs is None else refs[min(s.turn, len(refs) - 1)]


def needs_entropy(config: TrainConfig) -> bool:
    """Whether :func:`precompute` records each turn's step entropy (EMPG, EPO's history)."""
    return config.empg or config.epo


def build_units(samples: Sequence[Sample], pack: bool = True) -> list[Unit]:
    """Group samples into rows: consecutive turns of a trajectory whose ids
    chain share a row when ``pack``; every other sample is a row of its own."""
    if not pack:
        return [[s] for s in samples]
    units: list[Unit] = []
    start = 0
    while start < len(samples):
        end = start + 1
        while end < len(samples) and samples[end].trajectory == samples[start].trajectory >= 0:
            end += 1
        chunk = samples[start:end]
        for row in pack_chain([s.prompt_ids for s in chunk], [s.response_ids for s in chunk]):
            units.append([chunk[m] for m in row.members])
        start = end
    return units


def _rows(units: Sequence[Unit]) -> tuple[list[PackedRow], list[Sample]]:
    """Packed rows of ``units`` and their samples in member order."""
    rows, flat = [], []
    for unit in units:
        (row,) = pack_chain([s.prompt_ids for s in unit], [s.response_ids for s in unit],
                            members=range(len(flat), len(flat) + len(unit)))
        rows.append(row)
        flat.extend(unit)
    return rows, flat


def _length(unit: Unit) -> int:
    return len(unit[-1].prompt_ids) + len(unit[-1].response_ids)


def _by_group(units: Sequence[Unit]) -> list[list[Unit]]:
    """Units grouped by their samples' group, groups in first-seen order (a
    sample without a group is a group of its own)."""
    groups: dict[Any, list[Unit]] = {}
    for i, unit in enumerate(units):
        groups.setdefault(unit[0].group or ("unit", i), []).append(unit)
    return list(groups.values())


def _micro_batches(units: Sequence[Unit], size: int) -> list[list[Unit]]:
    """Micro-batches of at most ``size`` rows in which a group's rows (the G
    episodes of one task) stay together where they fit, so that the scorer
    computes the task prompt they share once rather than G times; groups in
    order of length, a group's rows by length (less padding). A group larger
    than ``size`` fills whole micro-batches. The token-mean loss does not
    depend on how rows are split."""
    groups = sorted((sorted(g, key=_length) for g in _by_group(units)), key=lambda g: _length(g[-1]))
    out: list[list[Unit]] = []
    cur: list[Unit] = []
    for g in groups:
        if cur and len(cur) + len(g) > size:
            out.append(cur)
            cur = []
        while len(g) > size:
            out.append(g[:size])
            g = g[size:]
        cur.extend(g)
    if cur:
        out.append(cur)
    return out


def _pad(rows: Sequence[torch.Tensor], width: int) -> torch.Tensor:
    out = torch.zeros((len(rows), width))
    for i, r in enumerate(rows):
        out[i, : r.numel()] = r
    return out


def _score(model: Any, units: Sequence[Unit], config: TrainConfig, pad: int, *, entropy: bool = False,
           entropy_grad: bool = True) -> tuple[Any, list[Sample]]:
    """Scores of every sample of one micro-batch of ``units``, rows in the order
    of the returned samples (one forward; shared prefixes computed once)."""
    rows, flat = _rows(units)
    scores, _ = packed_logprobs(model, rows, pad_token_id=pad, temperature=config.temperature, with_entropy=entropy,
                                entropy_grad=entropy_grad)
    return scores, flat


@torch.no_grad()
def precompute(model: Any, reference: Any, units: Sequence[Unit], config: TrainConfig, pad: int) -> None:
    """Fill ``sample.old`` (when the update is not a single on-policy step),
    ``sample.entropy`` (EMPG: the turn's mean token entropy, from the same pass)
    and ``sample.ref`` (when the KL is on), in no-grad passes."""
    micro = _micro_batches(units, config.micro_batch_size)
    need_old = config.ppo_epochs > 1 or config.num_mini_batches > 1
    want_entropy = needs_entropy(config)
    if need_old or want_entropy:
        for batch in micro:
            scores, flat = _score(model, batch, config, pad, entropy=want_entropy, entropy_grad=False)
            for i, s in enumerate(flat):
                n = len(s.response_ids)
                if need_old:
                    s.old = scores.logprobs[i, :n].detach().cpu()
                if want_entropy:
                    s.entropy = float(scores.entropy[i, :n].mean())
    if reference.needed:
        ref_model, ctx = reference.context()
        with ctx:
            for batch in micro:
                scores, flat = _score(ref_model, batch, config, pad)
                for i, s in enumerate(flat):
                    s.ref = scores.logprobs[i, : len(s.response_ids)].detach().cpu()


def _mini_batches(units: Sequence[Unit], config: TrainConfig, iteration: int, epoch: int, rank: int) -> list[list[Unit]]:
    """``num_mini_batches`` near-equal slices of the rows in a random order of
    whole groups: a group stays in one mini-batch unless a slice boundary cuts
    it (so its micro-batch can share its prompt)."""
    gen = torch.Generator().manual_seed(derive_seed("minibatch", config.seed, iteration, epoch, rank) % 2**62)
    groups = _by_group(units)
    order = [unit for g in torch.randperm(len(groups), generator=gen).tolist() for unit in groups[g]]
    k = config.num_mini_batches
    bounds = [round(j * len(order) / k) for j in range(k + 1)]
    return [order[bounds[j] : bounds[j + 1]] for j in range(k)]


def _micro_step(model: Any, units: list[Unit], config: TrainConfig, pad: int, num_tokens: float,
                epo_norm: float = 0.0, epo_smooth: float = 0.0) -> tuple[float, dict[str, float]]:
    """Forward + backward of one micro-batch of rows; returns the loss and token sums."""
    # With entropy_coef = 0 (and no EPO) the entropy is only logged: computed without a graph.
    scores, micro = _score(model, units, config, pad, entropy=True,
                           entropy_grad=config.entropy_coef != 0 or config.epo)
    lp, mask = scores.logprobs, scores.mask  # (b, R)
    R = lp.shape[1]
    dev = lp.device
    on_policy = micro[0].old is None
    old = lp.detach() if on_policy else _pad([s.old for s in micro], R).to(dev)  # type: ignore[misc]
    ref = _pad([s.ref for s in micro], R).to(dev) if micro[0].ref is not None else None  # type: ignore[misc]
    if config.estimator == "raft":  # RAFT: plain SFT on the (successful) turns; no ratio, no advantage
        out = sft_loss(lp, mask, num_tokens=num_tokens)
        out.stats["entropy"] = float(masked_sum(scores.entropy.detach(), mask))
    else:
        out = _pg_loss(lp, old, ref, mask, scores.entropy, micro, config, num_tokens)
        if config.epo:
            out.loss = out.loss + _epo_loss(scores.entropy, mask, micro, config, epo_norm, epo_smooth, out.stats)
    loss = float(out.loss.detach())
    # Backward even when non-finite: with DDP every process must join the
    # gradient all-reduce; the non-finite gradients then skip the step everywhere.
    out.loss.backward()
    # How far the recorded sampling log-probs are from the recomputed ones (should be ~0).
    behaviour = _pad([torch.tensor(s.behaviour_logprobs[: len(s.response_ids)]) for s in micro], R).to(dev)
    gap = ((behaviour - old).abs() * mask).sum()
    return loss, {**out.stats, "behaviour_gap": float(gap)}


def _pg_loss(lp: torch.Tensor, old: torch.Tensor, ref: torch.Tensor | None, mask: torch.Tensor, entropy: Any,
             micro: list[Sample], config: TrainConfig, num_tokens: float) -> Any:
    """The PPO-clip loss of one micro-batch (its samples' advantages, one per row)."""
    adv = torch.tensor([s.advantage for s in micro], dtype=lp.dtype, device=lp.device)  # (b,)
    return policy_loss(
        lp, old, adv, mask,
        clip_eps_low=config.clip_eps_low, clip_eps_high=config.clip_eps_high,
        ref_logprobs=ref, kl_coef=config.kl_coef,
        entropy=entropy, entropy_coef=config.entropy_coef, num_tokens=num_tokens,
    )


def _epo_loss(entropy: torch.Tensor, mask: torch.Tensor, micro: list[Sample], config: TrainConfig, norm: float,
              smooth: float, stats: dict[str, float]) -> torch.Tensor:
    """EPO's trajectory-level entropy bonus and band penalty for one micro-batch,
    divided by the mini-batch's total turn weight ``norm`` (all processes)."""
    m = mask.to(entropy.dtype)
    h = (entropy * m).sum(-1) / m.sum(-1).clamp_min(1.0)  # (b,) step entropies, with grad
    w = torch.tensor([s.epo_weight for s in micro], dtype=h.dtype, device=h.device)  # (b,)
    has_ref = [s.epo_ref is not None for s in micro]
    ref = torch.tensor([s.epo_ref if s.epo_ref is not None else 0.0 for s in micro], dtype=h.dtype, device=h.device)
    loss, penalty = epo_term(h, w, ref if any(has_ref) else None, coef=config.epo_coef, smooth=smooth,
                             kappa_low=config.epo_band[0], kappa_high=config.epo_band[1])
    with torch.no_grad():
        stats["epo_weight"] = float(w.sum())
        stats["epo_entropy"] = float((w * h).sum())
        stats["epo_penalty"] = float(penalty)
        if any(has_ref):
            lo, hi = config.epo_band[0] * ref, config.epo_band[1] * ref
            stats["epo_out_of_band"] = float((w * ((h < lo) | (h > hi)).to(h.dtype)).sum())
    return loss / max(norm, 1e-12)


def update_policy(
    model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    units: list[Unit],
    config: TrainConfig,
    *,
    pad_token_id: int,
    iteration: int,
    dist: Dist,
    epo_smooth: float = 0.0,
) -> dict[str, float]:
    """Run ``ppo_epochs`` x ``num_mini_batches`` optimizer steps over the rows
    of :func:`build_units`; returns metrics.

    ``model`` is what the forward and backward passes run through: the policy's
    model, or with several processes its DDP wrapper from
    ``accelerator.prepare``, whose bucketed all-reduce sums the gradients during
    the last backward of each step. Every process then runs the same number of
    micro-steps (the largest count of any process; a process with fewer rows
    pads with zero-loss micro-steps), as DDP requires.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    totals = dict.fromkeys(STAT_KEYS, 0.0)
    counts = dict.fromkeys(("applied", "empty", "non_finite"), 0)
    grad_norms: list[float] = []
    model.train()
    for epoch in range(config.ppo_epochs):
        for batch in _mini_batches(units, config, iteration, epoch, dist.rank):
            local_tokens = float(sum(len(s.response_ids) for unit in batch for s in unit))
            num_tokens = dist.sum(torch.tensor([local_tokens], dtype=torch.float64)).item()
            # EPO: the bonus is a weighted mean over the mini-batch's turns (all processes).
            epo_norm = dist.sum(torch.tensor([sum(s.epo_weight for u in batch for s in u)],
                                             dtype=torch.float64)).item() if config.epo else 0.0
            micro = _micro_batches(batch, config.micro_batch_size)  # a group's rows together, similar lengths
            n_micro = int(dist.max(len(micro))) if num_tokens > 0 else 0
            finite = True
            for k in range(n_micro):
                with grad_sync(model, last=k == n_micro - 1):
                    if k < len(micro):
                        loss, stats = _micro_step(model, micro[k], config, pad_token_id, num_tokens / dist.world,
                                                  epo_norm / dist.world, epo_smooth)
                        finite &= math.isfinite(loss)
                        for key, v in stats.items():
                            totals[key] += v
                    else:
                        zero_micro_step(model, pad_token_id)
            outcome = optimizer_step(params, optimizer, scheduler, tokens=num_tokens, finite=finite,
                                     max_grad_norm=config.max_grad_norm, dist=dist)
            counts[outcome.reason] += 1
            if outcome.applied:
                grad_norms.append(outcome.grad_norm)
    metrics = _update_metrics(dist.sum_floats(totals), counts, grad_norms, optimizer)
    for key in PG_KEYS if config.estimator == "raft" else ("loss/nll",):
        del metrics[key]
    if config.epo:
        w = max(metrics.pop("loss/epo_weight"), 1e-12)
        metrics["loss/epo_entropy"] = metrics.pop("loss/epo_entropy_sum") / w
        metrics["loss/epo_penalty"] = metrics.pop("loss/epo_penalty_sum") / w
        metrics["loss/epo_out_of_band_frac"] = metrics.pop("loss/epo_out_of_band_sum") / w
    else:
        for key in ("loss/epo_weight", "loss/epo_entropy_sum", "loss/epo_penalty_sum", "loss/epo_out_of_band_sum"):
            del metrics[key]
    if not (units and units[0][0].ref is not None):
        del metrics["loss/kl"]  # no reference pass ran (kl_coef = 0)
    if dist.world > 1:
        metrics["dist/param_divergence"] = dist.divergence(params)
    return metrics


def _update_metrics(totals: dict[str, float], counts: dict[str, int], norms: list[float], optimizer: Any) -> dict[str, float]:
    tokens = max(1.0, totals["tokens"])
    m = {f"loss/{k}": totals[k] / tokens for k in ("pg", "kl", "entropy", "clip_frac", "approx_kl_old", "nll")}
    m["loss/ratio_mean"] = totals["ratio"] / tokens
    m["loss/epo_weight"] = totals["epo_weight"]  # EPO's sums: update_policy divides them by the weight
    m["loss/epo_entropy_sum"] = totals["epo_entropy"]
    m["loss/epo_penalty_sum"] = totals["epo_penalty"]
    m["loss/epo_out_of_band_sum"] = totals["epo_out_of_band"]
    m["train/behaviour_logprob_gap"] = totals["behaviour_gap"] / tokens
    m["train/optimizer_steps"] = float(counts["applied"])
    # Skipped: no tokens anywhere (train/empty_steps) or a non-finite loss or gradient.
    m["train/skipped_steps"] = float(counts["empty"] + counts["non_finite"])
    m["train/empty_steps"] = float(counts["empty"])
    m["train/grad_norm"] = sum(norms) / len(norms) if norms else float("nan")
    m["train/lr"] = float(optimizer.param_groups[0]["lr"])
    m["train/tokens"] = totals["tokens"]
    return m
