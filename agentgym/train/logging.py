"""Run logs: one JSON line per iteration, TensorBoard scalars, a learning curve.

Metric keys are namespaced (``rollout/success``, ``credit/adv_std``,
``loss/kl``, ``time/rollout``, ``val/success``); the same keys go to the JSONL
file, to TensorBoard and to the progress bar.

>>> log = MetricsLogger("runs/x", tensorboard=False)    # doctest: +SKIP
>>> log.log(0, {"rollout/success": 0.25})               # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["MetricsLogger", "read_metrics", "plot_learning_curve", "METRICS_FILE", "CURVE_FILE"]

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "learning_curve.png"


class MetricsLogger:
    """Appends ``{"iteration": i, **metrics}`` to ``out_dir/metrics.jsonl`` and
    mirrors scalars to TensorBoard (``out_dir/tb``) when enabled.

    ``keep_lines`` (on resume) keeps the first lines only: those written up to
    the checkpoint; what a killed run logged after it is dropped, so the file
    reads as one uninterrupted run. ``resume_from`` is the first iteration to
    come (TensorBoard purges later events).
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        tensorboard: bool = True,
        keep_lines: int | None = None,
        resume_from: int | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / METRICS_FILE
        if keep_lines is not None and self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)[:keep_lines]
            self.path.write_text("".join(lines), encoding="utf-8")
        elif keep_lines is None and self.path.exists():
            self.path.unlink()  # a fresh run
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # pragma: no cover - tensorboard is in the train extra
                logger.warning("tensorboard is not installed: pip install 'agentgym[train]'; logging JSONL only")
            else:
                self._tb = SummaryWriter(str(self.out_dir / "tb"), purge_step=resume_from)

    def log(self, iteration: int, metrics: dict[str, Any]) -> None:
        """One row; ``iteration`` counts the updates the logged policy has had."""
        row = {"iteration": iteration, **{k: _clean(v) for k, v in metrics.items()}}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self._tb is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)) and math.isfinite(float(value)):
                    self._tb.add_scalar(key, float(value), iteration)
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as strings so a skipped step is still visible."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a metrics file (a torn last line is skipped)."""
    rows = []
    p = Path(path)
    if p.is_dir():
        p = p / METRICS_FILE
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _series(rows: Iterable[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)):
            xs.append(int(r["iteration"]))
            ys.append(float(v))
    return xs, ys


def plot_learning_curve(
    metrics_path: str | Path, png_path: str | Path | None = None, *, title: str = ""
) -> Path | None:
    """Draw success (rollout and validation) and return against iterations as a PNG.

    Returns the path, or None when matplotlib is missing or nothing was logged.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        logger.warning("matplotlib is not installed: no learning curve (pip install 'agentgym[train]')")
        return None
    rows = read_metrics(metrics_path)
    if not rows:
        return None
    png = Path(png_path) if png_path else Path(metrics_path).with_name(CURVE_FILE)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, style in (("rollout/success", "-"), ("val/success", "o-")):
        xs, ys = _series(rows, key)
        if xs:
            ax1.plot(xs, ys, style, label=key)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("success rate")
    ax1.set_ylim(-0.02, 1.02)
    ax1.legend()
    ax1.grid(alpha=0.3)
    for key, style in (("rollout/return", "-"), ("val/return", "o-")):
        xs, ys = _series(rows, key)
        if xs:
            ax2.plot(xs, ys, style, label=key)
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("episode return")
    ax2.legend()
    ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png
