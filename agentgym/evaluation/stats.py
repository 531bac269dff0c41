"""Statistics of an evaluation: bootstrap confidence intervals, unbiased pass@k
and pass^k, and the significance tests behind ``agentgym compare``.

Episodes of one task are not independent (the same task is easy or hard for
every sample), so every resampling here is over **tasks** (a cluster
bootstrap): a task's episodes are kept together. An overall figure is the
*macro* average over suite entries (each env counts the same, however many
tasks it has), and its interval resamples tasks within each entry
(stratified). When every task fails (or every task succeeds) resampling
cannot move the rate, so the interval is the Wilson score interval with one
observation per task instead of a false ``[0, 0]``. Everything is seeded: the same data and seed give the same
interval.

>>> import numpy as np
>>> round(pass_at_k(n=10, c=3, k=1), 6)
0.3
>>> round(pass_hat_k(n=10, c=3, k=2), 6)
0.066667
>>> lo, hi = bootstrap_rate([np.array([1, 0, 1, 1])], [np.array([1, 1, 1, 1])], seed=0)
>>> 0.0 <= lo <= 0.75 <= hi <= 1.0
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "pass_at_k",
    "mean_pass_at_k",
    "pass_hat_k",
    "mean_pass_hat_k",
    "bootstrap_rate",
    "Difference",
    "compare_rates",
    "holm",
    "wilson",
]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from ``n`` samples of which ``c`` succeeded
    (Chen et al., 2021): ``1 - C(n-c, k) / C(n, k)``, computed as a product so
    it stays exact for large ``n``.

    >>> pass_at_k(5, 0, 3), pass_at_k(5, 5, 3), round(pass_at_k(4, 1, 2), 3)
    (0.0, 1.0, 0.5)
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(ns: Sequence[int], cs: Sequence[int], k: int) -> float | None:
    """pass@k averaged over the tasks with at least ``k`` samples (``None`` if none)."""
    values = [pass_at_k(n, c, k) for n, c in zip(ns, cs, strict=True) if n >= k]
    return float(np.mean(values)) if values else None


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass^k from ``n`` samples of which ``c`` succeeded:
    the chance that ``k`` tries of the task *all* succeed (τ-bench's reliability
    metric, Yao et al., 2024), ``C(c, k) / C(n, k)``, computed as a product.
    pass^1 = pass@1; pass^k falls with k where pass@k rises.

    >>> pass_hat_k(5, 5, 3), pass_hat_k(5, 2, 3), round(pass_hat_k(4, 3, 2), 3)
    (1.0, 0.0, 0.5)
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if c < k:
        return 0.0
    i = np.arange(k)
    return float(np.prod((c - i) / (n - i)))


def mean_pass_hat_k(ns: Sequence[int], cs: Sequence[int], k: int) -> float | None:
    """pass^k averaged over the tasks with at least ``k`` samples (``None`` if none)."""
    values = [pass_hat_k(n, c, k) for n, c in zip(ns, cs, strict=True) if n >= k]
    return float(np.mean(values)) if values else None


def _strata_rates(
    successes: Sequence[np.ndarray], counts: Sequence[np.ndarray], rng: np.random.Generator, n_boot: int
) -> np.ndarray:
    """(n_boot, n_strata) bootstrap replicates of each stratum's pooled rate,
    resampling the stratum's tasks (clusters) with replacement."""
    out = np.empty((n_boot, len(successes)))
    for j, (c, n) in enumerate(zip(successes, counts, strict=True)):
        t = len(c)
        idx = rng.integers(t, size=(n_boot, t))  # (B, T)
        out[:, j] = c[idx].sum(axis=1) / np.maximum(n[idx].sum(axis=1), 1)
    return out


def bootstrap_rate(
    successes: Sequence[np.ndarray],
    counts: Sequence[np.ndarray],
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a (macro-averaged) success rate.

    Args:
        successes: One array per stratum (suite entry): successes per task.
        counts: Matching arrays: episodes per task.
        confidence: Coverage of the interval.
        n_boot: Bootstrap replicates.
        seed: Seed of the resampling.

    Returns:
        ``(low, high)``. With a single task in a stratum the interval has no
        between-task spread to measure; it then resamples that task's episodes.
    """
    rng = np.random.default_rng(seed)
    strata_c, strata_n = [], []
    for c, n in zip(successes, counts, strict=True):
        c, n = np.asarray(c, dtype=float), np.asarray(n, dtype=float)
        if len(c) == 1:  # one task: resample its episodes instead (Bernoulli outcomes)
            total = int(n[0])
            c = np.concatenate([np.ones(int(c[0])), np.zeros(total - int(c[0]))])
            n = np.ones(total)
        strata_c.append(c)
        strata_n.append(n)
    reps = _strata_rates(strata_c, strata_n, rng, n_boot).mean(axis=1)  # (B,)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(reps, [alpha, 1.0 - alpha])
    if low == high and low in (0.0, 1.0):
        # Every task all-fail (or all-succeed): resampling cannot move the rate,
        # and [0, 0] would claim certainty. Use the Wilson score interval with
        # one observation per task (conservative: a task's episodes are not independent).
        return wilson(float(low), sum(len(c) for c in strata_c), confidence)
    return float(low), float(high)


def wilson(rate: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``rate`` observed over ``n`` trials.

    >>> tuple(round(x, 3) for x in wilson(0.0, 20))
    (0.0, 0.161)
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    denom = 1.0 + z * z / n
    centre = (rate + z * z / (2 * n)) / denom
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if rate <= 0.0 else max(0.0, centre - half)  # exact ends, no rounding residue
    high = 1.0 if rate >= 1.0 else min(1.0, centre + half)
    return float(low), float(high)


@dataclass(frozen=True)
class Difference:
    """``b - a`` in success rate, its interval and the two-sided p-value of
    "no difference"; ``paired`` says which test produced it."""

    a: float
    b: float
    diff: float
    low: float
    high: float
    p_value: float
    paired: bool


def _paired_diffs(a_rates: Sequence[np.ndarray], b_rates: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(b, float) - np.asarray(a, float) for a, b in zip(a_rates, b_rates, strict=True)]


def compare_rates(
    a_rates: Sequence[np.ndarray],
    b_rates: Sequence[np.ndarray],
    *,
    paired: bool,
    confidence: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
) -> Difference:
    """Compare two macro-averaged success rates given per-task rates per stratum.

    ``paired=True`` (the same tasks, in the same order, in both runs): the
    interval is a paired bootstrap over tasks (within each stratum) of the mean
    per-task difference, and the p-value a sign-flip permutation test (under
    "no difference", swapping the two runs' results on a task changes nothing).
    ``paired=False``: independent bootstraps of each side for the interval and
    a permutation test that shuffles task-level rates between the runs within
    each stratum. Both p-values are ``(1 + #extreme) / (1 + n_boot)``, so never 0.

    >>> import numpy as np
    >>> d = compare_rates([np.zeros(30)], [np.ones(30)], paired=True, seed=0)
    >>> d.diff, d.p_value < 0.01
    (1.0, True)
    """
    rng = np.random.default_rng(seed)
    a_mean = float(np.mean([np.mean(a) for a in a_rates]))
    b_mean = float(np.mean([np.mean(b) for b in b_rates]))
    observed = b_mean - a_mean
    alpha = (1.0 - confidence) / 2.0
    if paired:
        diffs = _paired_diffs(a_rates, b_rates)
        ones = [np.ones(len(d)) for d in diffs]
        reps = _strata_rates(diffs, ones, rng, n_boot).mean(axis=1)
        flips = np.zeros(n_boot)
        for d in diffs:
            signs = rng.choice([-1.0, 1.0], size=(n_boot, len(d)))
            flips += (signs * d).mean(axis=1)
        null = flips / len(diffs)
    else:
        ra = _strata_rates([np.asarray(a, float) for a in a_rates], [np.ones(len(a)) for a in a_rates], rng, n_boot)
        rb = _strata_rates([np.asarray(b, float) for b in b_rates], [np.ones(len(b)) for b in b_rates], rng, n_boot)
        reps = rb.mean(axis=1) - ra.mean(axis=1)
        null = np.zeros(n_boot)
        for a, b in zip(a_rates, b_rates, strict=True):
            pooled = np.concatenate([np.asarray(a, float), np.asarray(b, float)])
            perm = rng.permuted(np.broadcast_to(pooled, (n_boot, len(pooled))), axis=1)
            null += perm[:, len(a) :].mean(axis=1) - perm[:, : len(a)].mean(axis=1)
        null /= len(a_rates)
    low, high = np.quantile(reps, [alpha, 1.0 - alpha])
    extreme = int(np.sum(np.abs(null) >= abs(observed) - 1e-12))
    p = (1 + extreme) / (1 + n_boot)
    return Difference(a_mean, b_mean, observed, float(low), float(high), float(min(p, 1.0)), paired)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (for the per-env tests of one comparison).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = np.argsort(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = round(running, 12)
    return adjusted
