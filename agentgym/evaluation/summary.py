"""From episodes to figures: the aggregation behind ``results.json``.

Pure functions of the recorded trajectories (plus the seed of the bootstrap),
so the same episodes always give the same results, whatever order they were
run or resumed in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from agentgym.evaluation.schema import EntryResult, Figures, Interval, TaskCounts
from agentgym.evaluation.stats import bootstrap_rate, mean_pass_at_k
from agentgym.suites import SuiteEntry
from agentgym.tasks import derive_seed
from agentgym.trajectory import Trajectory

__all__ = ["STANDARD_METRICS", "entry_result", "overall_figures", "episode_key"]

# Metrics every env reports (see AgentEnv); the rest are the family's own.
STANDARD_METRICS = ("success", "turns", "invalid_actions", "return")


def _r(x: Any) -> float:
    """Round for stable, readable JSON (differences below 1e-9 are noise)."""
    return round(float(x), 9)


def episode_key(label: str, task_index: int, episode: int) -> str:
    """The identity of one evaluation episode (what resuming skips on)."""
    return f"{label}#{task_index}#{episode}"


def _success(t: Trajectory) -> float:
    # A failed episode (an exception ended it) never counts as a success.
    return 0.0 if t.failed else float(t.metrics.get("success", 0.0))


def _figures(by_task: Sequence[list[Trajectory]], k_max: int, interval: tuple[float, float]) -> Figures:
    episodes = [t for group in by_task for t in group]
    n = len(episodes)
    turns = [len(t.turns) for t in episodes]
    n_actions = sum(turns)
    invalid = sum(1 for t in episodes for turn in t.turns if not turn.action_valid)
    family: dict[str, list[float]] = defaultdict(list)
    for t in episodes:
        for key, metric in t.metrics.items():
            if key not in STANDARD_METRICS:
                family[key].append(float(metric))
    ns = [len(g) for g in by_task]
    cs = [int(sum(_success(t) for t in g)) for g in by_task]
    pass_k = {}
    for k in range(1, k_max + 1):
        value = mean_pass_at_k(ns, cs, k)
        if value is not None:
            pass_k[str(k)] = _r(value)
    return Figures(
        episodes=n,
        failed_episodes=sum(1 for t in episodes if t.failed),
        success=Interval(mean=_r(sum(cs) / max(n, 1)), low=_r(interval[0]), high=_r(interval[1])),
        mean_reward=_r(np.mean([t.episode_return for t in episodes]) if n else 0.0),
        pass_at_k=pass_k,
        mean_turns=_r(np.mean(turns) if n else 0.0),
        invalid_action_rate=_r(invalid / max(n_actions, 1)),
        tokens_per_episode=_r(np.mean([t.num_tokens for t in episodes]) if n else 0.0),
        prompt_tokens_per_episode=_r(np.mean([sum(len(u.prompt_ids) for u in t.turns) for t in episodes]) if n else 0.0),
        metrics={k: _r(np.mean(v)) for k, v in sorted(family.items())},
        turns_histogram={str(k): v for k, v in sorted(Counter(turns).items())},
    )


def _group_by_task(episodes: Sequence[Trajectory]) -> dict[int, list[Trajectory]]:
    groups: dict[int, list[Trajectory]] = defaultdict(list)
    for t in sorted(episodes, key=lambda t: (t.meta["eval"]["task_index"], t.meta["eval"]["episode"])):
        groups[int(t.meta["eval"]["task_index"])].append(t)
    return dict(sorted(groups.items()))


def entry_result(
    entry: SuiteEntry,
    episodes: Sequence[Trajectory],
    *,
    k_max: int,
    seed: int,
    confidence: float,
    n_boot: int,
) -> EntryResult:
    """Aggregate one suite entry's episodes (each carrying ``meta["eval"]``)."""
    groups = _group_by_task(episodes)
    c = np.array([sum(_success(t) for t in g) for g in groups.values()])
    n = np.array([len(g) for g in groups.values()])
    interval = (
        bootstrap_rate([c], [n], confidence=confidence, n_boot=n_boot, seed=derive_seed("bootstrap", seed, entry.label))
        if len(c)
        else (0.0, 0.0)
    )
    tasks = [
        TaskCounts(
            task_index=i,
            task_id=g[0].task_id,
            episodes=len(g),
            successes=int(sum(_success(t) for t in g)),
            mean_return=_r(np.mean([t.episode_return for t in g])),
        )
        for i, g in groups.items()
    ]
    return EntryResult(
        label=entry.label,
        env_id=entry.env_id,
        split=entry.split,
        kwargs=dict(entry.kwargs),
        n_tasks=len(groups),
        figures=_figures(list(groups.values()), k_max, interval),
        tasks=tasks,
    )


def overall_figures(
    entries: Sequence[EntryResult], *, seed: int, confidence: float, n_boot: int
) -> Figures:
    """Macro average over entries (each entry weighs the same); the interval
    resamples tasks within each entry (stratified bootstrap)."""
    if not entries:
        raise ValueError("no entries to aggregate")
    cs = [np.array([t.successes for t in e.tasks]) for e in entries]
    ns = [np.array([t.episodes for t in e.tasks]) for e in entries]
    low, high = bootstrap_rate(cs, ns, confidence=confidence, n_boot=n_boot, seed=derive_seed("bootstrap", seed, "overall"))
    figs = [e.figures for e in entries]

    def macro(get) -> float:
        return _r(np.mean([get(f) for f in figs]))

    ks = set.intersection(*(set(f.pass_at_k) for f in figs))
    metric_keys = sorted(set().union(*(f.metrics for f in figs)))
    histogram: Counter[str] = Counter()
    for f in figs:
        histogram.update(f.turns_histogram)
    return Figures(
        episodes=sum(f.episodes for f in figs),
        failed_episodes=sum(f.failed_episodes for f in figs),
        success=Interval(mean=macro(lambda f: f.success.mean), low=_r(low), high=_r(high)),
        mean_reward=macro(lambda f: f.mean_reward),
        pass_at_k={k: macro(lambda f, k=k: f.pass_at_k[k]) for k in sorted(ks, key=int)},
        mean_turns=macro(lambda f: f.mean_turns),
        invalid_action_rate=macro(lambda f: f.invalid_action_rate),
        tokens_per_episode=macro(lambda f: f.tokens_per_episode),
        prompt_tokens_per_episode=macro(lambda f: f.prompt_tokens_per_episode),
        # A family metric is averaged over the entries that report it.
        metrics={k: _r(np.mean([f.metrics[k] for f in figs if k in f.metrics])) for k in metric_keys},
        turns_histogram={k: histogram[k] for k in sorted(histogram, key=int)},
    )
