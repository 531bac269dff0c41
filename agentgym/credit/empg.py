"""EMPG: Entropy-Modulated Policy Gradients (Wang et al., 2025, "Harnessing
Uncertainty: Entropy-Modulated Policy Gradients for Long-Horizon LLM Agents").

The size of a policy gradient is coupled to the policy's entropy: confident
(low-entropy) steps get small updates, uncertain ones large. EMPG re-scales each
turn's advantage by the turn's uncertainty — confident turns amplified,
uncertain ones attenuated — and adds a bonus for turns whose *next* turn is
confident ("future clarity"). It modulates any estimator's advantages.

**Which entropy.** ``H_t`` is the *step entropy* of turn ``t``: the mean, over the
turn's response tokens, of the entropy of the policy's next-token distribution
(at the sampling temperature), as scored before the update by the policy that
sampled the rollouts (the trainer's no-grad scoring pass; the paper's
``old_entropy``).

**The modulation**, over all turns of the batch that have response tokens::

    Hn_t   = (H_t - min H) / (max H - min H + 1e-8)              min-max over the batch, in [0, 1]
    g_t    = exp(-k * Hn_t) / mean_batch exp(-k * Hn)            self-calibrating scale, batch mean exactly 1
    f_t    = exp(-k_future * Hn_t)                                future clarity, in (0, 1]
    A'_t   = g_t * A_t + zeta * f_{t+1}                           f_{t+1}: the trajectory's next turn; none on its last

Dividing ``g`` by its batch mean keeps the batch's mean scale of advantages (the
paper's self-calibration): the modulation redistributes credit between turns,
it does not change the learning rate. All-equal entropies give ``Hn = 0``,
``g = 1`` and ``f = 1``: the advantages are unchanged except for the bonus ``zeta`` on
every turn that has a next turn. Turns without tokens (scripted) keep their
advantage and give no bonus. Defaults ``k = k_future = 1``, ``zeta = 0.1`` follow the
authors' published reference code.

Deviation: the "batch" is this process's share of the iteration's rollouts
(whole groups; with one process, the whole iteration); the paper's is the
training batch. No re-centring follows the modulation.

>>> [[round(a, 4) for a in row] for row in empg([[1.0], [1.0]], [[0.0], [1.0]], zeta=0.0)]
[[1.4621], [0.5379]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agentgym.errors import ConfigError

__all__ = ["empg", "empg_metrics"]


def _check(k: float, k_future: float, zeta: float) -> None:
    for name, v in (("empg_k", k), ("empg_k_future", k_future), ("empg_zeta", zeta)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ConfigError(
                f"{name}={v} must be a finite number >= 0 (the paper's defaults: 1, 1, 0.1)."
            )


def empg(
    advantages: Sequence[Sequence[float]],
    entropies: Sequence[Sequence[float | None]],
    *,
    k: float = 1.0,
    k_future: float = 1.0,
    zeta: float = 0.1,
) -> list[list[float]]:
    """Entropy-modulated advantages, one per turn (``entropies[i][t]``: turn ``t``'s
    mean token entropy, None for a turn without tokens).

    >>> empg([[1.0, 1.0]], [[0.5, 0.5]], zeta=0.1)   # all-equal entropies: only the bonus
    [[1.1, 1.0]]
    """
    _check(k, k_future, zeta)
    if [len(a) for a in advantages] != [len(e) for e in entropies]:
        raise ValueError("advantages and entropies must have one value per turn of each trajectory")
    known = [h for row in entropies for h in row if h is not None]
    if not known:
        return [list(map(float, row)) for row in advantages]
    lo, hi = min(known), max(known)

    def hn(h: float) -> float:
        return (h - lo) / (hi - lo + 1e-8)

    mean_g = sum(math.exp(-k * hn(h)) for h in known) / len(known)
    out = []
    for adv, ent in zip(advantages, entropies, strict=True):
        row = []
        for t, (a, h) in enumerate(zip(adv, ent, strict=True)):
            value = a if h is None else math.exp(-k * hn(h)) / mean_g * a
            nxt = ent[t + 1] if t + 1 < len(ent) else None
            if nxt is not None:
                value += zeta * math.exp(-k_future * hn(nxt))
            row.append(value)
        out.append(row)
    return out


def empg_metrics(
    entropies: Sequence[Sequence[float | None]], prefix: str = "credit/"
) -> dict[str, float]:
    """Mean, min and max step entropy of the batch (for the logs).

    >>> empg_metrics([[1.0, None], [3.0]])["credit/step_entropy_mean"]
    2.0
    """
    known = [h for row in entropies for h in row if h is not None]
    if not known:
        return {}
    return {
        f"{prefix}step_entropy_mean": sum(known) / len(known),
        f"{prefix}step_entropy_min": min(known),
        f"{prefix}step_entropy_max": max(known),
    }
