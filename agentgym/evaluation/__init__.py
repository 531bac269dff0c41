"""The evaluation harness: a policy on a suite → figures with confidence
intervals, ``results.json`` (versioned schema), ``report.md``/``report.html``;
resumable; and comparisons between results with significance tests.

>>> import agentgym
>>> res = agentgym.evaluate("oracle", "guess-number-v0", max_tasks=4, episodes_per_task=2)  # doctest: +SKIP
>>> res.overall.success.mean, res.overall.pass_at_k["2"]  # doctest: +SKIP
(1.0, 1.0)

Modules: :mod:`.runner` (``evaluate``), :mod:`.summary` (episodes → figures),
:mod:`.stats` (bootstrap, pass@k, tests), :mod:`.schema` (``results.json``),
:mod:`.report` (Markdown, HTML, plots), :mod:`.compare` (``agentgym compare``).
"""

from __future__ import annotations

from agentgym.evaluation.compare import DiffRow, compare_results, format_comparison
from agentgym.evaluation.runner import evaluate
from agentgym.evaluation.schema import (
    SCHEMA_VERSION,
    EntryResult,
    EvalResults,
    Figures,
    load_results,
)
from agentgym.evaluation.stats import bootstrap_rate, compare_rates, pass_at_k

__all__ = [
    "evaluate",
    "EvalResults",
    "EntryResult",
    "Figures",
    "SCHEMA_VERSION",
    "load_results",
    "compare_results",
    "format_comparison",
    "DiffRow",
    "pass_at_k",
    "bootstrap_rate",
    "compare_rates",
]
