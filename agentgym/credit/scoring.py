"""IGPO scoring: the policy's belief in the answer after each turn.

:func:`score_information_gain` fills ``Turn.info_gain`` for every turn but the
last of each trajectory in **one batched teacher-forced pass** (micro-batched
only to bound memory), under ``torch.no_grad``, with the behaviour policy::

    s_{-1} = mean log p(answer | turn 0's prompt)        # the initial observation
    s_t    = mean log p(answer | turn t+1's prompt)      # ends with turn t's observation
    IG_t   = s_t - s_{t-1}                               # t = 0 .. T-2

Turn ``t+1``'s ``prompt_ids`` are exactly the tokens the policy acted on after
seeing turn ``t``'s observation (chat template, history window and all), so the
scores need no re-rendering; the answer is tokenised as a response
(``policy.response_ids(answer)``). The last turn is left ``None``: its reward is
the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from agentgym.errors import ConfigError
from agentgym.trajectory import Trajectory

__all__ = ["score_information_gain", "answer_scores"]

logger = logging.getLogger(__name__)


def answer_scores(
    policy: Any,
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    *,
    micro_batch_size: int | None = 16,
    temperature: float = 1.0,
) -> list[float]:
    """Mean log-probability of each answer after its prompt (no grad, batched).

    >>> policy = agentgym.load_policy("tiny")                         # doctest: +SKIP
    >>> answer_scores(policy, [[1, 2, 3]], [[4, 5]])                  # doctest: +SKIP
    [-5.51]
    """
    import torch

    from agentgym.logprobs import response_logprobs

    model = policy.model
    pad = _pad_token_id(policy)
    # Rows of similar length share a micro-batch: less padding, same numbers.
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]) + len(answers[i]))
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
) -> int:
    """Fill ``turn.info_gain`` (``s_t - s_{t-1}``) on every turn but the last; returns
    the number of sequences scored.

    ``policy`` needs ``.model`` (a causal LM), ``.tokenizer`` and
    ``.response_ids(text)`` (an :class:`~agentgym.policies.hf.HFPolicy` has them).

    >>> trajs = agentgym.collect("GuessNumber-v0", policy, tasks=4, group_size=4)  # doctest: +SKIP
    >>> score_information_gain(policy, trajs)                                      # doctest: +SKIP
    """
    for name in ("model", "response_ids"):
        if not hasattr(policy, name):
            raise ConfigError(
                f"IGPO scoring needs a model policy with .{name} (e.g. 'tiny' or 'hf:PATH'); "
                f"got {type(policy).__name__}. Use estimator 'gigpo'/'grpo' with scripted or remote policies."
            )
    prompts: list[list[int]] = []
    answers: list[list[int]] = []
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
        owners.append(traj)
    if not prompts:
        return 0
    scores = answer_scores(
        policy, prompts, answers, micro_batch_size=micro_batch_size, temperature=temperature
    )
    pos = 0
    for traj in owners:
        s = scores[pos : pos + len(traj.turns)]
        pos += len(traj.turns)
        for t, turn in enumerate(traj.turns):
            turn.info_gain = s[t + 1] - s[t] if t + 1 < len(s) else None
    logger.debug("IGPO: scored %d prompts of %d trajectories", len(prompts), len(owners))
    return len(prompts)
