"""Stratified GRPO: Stratified Advantage Normalization (Zhu et al., 2025,
"Stratified GRPO: Handling Structural Heterogeneity in Reinforcement Learning
of LLM Search Agents").

Agent trajectories differ in *structure* (how many searches, asks or
executions they made), and structure shifts the reward distribution: comparing
a trajectory that asked three questions with one that asked none through one
group baseline is the paper's "cross-stratum bias". SAN partitions the
trajectories of a group into **strata** by a structural key and normalises
within each stratum; the paper then blends linearly with the usual (global,
here: group) estimate for stability with few samples::

    A_SAN(i)   = (R_i - mean_{k(i)} R) / (std_{k(i)} R + 1e-6)   over the stratum k(i) of i in its group
    A_GN(i)    = (R_i - mean_group R) / (std_group R + 1e-6)      (GRPO's)
    A(i)       = alpha * A_SAN(i) + (1 - alpha) * A_GN(i)           on every turn of i

(``norm="mean"`` drops the std division in both.) A stratum of one trajectory
has nothing to compare with: ``A_SAN = 0`` there (and so are strata whose returns
are all equal), leaving ``(1 - alpha) * A_GN``. ``alpha = 1`` is pure SAN,
``alpha = 0`` is GRPO.

**The key.** ``key="tool_calls"`` (the default) is the number of calls of each
tool name over the episode — ``(("ask", 2), ("search", 1))`` — parsed from the
actions with the one tool-call parser (an action with no parsable call counts as
one ``"<unparsed>"``); ``key="turns"`` is the number of turns; ``key="metric:NAME"``
is the episode metric ``NAME`` (e.g. ``metric:questions_asked``, which AskToAct
reports); ``key="package.module:function"`` imports a function
``Trajectory -> hashable``; the Python API also takes the function itself.

**Inside GiGPO** (:func:`stratified_gigpo`, ``estimator="stratified_gigpo"``): GiGPO's
episode level becomes the blend above; its step level (anchor-state groups,
``omega``, ``gamma``, ``rewards``) is unchanged::

    A(turn t of i) = alpha * A_SAN(i) + (1 - alpha) * A_GN(i) + omega * A_step(t)

Deviation: the paper stratifies by the number of search calls, over the
trajectories of one prompt; we stratify within each group (one task's G
episodes) as well, by a key that generalises "number of searches" to every
tool. The paper's choice of ``alpha`` is a tuned hyper-parameter; ours defaults
to 0.5 (an even blend), which the config exposes.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from agentgym.credit._common import Norm, check_norm, groups, normalize
from agentgym.credit.gigpo import gigpo
from agentgym.credit.grpo import episode_advantages
from agentgym.errors import ActionError, ConfigError
from agentgym.trajectory import Trajectory

__all__ = [
    "STRATA_KEYS",
    "resolve_key",
    "strata",
    "strata_stats",
    "stratified",
    "stratified_gigpo",
    "tool_call_counts",
]

StrataKey = str | Callable[[Trajectory], Hashable]
STRATA_KEYS: tuple[str, ...] = ("tool_calls", "turns", "metric:NAME", "package.module:function")


def tool_call_counts(traj: Trajectory) -> tuple[tuple[str, int], ...]:
    """How many calls of each tool name the episode's actions made, sorted by name.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> t = Trajectory("t", "g", turns=[Turn('ask("colour?")', "o", 0.0, "s"),
    ...                                 Turn('ask("size?") pick("mug")', "o", 0.0, "s"), Turn("hm", "o", 0.0, "s")])
    >>> tool_call_counts(t)
    (('<unparsed>', 1), ('ask', 2), ('pick', 1))
    """
    from agentgym.parsing import parse_tool_calls

    counts: Counter[str] = Counter()
    for turn in traj.turns:
        try:
            counts.update(call.name for call in parse_tool_calls(turn.action))
        except ActionError:
            counts["<unparsed>"] += 1
    return tuple(sorted(counts.items()))


def resolve_key(key: StrataKey) -> Callable[[Trajectory], Hashable]:
    """The key function a key spec names (see the module docstring).

    >>> from agentgym.trajectory import Trajectory
    >>> resolve_key("metric:questions_asked")(Trajectory("t", "g", metrics={"questions_asked": 2.0}))
    2.0
    """
    if callable(key):
        return key
    if key == "tool_calls":
        return tool_call_counts
    if key == "turns":
        return lambda traj: len(traj.turns)
    if key.startswith("metric:"):
        name = key[len("metric:") :]
        if not name:
            raise ConfigError(
                "strata key 'metric:' names no metric; write e.g. 'metric:questions_asked'."
            )
        return lambda traj: traj.metrics.get(name)
    if ":" in key:
        module, _, attr = key.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(
                f"strata key {key!r}: cannot import {attr!r} from {module!r} ({e})."
            ) from e
        if not callable(fn):
            raise ConfigError(
                f"strata key {key!r} names {type(fn).__name__}, not a function Trajectory -> key."
            )
        return fn  # type: ignore[no-any-return]
    raise ConfigError(
        f"strata key {key!r} is not known; use one of {list(STRATA_KEYS)} "
        "(e.g. 'metric:questions_asked')."
    )


def strata(trajectories: Sequence[Trajectory], key: StrataKey = "tool_calls") -> list[list[int]]:
    """Indices of the trajectories of each stratum: within each group, trajectories
    with equal keys; groups and strata in first-seen order.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> ts = [Trajectory("t", g, turns=[Turn("a", "o", 0.0, "s")] * n) for g, n in (("a", 1), ("a", 2), ("a", 1), ("b", 1))]
    >>> strata(ts, "turns")
    [[0, 2], [1], [3]]
    """
    fn = resolve_key(key)
    out: list[list[int]] = []
    for idx in groups(trajectories).values():
        by_key: dict[Hashable, list[int]] = {}
        for i in idx:
            by_key.setdefault(fn(trajectories[i]), []).append(i)
        out.extend(by_key.values())
    return out


def stratified(
    trajectories: Sequence[Trajectory],
    *,
    alpha: float = 0.5,
    key: StrataKey = "tool_calls",
    norm: Norm = "mean_std",
) -> list[list[float]]:
    """Per-turn Stratified GRPO advantages ``alpha * A_SAN + (1 - alpha) * A_GN``.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> ts = [Trajectory("t", "g", turns=[Turn("a", "o", r, "s")] * n) for r, n in ((1.0, 1), (0.0, 1), (1.0, 2), (0.0, 2))]
    >>> stratified(ts, alpha=1.0, key="turns", norm="mean")
    [[0.5], [-0.5], [1.0, 1.0], [-1.0, -1.0]]
    """
    episode = _episode(trajectories, alpha, key, norm)
    return [[a] * len(traj.turns) for a, traj in zip(episode, trajectories, strict=True)]


def _episode(
    trajectories: Sequence[Trajectory], alpha: float, key: StrataKey, norm: Norm
) -> list[float]:
    """``alpha * A_SAN + (1 - alpha) * A_GN`` per trajectory."""
    check_norm(norm)
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(
            f"alpha={alpha} must lie in [0, 1] (1: stratified only, 0: GRPO's group normalisation)."
        )
    san = [0.0] * len(trajectories)
    for members in strata(trajectories, key):
        returns = [trajectories[i].episode_return for i in members]
        for i, a in zip(members, normalize(returns, norm), strict=True):
            san[i] = a
    gn = episode_advantages(trajectories, norm)
    return [alpha * s + (1.0 - alpha) * g for s, g in zip(san, gn, strict=True)]


def stratified_gigpo(
    trajectories: Sequence[Trajectory],
    *,
    alpha: float = 0.5,
    key: StrataKey = "tool_calls",
    norm: Norm = "mean_std",
    **gigpo_params: Any,
) -> list[list[float]]:
    """GiGPO whose episode level is Stratified GRPO's blend (its step level unchanged):
    GiGPO's advantages with its GRPO episode term swapped for :func:`stratified`'s.
    ``gigpo_params``: ``gamma``, ``omega``, ``rewards``, ``similarity``, ``igpo_norm``.

    >>> from agentgym.trajectory import Trajectory, Turn
    >>> a = Trajectory("t", "g", turns=[Turn("x", "o", 0.0, "s0"), Turn("y", "o", 1.0, "s1")])
    >>> b = Trajectory("t", "g", turns=[Turn("z", "o", 0.0, "s0")])
    >>> stratified_gigpo([a, b], alpha=0.0, norm="mean", gamma=0.5) == gigpo([a, b], norm="mean", gamma=0.5)
    True
    """
    rows = gigpo(trajectories, norm=norm, **gigpo_params)
    grpo_episode = episode_advantages(trajectories, norm)
    episode = _episode(trajectories, alpha, key, norm)
    return [
        [e + (a - g) for a in row] for e, g, row in zip(episode, grpo_episode, rows, strict=True)
    ]


def strata_stats(
    trajectories: Sequence[Trajectory], key: StrataKey = "tool_calls", prefix: str = "credit/"
) -> dict[str, float]:
    """Number of strata, their mean size and the fraction of trajectories alone in theirs.

    >>> from agentgym.trajectory import Trajectory
    >>> strata_stats([Trajectory("t", "g"), Trajectory("t", "g")], "turns")["credit/strata"]
    1.0
    """
    sizes = [len(m) for m in strata(trajectories, key)]
    n = sum(sizes)
    return {
        f"{prefix}strata": float(len(sizes)),
        f"{prefix}stratum_size": n / len(sizes) if sizes else 0.0,
        f"{prefix}strata_singleton_frac": sum(s == 1 for s in sizes) / n if n else 0.0,
    }
