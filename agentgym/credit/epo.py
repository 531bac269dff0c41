"""EPO: Entropy-regularized Policy Optimization for multi-turn agents (Xu et al.,
2025, "EPO: Entropy-regularized Policy Optimization for LLM Agents Reinforcement
Learning", arXiv:2509.22576; reference code github.com/WujiangXu/EPO).

Three terms that EPO adds to the PPO-clip loss, all on the step entropy ``H_t``
of a turn (the mean, over the turn's response tokens, of the policy's
next-token entropy at the sampling temperature, with gradient)::

    L = L_clip - lambda * sum_t w_t * ( H_t - beta_k * c * P(H_t; Hbar_t) )

1. **Trajectory-level entropy regularisation.** ``w_t = 1 / n_i`` for the turns
   of trajectory ``i`` (``n_i`` turns), normalised to sum to 1 over the
   mini-batch: the bonus is the mean over trajectories of the mean over their
   turns of the step entropy — every trajectory counts once and every turn of
   it equally, however long its replies (a plain token-mean bonus lets long
   replies dominate).
2. **Entropy smoothing.** ``Hbar_t`` is the running historical average: for
   turn index ``t``, the mean over the last ``window`` iterations of that
   iteration's mean step entropy at index ``t`` (measured before the update; an
   index never seen uses the mean over all indices). The penalty is a hinge on
   the band ``[kappa_low * Hbar_t, kappa_high * Hbar_t]``::

       P(H; Hbar) = max(0, kappa_low * Hbar - H) + max(0, H - kappa_high * Hbar)

   zero inside the band, growing linearly with the distance outside it, so
   the gradient pulls an entropy that collapsed or exploded back into the band.
   No history yet (the first iteration): no penalty.
3. **Phase-based weight** ``beta_k`` of the smoothing over training progress
   ``p = k / K`` (iteration ``k`` of ``K``; :func:`phase_weight`): in the first
   half it eases from 1 to 0.8, in the second it decays fast from 0.8 towards 0
   (``0.8 * exp(-3 * (2p - 1))``).

Deviations, stated: the reference code's smoothing term is a *constant*
out-of-band penalty per token (a mask of 0 / ``out_range_penalty``), which
adds to the loss but carries no gradient; we use the hinge above, so the term
acts on the entropy as the paper describes it. The band is compared with the
turn's mean token entropy (the code's ``mask_mode="seq"``), not token by token.
The code applies the smoothing only to turns at index ``>= max_steps // 2`` of
its 30-50-turn episodes; we apply it to every turn. Its first-half schedule
``1 - 0.2 * (1 - exp(-2 * 2p))`` ends at 0.827 and jumps to 0.8; ours is scaled
to reach 0.8 exactly at ``p = 1/2`` (continuous). Defaults ``kappa_low = 0.5``,
``kappa_high = 1.5``, ``window = 5`` and ``c = 1`` follow the authors' run script.

>>> round(phase_weight(0, 10), 4), round(phase_weight(5, 10), 4), round(phase_weight(10, 10), 4)
(1.0, 0.8, 0.0398)
>>> band_penalty(0.2, 1.0, kappa_low=0.5, kappa_high=1.5)   # below the band by 0.3
0.3
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "band_penalty",
    "epo_history_entry",
    "epo_reference",
    "epo_term",
    "phase_weight",
    "trajectory_weights",
]


def phase_weight(iteration: int, iterations: int) -> float:
    """``beta_k``: the smoothing's weight at ``iteration`` of ``iterations``.

    >>> [round(phase_weight(k, 4), 3) for k in range(5)]
    [1.0, 0.854, 0.8, 0.179, 0.04]
    """
    if iterations <= 0:
        return 1.0
    p = min(max(iteration / iterations, 0.0), 1.0)
    if p <= 0.5:
        return 1.0 - 0.2 * (1.0 - math.exp(-4.0 * p)) / (1.0 - math.exp(-2.0))
    return 0.8 * math.exp(-3.0 * (2.0 * p - 1.0))


def _relu(x: Any) -> Any:
    return x.clamp_min(0.0) if hasattr(x, "clamp_min") else max(0.0, x)


def band_penalty(h: Any, ref: float, *, kappa_low: float, kappa_high: float) -> Any:
    """``P(H; Hbar)``: the distance of ``h`` (a float or a tensor) outside the
    band ``[kappa_low * ref, kappa_high * ref]``; 0 inside it.

    >>> band_penalty(1.2, 1.0, kappa_low=0.5, kappa_high=1.5), band_penalty(2.0, 1.0, kappa_low=0.5, kappa_high=1.5)
    (0.0, 0.5)
    """
    return _relu(kappa_low * ref - h) + _relu(h - kappa_high * ref)


def trajectory_weights(turns: Sequence[int]) -> list[float]:
    """Per-turn weight ``1 / n_i`` of a trajectory's turns, for each trajectory
    with ``n_i = turns[i]`` scored turns (normalise over the mini-batch after).

    >>> trajectory_weights([1, 4])
    [1.0, 0.25]
    """
    return [1.0 / n if n > 0 else 0.0 for n in turns]


def epo_history_entry(entropies: Sequence[Sequence[float | None]]) -> tuple[list[float], list[float]]:
    """Sums and counts of the step entropies at each turn index of a batch
    (``entropies[i][t]``; None for a turn without tokens): add them up over
    processes, then divide, to get the iteration's history entry.

    >>> epo_history_entry([[1.0, 3.0], [2.0, None, 5.0]])
    ([3.0, 3.0, 5.0], [2.0, 1.0, 1.0])
    """
    width = max((len(row) for row in entropies), default=0)
    sums, counts = [0.0] * width, [0.0] * width
    for row in entropies:
        for t, h in enumerate(row):
            if h is not None:
                sums[t] += h
                counts[t] += 1.0
    return sums, counts


def epo_reference(history: Sequence[Sequence[float | None]], window: int, turns: int) -> list[float] | None:
    """``Hbar_t`` for turn indices ``0 .. turns - 1``: the mean of the last
    ``window`` history entries at each index (an entry is one iteration's mean
    step entropy per turn index, None where it had no turn there); an index no
    recent entry has takes the mean of all their values. None without history.

    >>> epo_reference([[1.0, 2.0], [3.0, None], [5.0, 7.0]], window=2, turns=3)
    [4.0, 7.0, 5.0]
    """
    recent = [row for row in history[-window:] if any(v is not None for v in row)] if window > 0 else []
    values = [v for row in recent for v in row if v is not None]
    if not values:
        return None
    overall = sum(values) / len(values)
    out = []
    for t in range(turns):
        at = [row[t] for row in recent if t < len(row) and row[t] is not None]
        out.append(sum(at) / len(at) if at else overall)  # type: ignore[arg-type]
    return out


def epo_term(h: Any, weight: Any, ref: Any, *, coef: float, smooth: float, kappa_low: float,
             kappa_high: float) -> tuple[Any, Any]:
    """The EPO loss of turns with step entropies ``h`` (floats or a ``(b,)``
    tensor with gradient), weights ``weight`` and references ``ref`` (``smooth``:
    ``beta_k * c``; with ``ref`` None or ``smooth == 0`` there is no smoothing):
    ``(sum of coef * w * (-h + smooth * P(h; ref)), sum of w * P)``. The caller
    divides by the mini-batch's total weight.

    >>> epo_term(0.2, 1.0, 1.0, coef=0.1, smooth=1.0, kappa_low=0.5, kappa_high=1.5)
    (0.01, 0.3)
    """
    if ref is None or not smooth:
        pen = h * 0.0
    else:
        pen = band_penalty(h, ref, kappa_low=kappa_low, kappa_high=kappa_high)
    loss = coef * weight * (smooth * pen - h)
    wp = weight * pen
    if hasattr(loss, "sum"):
        return loss.sum(), wp.sum()
    return round(loss, 12), round(wp, 12)
