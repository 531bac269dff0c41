"""Report details a reader sees: counts with the right plural, and a turns plot whose
legend covers no bar (issue 13, item 12)."""

from __future__ import annotations

import pytest

from agentgym.evaluation import evaluate
from agentgym.evaluation import report as report_mod
from agentgym.suites import SuiteEntry

ONE = [SuiteEntry("GuessNumber-v0", "val", 3, {"difficulty": "easy"})]
TWO = ONE + [SuiteEntry("GuessNumber-v0", "val", 3, {"difficulty": "hard"})]


def test_report_header_says_1_entry_not_1_entries():
    md = report_mod.markdown_report(evaluate("oracle", ONE))
    assert "(1 entry, 3 episodes, 1 per task)" in md and "1 entries" not in md
    assert "(2 entries, 6 episodes," in report_mod.markdown_report(evaluate("oracle", TWO))


def _flat_histograms(res):
    """Every entry with episodes of every length 1..6, equally many: bars of one height
    everywhere, so no corner of the axes is free for a legend drawn inside them."""
    flat = {str(t): 4 for t in range(1, 7)}
    entries = [
        e.model_copy(update={"figures": e.figures.model_copy(update={"turns_histogram": flat})})
        for e in res.entries
    ]
    return res.model_copy(update={"entries": entries})


@pytest.mark.parametrize("entries", [ONE, TWO])
@pytest.mark.parametrize("flat", [False, True])
def test_turns_plot_legend_covers_no_bar(monkeypatch, entries, flat):
    res = evaluate("random", entries, episodes_per_task=2)
    if flat:
        res = _flat_histograms(res)
    figures = []
    real_save = report_mod._save

    def keep(fig, path):
        figures.append(fig)
        return real_save(fig, path)

    monkeypatch.setattr(report_mod, "_save", keep)
    report_mod.turns_plot(res)
    (fig,) = figures
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax.patches if p.get_height() > 0]
    assert bars
    assert not any(legend.overlaps(b) for b in bars)
    # and the legend is inside the figure (not cut off by the saved PNG)
    assert fig.bbox.contains(legend.x1 - 1, legend.y0 + 1)
