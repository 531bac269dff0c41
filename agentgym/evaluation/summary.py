"""From episodes to figures: the aggregation behind ``results.json``.

Pure functions of the recorded trajectories (plus the seed of the bootstrap),
so the same episodes always give the same results, whatever order they were
run or resumed in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from agentgym.evaluation.schema import EntryResult, Figures, Interval, TaskCounts
from agentgym.evaluation.stats import bootstrap_rate, mean_pass_at_k, mean_pass_hat_k
from agentgym.rewards.monitor import judge_agreement
from agentgym.suites import SuiteEntry
from agentgym.tasks import derive_seed
from agentgym.trajectory import Trajectory

__all__ = ["STANDARD_METRICS", "entry_result", "overall_figures", "episode_key", "episode_success", "episode_totals",
           "episode_means"]

# Metrics every env reports (see AgentEnv); the rest are the family's own.
STANDARD_METRICS = ("success", "turns", "invalid_actions", "return")


def _r(x: Any) -> float:
    """Round for stable, readable JSON (differences below 1e-9 are noise)."""
    return round(float(x), 9)


def episode_key(label: str, task_index: int, episode: int) -> str:
    """The identity of one evaluation episode (what resuming skips on)."""
    return f"{label}#{task_index}#{episode}"


def episode_success(t: Trajectory) -> float:
    """An episode's success: a failed episode (an env or policy exception ended
    it) is a failure, whatever its metrics say."""
    return 0.0 if t.failed else float(t.metrics.get("success", 0.0))


def episode_totals(episodes: Iterable[Trajectory]) -> dict[str, float]:
    """The sums behind every episode statistic, training's (``rollout/*``,
    ``val/*``) and evaluation's alike; sums, so processes can add theirs up.

    One rule for failed episodes: each is an episode and a failure (success 0),
    its turns, invalid actions, return and tokens up to the failure count like
    any other's, and ``failed`` reports how many there were. (The trainer still
    leaves them out of its updates: that is training data, not measurement.)

    >>> from agentgym.trajectory import Trajectory
    >>> ok = Trajectory("t0", "g", metrics={"success": 1.0})
    >>> crashed = Trajectory("t1", "g", failed=True, metrics={"success": 1.0})
    >>> episode_means(episode_totals([ok, crashed]))["success"]
    0.5
    """
    totals = dict.fromkeys(("episodes", "failed", "success", "return", "turns", "invalid", "tokens"), 0.0)
    for t in episodes:
        totals["episodes"] += 1
        totals["failed"] += float(t.failed)
        totals["success"] += episode_success(t)
        totals["return"] += t.episode_return
        totals["turns"] += len(t.turns)
        totals["invalid"] += sum(not turn.action_valid for turn in t.turns)
        totals["tokens"] += t.num_tokens
    return totals


def episode_means(totals: dict[str, float]) -> dict[str, float]:
    """Rates from :func:`episode_totals`: ``success``, ``return``, ``turns`` and
    ``tokens`` per episode (failed ones included), ``invalid_frac`` per action,
    ``failed_frac`` per episode (0 where there is nothing to divide)."""
    n, turns = max(totals["episodes"], 1.0), max(totals["turns"], 1.0)
    return {
        "success": totals["success"] / n,
        "return": totals["return"] / n,
        "turns": totals["turns"] / n,
        "tokens": totals["tokens"] / n,
        "invalid_frac": totals["invalid"] / turns,
        "failed_frac": totals["failed"] / n,
    }


def _figures(by_task: Sequence[list[Trajectory]], k_max: int, interval: tuple[float, float]) -> Figures:
    episodes = [t for group in by_task for t in group]
    n = len(episodes)
    totals = episode_totals(episodes)
    means = episode_means(totals)
    turns = [len(t.turns) for t in episodes]
    family: dict[str, list[float]] = defaultdict(list)
    for t in episodes:
        for key, metric in t.metrics.items():
            if key not in STANDARD_METRICS:
                family[key].append(float(metric))
    ns = [len(g) for g in by_task]
    cs = [int(sum(episode_success(t) for t in g)) for g in by_task]
    pass_k, pass_hat = {}, {}
    for k in range(1, k_max + 1):
        value = mean_pass_at_k(ns, cs, k)
        if value is not None:
            pass_k[str(k)] = _r(value)
        # pass^k (tau-bench's reliability: all k tries succeed), for every env: it is as cheap
        # and as well defined as pass@k wherever a task has k episodes.
        value = mean_pass_hat_k(ns, cs, k)
        if value is not None:
            pass_hat[str(k)] = _r(value)
    return Figures(
        episodes=n,
        failed_episodes=int(totals["failed"]),
        success=Interval(mean=_r(means["success"]), low=_r(interval[0]), high=_r(interval[1])),
        mean_reward=_r(means["return"]),
        pass_at_k=pass_k,
        pass_hat_k=pass_hat,
        mean_turns=_r(means["turns"]),
        invalid_action_rate=_r(means["invalid_frac"]),
        tokens_per_episode=_r(means["tokens"]),
        prompt_tokens_per_episode=_r(np.mean([sum(len(u.prompt_ids) for u in t.turns) for t in episodes]) if n else 0.0),
        metrics={k: _r(np.mean(v)) for k, v in sorted(family.items())},
        turns_histogram={str(k): v for k, v in sorted(Counter(turns).items())},
        judge_agreement=_judge_figures(episodes),
    )


def _judge_figures(episodes: Sequence[Trajectory]) -> dict[str, float]:
    """The trainer's judge-vs-verifier agreement (:func:`agentgym.rewards.monitor.judge_agreement`)."""
    a = judge_agreement(episodes)
    if not a:
        return {}
    return {"agreement": _r(a["judge_agreement"]), "episodes": a["judge_episodes"], "false_pass": _r(a["judge_false_pass"])}


def _pooled_judge_figures(figs: Sequence[Figures]) -> dict[str, float]:
    """Agreement over every judged episode of every entry (counts add up)."""
    judged = [f.judge_agreement for f in figs if f.judge_agreement]
    n = sum(j["episodes"] for j in judged)
    if not n:
        return {}
    agree = sum(j["agreement"] * j["episodes"] for j in judged)
    false_pass = sum(j["false_pass"] * j["episodes"] for j in judged)
    return {"agreement": _r(agree / n), "episodes": float(n), "false_pass": _r(false_pass / n)}


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
    c = np.array([sum(episode_success(t) for t in g) for g in groups.values()])
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
            successes=int(sum(episode_success(t) for t in g)),
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
    hat_ks = set.intersection(*(set(f.pass_hat_k) for f in figs))
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
        pass_hat_k={k: macro(lambda f, k=k: f.pass_hat_k[k]) for k in sorted(hat_ks, key=int)},
        mean_turns=macro(lambda f: f.mean_turns),
        invalid_action_rate=macro(lambda f: f.invalid_action_rate),
        tokens_per_episode=macro(lambda f: f.tokens_per_episode),
        prompt_tokens_per_episode=macro(lambda f: f.prompt_tokens_per_episode),
        # A family metric is averaged over the entries that report it.
        metrics={k: _r(np.mean([f.metrics[k] for f in figs if k in f.metrics])) for k in metric_keys},
        turns_histogram={k: histogram[k] for k in sorted(histogram, key=int)},
        judge_agreement=_pooled_judge_figures(figs),
    )
