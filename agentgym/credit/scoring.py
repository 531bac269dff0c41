"""IGPO scoring: the policy's belief in the answer after each turn.

:func:`score_information_gain` fills ``Turn.info_gain`` for every turn but the
last of each trajectory in **one batched teacher-forced pass** (micro-batched
only to bound memory), under ``torch.no_grad``, with the behaviour policy::

    s_{-1} = mean log p(answer | turn 0's prompt)        # the initial observation
    s_t    = mean log p(answer | turn t+1's prompt)      # ends with turn t's observation
    IG_t   = exp(s_t) - exp(s_{t-1})                     # info_gain="prob" (default), in [-1, 1]
    IG_t   = s_t - s_{t-1}                               # info_gain="logprob"

The default is the paper's definition (Wang et al., 2025; the official code's
``info_gain_type="prob_diff"``): the marginal increase in the policy's
*probability* of producing the answer, that probability being the exponential
of the mean token log-probability (a per-token geometric mean), so a gain is
bounded in [-1, 1] and a turn that lifts an already likely answer counts more
than one that moves an unlikely answer from 1e-6 to 1e-4. ``"logprob"``
(``"log_prob_diff"`` there) is the difference of mean log-probabilities:
unbounded, and it rewards relative progress on unlikely answers as much as on
likely ones.

Turn ``t+1``'s ``prompt_ids`` are exactly the tokens the policy acted on after
seeing turn ``t``'s observation (chat template, history window and all), so the
scores need no re-rendering; the answer is tokenised as a response
(``policy.response_ids(answer)``). The last turn is left ``None``: its reward is
the outcome. A group's prompts are scored in the same micro-batches, so the
task prompt they share is computed once (:mod:`agentgym.train.scoring`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from typing import Any, Literal

from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory

__all__ = ["INFO_GAINS", "InfoGain", "answer_scores", "information_gain", "score_information_gain"]

InfoGain = Literal["prob", "logprob"]
INFO_GAINS: tuple[str, ...] = ("prob", "logprob")

logger = logging.getLogger(__name__)


def answer_scores(
    policy: Any,
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    *,
    micro_batch_size: int | None = 16,
    temperature: float = 1.0,
    groups: Sequence[Hashable] | None = None,
) -> list[float]:
    """Mean log-probability of each answer after its prompt (no grad, batched).

    Rows of one group (``groups[i]``, e.g. the trajectory's group id) are scored
    next to each other, so a micro-batch computes the prompt they share once;
    within a group, similar lengths together (less padding). Same numbers in
    any order.

    >>> policy = agentgym.load_policy("tiny")                         # doctest: +SKIP
    >>> answer_scores(policy, [[1, 2, 3]], [[4, 5]])                  # doctest: +SKIP
    [-5.51]
    """
    import torch

    from agentgym.train.scoring import response_logprobs

    model = policy.model
    pad = _pad_token_id(policy)
    first_seen: dict[Hashable, int] = {}
    for g in groups if groups is not None else []:
        first_seen.setdefault(g, len(first_seen))
    order = sorted(range(len(prompts)), key=lambda i: (first_seen[groups[i]] if groups is not None else 0,
                                                       len(prompts[i]) + len(answers[i])))
    was_training = model.training
    model.eval()  # dropout off: the score is the policy's belief, not a noisy sample of it
    try:
        with torch.no_grad():
            scores = response_logprobs(
                model,
                [list(prompts[i]) for i in order],
                [list(answers[i]) for i in order],
                pad_token_id=pad,
                temperature=temperature,
                micro_batch_size=micro_batch_size,
            )
    finally:
        model.train(was_training)
    mask = scores.mask.to(scores.logprobs.dtype)  # (B, R)
    means = (scores.logprobs * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)  # (B,)
    out = [0.0] * len(order)
    for row, i in enumerate(order):
        out[i] = float(means[row])
    return out


def information_gain(before: float, after: float, kind: InfoGain = "prob") -> float:
    """The gain from belief ``before`` to belief ``after``, both mean
    log-probabilities of the answer: ``exp(after) - exp(before)`` (``"prob"``,
    the paper's, in [-1, 1]) or ``after - before`` (``"logprob"``).

    >>> round(information_gain(math.log(0.2), math.log(0.5)), 6)
    0.3
    >>> round(information_gain(math.log(0.2), math.log(0.5), "logprob"), 6)
    0.916291
    """
    if kind == "prob":
        return math.exp(after) - math.exp(before)
    if kind == "logprob":
        return after - before
    raise ConfigError(f"info_gain={kind!r} is not known; use 'prob' (the paper's gain in probability) or "
                      "'logprob' (the difference of mean log-probabilities).")


def _pad_token_id(policy: Any) -> int:
    tok = getattr(policy, "tokenizer", None)
    pad = getattr(tok, "pad_token_id", None)
    if pad is None:
        pad = getattr(tok, "eos_token_id", None)
    return int(pad if pad is not None else 0)


def score_information_gain(
    policy: Any,
    trajectories: Sequence[Trajectory],
    *,
    micro_batch_size: int | None = 16,
    temperature: float = 1.0,
    info_gain: InfoGain = "prob",
) -> int:
    """Fill ``turn.info_gain`` on every turn but the last: ``exp(s_t) - exp(s_{t-1})``
    (``info_gain="prob"``, the paper's) or ``s_t - s_{t-1}`` (``"logprob"``); returns
    the number of sequences scored.

    ``policy`` needs ``.model`` (a causal LM), ``.tokenizer`` and
    ``.response_ids(text)`` (an :class:`~agentgym.policies.hf.HFPolicy` has them).

    >>> trajs = agentgym.rollout.collect("GuessNumber-v0", policy, tasks=4, group_size=4)  # doctest: +SKIP
    >>> score_information_gain(policy, trajs)                                      # doctest: +SKIP
    """
    information_gain(0.0, 0.0, info_gain)  # an unknown kind fails before any scoring
    for name in ("model", "response_ids"):
        if not hasattr(policy, name):
            raise ConfigError(
                f"IGPO scoring needs a model policy with .{name} (e.g. 'tiny' or 'hf:PATH'); "
                f"got {type(policy).__name__}. Use estimator 'gigpo'/'grpo' with scripted or remote policies."
            )
    prompts: list[list[int]] = []
    answers: list[list[int]] = []
    groups: list[str] = []
    owners: list[Trajectory] = []
    answer_cache: dict[str, list[int]] = {}
    for traj in trajectories:
        if len(traj.turns) < 2:
            continue  # a single turn carries only the outcome
        if not traj.answer:
            raise ConfigError(
                f"task {traj.task_id!r} has no answer: IGPO needs the ground-truth answer of each task "
                "(Task.answer); use estimator 'gigpo' for envs without one."
            )
        if traj.answer not in answer_cache:
            answer_cache[traj.answer] = list(policy.response_ids(traj.answer))
        for turn in traj.turns:  # s_{-1} .. s_{T-2}: the prompts of turns 0 .. T-1
            if not turn.prompt_ids:
                raise ConfigError(
                    "IGPO scoring needs turns with prompt_ids (trajectories from a model policy)."
                )
            prompts.append(turn.prompt_ids)
            answers.append(answer_cache[traj.answer])
            groups.append(traj.group_id)
        owners.append(traj)
    if not prompts:
        return 0
    scores = answer_scores(
        policy, prompts, answers, micro_batch_size=micro_batch_size, temperature=temperature, groups=groups
    )
    pos = 0
    for traj in owners:
        s = scores[pos : pos + len(traj.turns)]
        pos += len(traj.turns)
        for t, turn in enumerate(traj.turns):
            turn.info_gain = information_gain(s[t], s[t + 1], info_gain) if t + 1 < len(s) else None
    logger.debug("IGPO: scored %d prompts of %d trajectories", len(prompts), len(owners))
    return len(prompts)
