"""Comparing evaluation results: a side-by-side table and the significance of
every difference (what ``agentgym compare`` prints).

Each result after the first is compared with the first (the baseline), per
suite entry present in both and overall (macro average over the shared
entries). The test for one difference (see :func:`~agentgym.evaluation.stats.compare_rates`):

* **paired** when both runs evaluated the same tasks (same task ids in the
  same order): per-task success rates are differenced; a sign-flip permutation
  test gives the p-value and a bootstrap over tasks the interval;
* **unpaired** otherwise: a permutation test of task-level rates between the
  runs, independent bootstraps for the interval.

Per-entry p-values of one comparison are also Holm-adjusted (several envs are
tested at once); ``significant`` uses the adjusted value at ``alpha``.

A difference is only the policy's if the runs differ in nothing else:
:func:`comparison_warnings` names what else differs from the baseline — the
decoding (greedy vs sampled, temperature, top_p, ...), an env's version, or an
entry's tasks (other task ids, or the same ids with other prompts: the env
changed between the runs). ``agentgym compare`` prints them and writes them
into its report.

>>> from agentgym.evaluation import load_results, compare_results
>>> table = compare_results([load_results("runs/random"), load_results("runs/oracle")])  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from agentgym.errors import ConfigError
from agentgym.evaluation.provenance import describe_sampling
from agentgym.evaluation.schema import EntryResult, EvalResults
from agentgym.evaluation.stats import compare_rates, holm
from agentgym.tasks import derive_seed

__all__ = ["DiffRow", "compare_results", "comparison_warnings", "format_comparison"]


@dataclass(frozen=True)
class DiffRow:
    """One tested difference: ``candidate - baseline`` on ``entry``."""

    baseline: str
    candidate: str
    entry: str
    a: float
    b: float
    diff: float
    low: float
    high: float
    p_value: float
    p_holm: float
    paired: bool
    significant: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _rates(e: EntryResult) -> np.ndarray:
    return np.array([t.successes / max(t.episodes, 1) for t in e.tasks], dtype=float)


def _paired(a: EntryResult, b: EntryResult) -> bool:
    return [t.task_id for t in a.tasks] == [t.task_id for t in b.tasks]


def compare_results(
    results: Sequence[EvalResults],
    names: Sequence[str] | None = None,
    *,
    alpha: float = 0.05,
    n_boot: int = 4000,
    confidence: float = 0.95,
) -> list[DiffRow]:
    """Test every result against the first; rows per shared entry, then overall."""
    if len(results) < 2:
        raise ConfigError("compare needs at least two results (a baseline and one to compare with it).")
    names = list(names) if names is not None else [r.policy for r in results]
    if len(set(names)) != len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    base = results[0]
    rows: list[DiffRow] = []
    for name, other in zip(names[1:], results[1:], strict=True):
        shared = [e.label for e in base.entries if any(o.label == e.label for o in other.entries)]
        if not shared:
            raise ConfigError(f"{names[0]} and {name} share no suite entry; compare results of the same suite.")
        pairs = [(base.entry(lab), other.entry(lab)) for lab in shared]
        per_entry = []
        for lab, (a, b) in zip(shared, pairs, strict=True):
            seed = derive_seed("compare", names[0], name, lab)
            d = compare_rates([_rates(a)], [_rates(b)], paired=_paired(a, b), n_boot=n_boot, confidence=confidence, seed=seed)
            per_entry.append((lab, d))
        adjusted = holm([d.p_value for _, d in per_entry])
        for (lab, d), p_adj in zip(per_entry, adjusted, strict=True):
            rows.append(DiffRow(names[0], name, lab, d.a, d.b, d.diff, d.low, d.high, d.p_value, p_adj, d.paired, p_adj < alpha))
        paired = all(_paired(a, b) for a, b in pairs)
        d = compare_rates(
            [_rates(a) for a, _ in pairs], [_rates(b) for _, b in pairs], paired=paired, n_boot=n_boot,
            confidence=confidence, seed=derive_seed("compare", names[0], name, "overall"),
        )
        rows.append(DiffRow(names[0], name, "overall", d.a, d.b, d.diff, d.low, d.high, d.p_value, d.p_value, paired, d.p_value < alpha))
    return rows


def _env_versions(r: EvalResults) -> dict[str, set[str]]:
    """Env name (id without ``-vN``) -> the versions this run evaluated."""
    out: dict[str, set[str]] = {}
    for e in r.entries:
        m = re.fullmatch(r"(.+)-(v\d+)", e.env_id)
        name, version = (m.group(1), m.group(2)) if m else (e.env_id, "")
        out.setdefault(name.removeprefix("agentgym/"), set()).add(version)
    return out


def comparison_warnings(results: Sequence[EvalResults], names: Sequence[str] | None = None) -> list[str]:
    """What, besides the policy, differs between the baseline (the first result)
    and each other one: decoding settings, env versions, task sets. Empty when
    the runs are comparable.

    >>> comparison_warnings([load_results("runs/greedy"), load_results("runs/sampled")])  # doctest: +SKIP
    ['sampled: other decoding than greedy: sampled at temperature 1 vs greedy (temperature 0)']
    """
    names = list(names) if names is not None else [r.policy for r in results]
    base, base_name = results[0], names[0]
    out: list[str] = []
    for name, r in zip(names[1:], results[1:], strict=True):
        if r.sampling != base.sampling:
            this, that = describe_sampling(r.sampling), describe_sampling(base.sampling)
            detail = f"{this} vs {that}" if this != that else f"{r.sampling} vs {base.sampling}"
            out.append(f"{name}: other decoding than {base_name}: {detail}")
        base_versions, versions = _env_versions(base), _env_versions(r)
        for env in sorted(set(base_versions) & set(versions)):
            if versions[env] != base_versions[env]:
                out.append(f"{name}: evaluated {env} version {', '.join(sorted(versions[env]))}, "
                           f"{base_name} version {', '.join(sorted(base_versions[env]))}: the envs differ")
        for a in base.entries:
            b = next((e for e in r.entries if e.label == a.label), None)
            if b is None:
                continue
            if not _paired(a, b):
                out.append(f"{name}: other tasks than {base_name} on {a.label} ({len(b.tasks)} vs {len(a.tasks)} "
                           "tasks, or other task ids): tested unpaired")
            elif a.tasks_digest and b.tasks_digest and a.tasks_digest != b.tasks_digest:
                out.append(f"{name}: same task ids as {base_name} on {a.label} but other prompts: the env changed "
                           "between the two runs")
    return out


def side_by_side(results: Sequence[EvalResults], names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Success [CI] of every result, one row per entry (union of entries)."""
    labels: list[str] = []
    for r in results:
        labels += [e.label for e in r.entries if e.label not in labels]
    header = ["entry", *names]
    rows = []
    for lab in labels:
        row = [lab]
        for r in results:
            e = next((e for e in r.entries if e.label == lab), None)
            f = e.figures if e else None
            row.append(f"{100 * f.success.mean:.1f}% [{100 * f.success.low:.1f}, {100 * f.success.high:.1f}]" if f else "–")
        rows.append(row)
    rows.append(["overall (macro)"] + [f"{100 * r.overall.success.mean:.1f}%" for r in results])
    return header, rows


def format_comparison(
    results: Sequence[EvalResults], names: Sequence[str], rows: Sequence[DiffRow], warnings: Sequence[str] = ()
) -> str:
    """Markdown: the warnings (:func:`comparison_warnings`), if any, the
    side-by-side table, then the tested differences."""
    from agentgym.evaluation.report import _md_table

    header, table = side_by_side(results, names)
    diff_header = ["baseline", "vs", "entry", "Δ success [95% CI]", "p", "p (Holm)", "test", "significant"]
    diff_rows = [
        [r.baseline, r.candidate, r.entry, f"{100 * r.diff:+.1f} pts [{100 * r.low:+.1f}, {100 * r.high:+.1f}]",
         f"{r.p_value:.4f}", f"{r.p_holm:.4f}", "paired" if r.paired else "unpaired", "yes" if r.significant else "no"]
        for r in rows
    ]
    caveats = ["## Warnings", "", *[f"- {w}" for w in warnings], ""] if warnings else []
    return "\n".join([*caveats, "## Success rate", "", _md_table(header, table), "", "## Differences", "",
                      _md_table(diff_header, diff_rows), ""])
