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
3. *near* tasks (``curriculum_near > 0``): up to ``round(near * n)`` of the
   remaining slots take new tasks generated next to failed ones (rate 0,
   however often tried), for families whose task generator can make them
   (:meth:`agentgym.tasks.TaskGenerator.near`: by default one difficulty
   easier, new content). A near task's key is ``"PARENT~m"`` (the m-th made
   next to the task keyed PARENT); once tried it is a task like the others, so
   it can turn frontier or failed and be replayed, or be the parent of more;
4. the remaining slots take fresh tasks from the train cursor.

A task solved on all its last tries is never replayed. Within each kind, the
tasks picked are a seeded random sample (the seed is ``(run seed, iteration)``),
so the pick is deterministic. Logged per iteration: ``curriculum/frontier``,
``curriculum/failed``, ``curriculum/near``, ``curriculum/fresh`` (the mix), and
the pools they came from (``curriculum/frontier_pool``,
``curriculum/failed_pool``, ``curriculum/solved``).

Task keys are train indices (``int``) or near keys (``str``); the trainer maps
both to tasks (:meth:`agentgym.train.run.TrainingRun.tasks`).

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

__all__ = ["pick", "record", "near_key", "parse_near_key"]

Key = int | str


def near_key(parent: Key, m: int) -> str:
    """The key of the ``m``-th task made next to the task keyed ``parent``.

    >>> near_key(7, 0), parse_near_key(near_key(near_key(7, 0), 2))
    ('7~0', ('7~0', 2))
    """
    return f"{parent}~{m}"


def parse_near_key(key: str) -> tuple[Key, int]:
    """``(parent key, m)`` of a near key."""
    parent, m = key.rsplit("~", 1)
    return (parent if "~" in parent else int(parent)), int(m)


def _order(key: Key) -> tuple[int, int, str]:
    return (0, key, "") if isinstance(key, int) else (1, 0, key)


def record(state: dict[str, Any], results: Mapping[Key, tuple[float, float]], *, window: int) -> None:
    """Add an iteration's results: ``results[key] = (successes, episodes)``."""
    outcomes = state.setdefault("outcomes", {})
    picks = state.setdefault("picks", {})
    for index, (successes, episodes) in sorted(results.items(), key=lambda kv: _order(kv[0])):
        if isinstance(index, str):  # a near task: its parent has had one more made
            parent, m = parse_near_key(index)
            made = state.setdefault("near_made", {})
            made[parent] = max(made.get(parent, 0), m + 1)
        s, n = int(round(successes)), int(round(episodes))
        if n <= 0:
            continue
        row = outcomes.setdefault(index, []) + [1.0] * s + [0.0] * (n - s)
        outcomes[index] = row[-window:]
        picks[index] = picks.get(index, 0) + 1


def pick(
    state: Mapping[str, Any], n: int, *, cursor: int, seed: int, iteration: int, replay: float, retries: int,
    near: float = 0.0,
) -> tuple[list[Key], dict[str, float]]:
    """The ``n`` task keys of this iteration (replays first, then tasks near
    failed ones, then fresh indices from ``cursor``) and the mix, for the logs.

    >>> pick({}, 2, cursor=7, seed=0, iteration=0, replay=0.5, retries=3)[0]
    [7, 8]
    >>> pick({"outcomes": {4: [0.0, 0.0]}, "picks": {4: 5}}, 2, cursor=7, seed=0, iteration=0, replay=0.5,
    ...      retries=3, near=0.5)[0]   # task 4 failed too often to replay: one task made next to it
    ['4~0', 7]
    """
    outcomes: Mapping[Key, list[float]] = state.get("outcomes", {})
    picks: Mapping[Key, int] = state.get("picks", {})
    made: Mapping[Key, int] = state.get("near_made", {})
    rates = {i: sum(o) / len(o) for i, o in outcomes.items() if o}
    frontier = sorted((i for i, r in rates.items() if 0.0 < r < 1.0), key=_order)
    all_failed = sorted((i for i, r in rates.items() if r == 0.0), key=_order)
    failed = [i for i in all_failed if picks.get(i, 0) < retries]
    rng = random.Random(derive_seed("curriculum", seed, iteration))
    budget = min(n, max(0, round(replay * n)))
    chosen_frontier = rng.sample(frontier, min(budget, len(frontier)))
    chosen_failed = rng.sample(failed, min(budget - len(chosen_frontier), len(failed)))
    left = n - len(chosen_frontier) - len(chosen_failed)
    parents = rng.sample(all_failed, min(left, max(0, round(near * n)), len(all_failed)))
    chosen_near = [near_key(p, made.get(p, 0)) for p in sorted(parents, key=_order)]
    fresh = left - len(chosen_near)
    indices: list[Key] = [*sorted(chosen_frontier, key=_order), *sorted(chosen_failed, key=_order), *chosen_near,
                          *range(cursor, cursor + fresh)]
    mix = {
        "curriculum/frontier": float(len(chosen_frontier)),
        "curriculum/failed": float(len(chosen_failed)),
        "curriculum/near": float(len(chosen_near)),
        "curriculum/fresh": float(fresh),
        "curriculum/frontier_pool": float(len(frontier)),
        "curriculum/failed_pool": float(len(failed)),
        "curriculum/solved": float(sum(r == 1.0 for r in rates.values())),
    }
    return indices, mix
