"""A self-evolving curriculum (WebRL, Qi et al., 2024; AutoWebGLM, Lai et al.,
2024): which train tasks an iteration rolls out, chosen from the policy's
recent results. Off by default (``curriculum = false``: every iteration takes
the next ``tasks_per_iter`` fresh tasks).

**State** (saved in every checkpoint, so a resumed run picks the same tasks):
for each train task tried, by its index, its last ``window`` outcomes (1 for a
successful episode, 0 otherwise; a group's G episodes are G tries) and how many
times it was picked.

**The pick**, each iteration, for ``n = tasks_per_iter`` slots; at most
``round(replay * n)`` of them replay a task already tried:

1. *frontier* tasks first: success rate over their last tries strictly between
   0 and 1 — solved sometimes, not always: their groups are mixed, which is
   what group-relative estimators learn from;
2. then *failed* tasks, re-sampled (WebRL): rate 0, picked fewer than
   ``retries`` times (a task failed that often is left, as too hard for now);
3. the remaining slots take fresh tasks from the train cursor.

A task solved on all its last tries is never replayed. Within each kind, the
tasks picked are a seeded random sample (the seed is ``(run seed, iteration)``),
so the pick is deterministic. Logged per iteration: ``curriculum/frontier``,
``curriculum/failed``, ``curriculum/fresh`` (the mix), and the pools they came
from (``curriculum/frontier_pool``, ``curriculum/failed_pool``, ``curriculum/solved``).

Not done (issue 19): generating *new* tasks next to the failed ones for
families whose generators take parameters (difficulty, hops, distractors).

>>> state = {}
>>> record(state, {3: (1, 2), 5: (0, 2)}, window=4)
>>> pick(state, 4, cursor=10, seed=0, iteration=1, replay=0.5, retries=3)[0]
[3, 5, 10, 11]
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from agentgym.tasks import derive_seed

__all__ = ["pick", "record"]


def record(state: dict[str, Any], results: Mapping[int, tuple[float, float]], *, window: int) -> None:
    """Add an iteration's results: ``results[index] = (successes, episodes)``."""
    outcomes = state.setdefault("outcomes", {})
    picks = state.setdefault("picks", {})
    for index, (successes, episodes) in sorted(results.items()):
        s, n = int(round(successes)), int(round(episodes))
        if n <= 0:
            continue
        row = outcomes.setdefault(index, []) + [1.0] * s + [0.0] * (n - s)
        outcomes[index] = row[-window:]
        picks[index] = picks.get(index, 0) + 1


def pick(
    state: Mapping[str, Any], n: int, *, cursor: int, seed: int, iteration: int, replay: float, retries: int
) -> tuple[list[int], dict[str, float]]:
    """The ``n`` task indices of this iteration (replays first, then fresh ones
    from ``cursor``) and the mix, for the logs.

    >>> pick({}, 2, cursor=7, seed=0, iteration=0, replay=0.5, retries=3)
    ([7, 8], {'curriculum/frontier': 0.0, 'curriculum/failed': 0.0, 'curriculum/fresh': 2.0, 'curriculum/frontier_pool': 0.0, 'curriculum/failed_pool': 0.0, 'curriculum/solved': 0.0})
    """
    outcomes: Mapping[int, list[float]] = state.get("outcomes", {})
    picks: Mapping[int, int] = state.get("picks", {})
    rates = {i: sum(o) / len(o) for i, o in outcomes.items() if o}
    frontier = sorted(i for i, r in rates.items() if 0.0 < r < 1.0)
    failed = sorted(i for i, r in rates.items() if r == 0.0 and picks.get(i, 0) < retries)
    rng = random.Random(derive_seed("curriculum", seed, iteration))
    budget = min(n, max(0, round(replay * n)))
    chosen_frontier = rng.sample(frontier, min(budget, len(frontier)))
    chosen_failed = rng.sample(failed, min(budget - len(chosen_frontier), len(failed)))
    fresh = n - len(chosen_frontier) - len(chosen_failed)
    indices = sorted(chosen_frontier) + sorted(chosen_failed) + list(range(cursor, cursor + fresh))
    mix = {
        "curriculum/frontier": float(len(chosen_frontier)),
        "curriculum/failed": float(len(chosen_failed)),
        "curriculum/fresh": float(fresh),
        "curriculum/frontier_pool": float(len(frontier)),
        "curriculum/failed_pool": float(len(failed)),
        "curriculum/solved": float(sum(r == 1.0 for r in rates.values())),
    }
    return indices, mix
