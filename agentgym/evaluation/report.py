"""Human-readable reports of an evaluation: ``report.md`` and a self-contained
``report.html`` (plots embedded as PNG data URIs), plus the plots as files.

Everything here is rebuilt from :class:`~agentgym.evaluation.schema.EvalResults`
alone, so a report can be regenerated from a ``results.json``::

    write_reports(load_results("runs/oracle"), "runs/oracle")
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path

from agentgym.evaluation.schema import EvalResults, Figures

__all__ = ["markdown_report", "html_report", "write_reports", "success_plot", "turns_plot", "figures_table"]


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 entry``, ``2 entries``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(f: Figures) -> str:
    return f"{_pct(f.success.mean)} [{_pct(f.success.low)}, {_pct(f.success.high)}]"


def figures_table(results: EvalResults) -> tuple[list[str], list[list[str]]]:
    """The main table: one row per entry plus the overall row."""
    ks = list(results.overall.pass_at_k) or ["1"]
    # pass^1 is pass@1: the pass^k columns start at k = 2.
    hat_ks = [k for k in results.overall.pass_hat_k if k != "1"]
    header = ["entry", "episodes", f"success [{int(results.confidence * 100)}% CI]", "mean reward"]
    header += [f"pass@{k}" for k in ks]
    header += [f"pass^{k}" for k in hat_ks]
    header += ["turns", "invalid actions", "tokens/episode", "failed"]
    # Only where an env reports a judge verdict beside its verifier (metric judge_pass).
    judged = bool(results.overall.judge_agreement)
    header += ["judge agreement (n)"] if judged else []
    rows = []
    for name, f in [(e.label, e.figures) for e in results.entries] + [("**overall** (macro)", results.overall)]:
        row = [name, str(f.episodes), _ci(f), f"{f.mean_reward:.3f}"]
        row += [_pct(f.pass_at_k[k]) if k in f.pass_at_k else "–" for k in ks]
        row += [_pct(f.pass_hat_k[k]) if k in f.pass_hat_k else "–" for k in hat_ks]
        row += [f"{f.mean_turns:.2f}", _pct(f.invalid_action_rate), f"{f.tokens_per_episode:.1f}", str(f.failed_episodes)]
        if judged:
            j = f.judge_agreement
            row.append(f"{_pct(j['agreement'])} ({int(j['episodes'])})" if j else "–")
        rows.append(row)
    return header, rows


def _metrics_table(results: EvalResults) -> tuple[list[str], list[list[str]]] | None:
    keys = sorted(set().union(*(e.figures.metrics for e in results.entries)))
    if not keys:
        return None
    rows = [[e.label] + [f"{e.figures.metrics[k]:.3f}" if k in e.figures.metrics else "–" for k in keys] for e in results.entries]
    return ["entry", *keys], rows


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _short(label: str) -> str:
    return label.removeprefix("agentgym/")


def success_plot(results: Sequence[EvalResults], path: str | os.PathLike[str] | None = None) -> bytes:
    """Bar chart of success per entry with CI error bars (one bar per result
    when several are given, as ``agentgym compare`` does); returns the PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [e.label for e in results[0].entries] + ["overall"]
    width = 0.8 / len(results)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(labels) * max(1, len(results)) ** 0.5 + 2), 3.6))
    x = np.arange(len(labels))
    for i, r in enumerate(results):
        by_label = {e.label: e.figures for e in r.entries} | {"overall": r.overall}
        figs = [by_label.get(lab) for lab in labels]
        means = [f.success.mean if f else np.nan for f in figs]
        err = [[f.success.mean - f.success.low if f else 0 for f in figs], [f.success.high - f.success.mean if f else 0 for f in figs]]
        ax.bar(x + (i - (len(results) - 1) / 2) * width, means, width, yerr=err, capsize=3, label=r.policy)
    ax.set_xticks(x, [_short(lab) for lab in labels], rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate")
    ax.set_title(f"success per env ({int(results[0].confidence * 100)}% bootstrap CI)")
    if len(results) > 1:
        ax.legend(fontsize=8)
    return _save(fig, path)


def turns_plot(results: EvalResults, path: str | os.PathLike[str] | None = None) -> bytes:
    """Histogram of episode lengths (turns), stacked by entry; returns the PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    top = max([int(k) for e in results.entries for k in e.figures.turns_histogram] or [1])
    xs = np.arange(0, top + 1)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    bottom = np.zeros(len(xs))
    for e in results.entries:
        counts = np.array([e.figures.turns_histogram.get(str(x), 0) for x in xs], dtype=float)
        label = _short(e.label)
        ax.bar(xs, counts, bottom=bottom, label=label if len(label) <= 60 else label[:57] + "...", width=0.9)
        bottom += counts
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.4, top + 0.6)
    ax.set_xlabel("turns per episode")
    ax.set_ylabel("episodes")
    ax.set_title("episode length")
    # The legend goes right of the axes, where no bar can be (inside, it covered the tallest
    # one), and the figure widens by its width.
    legend = ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.canvas.draw()
    fig.set_size_inches(6 + legend.get_window_extent().width / fig.dpi + 0.2, 3.4)
    return _save(fig, path)


def _save(fig, path: str | os.PathLike[str] | None) -> bytes:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    # A fixed "Software" key and no date keep the PNG bytes reproducible.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": "agentgym"})
    plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return data


def _header_lines(results: EvalResults) -> list[str]:
    return [
        f"- policy: `{results.policy}`",
        f"- suite: `{results.suite}` ({_count(len(results.entries), 'entry', 'entries')}, "
        f"{_count(results.overall.episodes, 'episode')}, {results.episodes_per_task} per task)",
        f"- seed: {results.seed}; max turns: {results.max_turns or 'env default'}; history: {results.history}",
        f"- intervals: {int(results.confidence * 100)}% percentile bootstrap over tasks ({results.n_bootstrap} "
        "replicates); overall = macro average over entries",
    ]


def markdown_report(results: EvalResults, plots_dir: str = "plots") -> str:
    """The Markdown report (links the plot files under ``plots_dir``)."""
    header, rows = figures_table(results)
    parts = [f"# Evaluation: {results.policy} on {results.suite}", "", *_header_lines(results), "", _md_table(header, rows)]
    metrics = _metrics_table(results)
    if metrics:
        parts += ["", "## Family metrics (means per episode)", "", _md_table(*metrics)]
    parts += ["", f"![success per env]({plots_dir}/success.png)", "", f"![turns]({plots_dir}/turns.png)", ""]
    return "\n".join(parts)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c.replace('**', ''))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}tr:last-child{font-weight:bold}img{max-width:100%}"
)


def html_report(results: EvalResults, success_png: bytes, turns_png: bytes) -> str:
    """A self-contained HTML page: configuration, tables, embedded plots."""

    def img(data: bytes, alt: str) -> str:
        return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'

    title = html.escape(f"Evaluation: {results.policy} on {results.suite}")
    items = "".join(f"<li>{html.escape(line[2:].replace('`', ''))}</li>" for line in _header_lines(results))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{_CSS}</style></head><body>",
             f"<h1>{title}</h1><ul>{items}</ul>", _html_table(*figures_table(results))]
    metrics = _metrics_table(results)
    if metrics:
        parts += ["<h2>Family metrics (means per episode)</h2>", _html_table(*metrics)]
    parts += ["<h2>Plots</h2>", img(success_png, "success per env"), img(turns_png, "turns histogram"), "</body></html>"]
    return "\n".join(parts)


def write_reports(results: EvalResults, out: str | os.PathLike[str]) -> None:
    """Write ``report.md``, ``report.html`` and ``plots/*.png`` into ``out``."""
    out = Path(out)
    success = success_plot([results], out / "plots" / "success.png")
    turns = turns_plot(results, out / "plots" / "turns.png")
    (out / "report.md").write_text(markdown_report(results), encoding="utf-8")
    (out / "report.html").write_text(html_report(results, success, turns), encoding="utf-8")
