"""Run logs: one JSON line per iteration, TensorBoard scalars, optional
Weights & Biases and MLflow runs, a learning curve.

Metric keys are namespaced (``rollout/success``, ``credit/adv_std``,
``loss/kl``, ``time/rollout``, ``val/success``); the same keys go to the JSONL
file, to TensorBoard, to each tracker of ``report_to`` and to the progress bar.

Trackers (``TrainConfig.report_to``; each package is imported only when named):

* ``"wandb"`` — a Weights & Biases run named after the output folder, in the
  project ``$WANDB_PROJECT`` (default ``agentgym``), with the resolved config;
  ``WANDB_MODE=offline`` writes it under ``out_dir/wandb`` for a later
  ``wandb sync``. Metrics are plotted against ``iteration`` (wandb's own step
  is not used, so a resumed run may log an iteration again).
* ``"mlflow"`` — an MLflow run in the experiment ``$MLFLOW_EXPERIMENT_NAME``
  (default ``agentgym``) at ``$MLFLOW_TRACKING_URI`` (default: a file store in
  ``out_dir/mlruns``, which MLflow 3 accepts with ``MLFLOW_ALLOW_FILE_STORE=true``,
  set for it; view it with ``mlflow ui --backend-store-uri OUT_DIR/mlruns``), with
  the config as parameters and each metric at step ``iteration``.

A resumed run (``--resume true``) continues the same tracker runs: their ids
are kept in ``out_dir/trackers.json``. A tracker that fails while logging (a
network error) is reported once and then left out; it never stops training.

>>> log = MetricsLogger("runs/x", tensorboard=False, report_to=["mlflow"])    # doctest: +SKIP
>>> log.log(0, {"rollout/success": 0.25})                                    # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from agentgym.errors import ConfigError

__all__ = [
    "MetricsLogger", "read_metrics", "plot_learning_curve", "check_trackers", "METRICS_FILE", "CURVE_FILE",
    "TRACKERS_FILE",
]

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "learning_curve.png"
TRACKERS_FILE = "trackers.json"

# tracker name -> (the module to import, how to install it)
_TRACKER_PACKAGES = {
    "wandb": ("wandb", "pip install wandb"),
    "mlflow": ("mlflow", "pip install mlflow-skinny (or mlflow)"),
}


def check_trackers(report_to: Sequence[str]) -> None:
    """Raise :class:`ConfigError` if a tracker of ``report_to`` is unknown or its
    package is not installed; imports nothing (call it before building a model).

    >>> check_trackers([])
    >>> check_trackers(["tensorboard"])
    Traceback (most recent call last):
    ...
    agentgym.errors.ConfigError: report_to: 'tensorboard' is not a tracker; choose from ['wandb', 'mlflow'] (TensorBoard has its own switch, tensorboard = true).
    """
    for name in report_to:
        if name not in _TRACKER_PACKAGES:
            raise ConfigError(
                f"report_to: {name!r} is not a tracker; choose from {list(_TRACKER_PACKAGES)} "
                "(TensorBoard has its own switch, tensorboard = true)."
            )
        module, how = _TRACKER_PACKAGES[name]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"report_to includes {name!r} but the {module} package is not installed: {how}, "
                "or pip install 'agentgym[trackers]'; or remove it from report_to."
            )


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """The finite scalar metrics (what trackers can plot)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(float(v))}


class _Wandb:
    """A Weights & Biases run (``import wandb`` happens here, only when enabled)."""

    name = "wandb"

    def __init__(self, out_dir: Path, run_name: str, config: dict[str, Any] | None, run_id: str | None) -> None:
        import wandb

        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "agentgym"),
            name=run_name,
            dir=str(out_dir),
            config=config or {},
            id=run_id,
            resume="allow" if run_id else None,
            reinit="create_new",
        )
        # Plot everything against our iteration, not wandb's own (monotonic) step:
        # a resumed run may log an iteration again.
        self.run.define_metric("iteration")
        self.run.define_metric("*", step_metric="iteration")
        self.run_id = self.run.id

    def log(self, iteration: int, metrics: dict[str, float]) -> None:
        self.run.log({"iteration": iteration, **metrics})

    def close(self) -> None:
        self.run.finish()


class _MLflow:
    """An MLflow run through ``MlflowClient`` (no global active run; imported only when enabled)."""

    name = "mlflow"

    def __init__(self, out_dir: Path, run_name: str, config: dict[str, Any] | None, run_id: str | None) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            # The default: a file store beside the run, no server needed. MLflow 3
            # keeps file stores in maintenance and wants this opt-in; set
            # MLFLOW_TRACKING_URI (sqlite:///mlflow.db, http://host:5000) for another.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            uri = (out_dir / "mlruns").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        if run_id is None:
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "agentgym")
            experiment = self.client.get_experiment_by_name(name)
            experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
            run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
            # MLflow caps a parameter value's length: a long value (a task list) is cut.
            params = [Param(k, (json.dumps(v) if isinstance(v, (dict, list)) else str(v))[:500])
                      for k, v in (config or {}).items()]
            if params:
                self.client.log_batch(run_id, params=params)
        self.run_id = run_id

    def log(self, iteration: int, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, iteration) for k, v in metrics.items()])

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


_TRACKER_CLASSES = {"wandb": _Wandb, "mlflow": _MLflow}


class MetricsLogger:
    """Appends ``{"iteration": i, **metrics}`` to ``out_dir/metrics.jsonl`` and
    mirrors scalars to TensorBoard (``out_dir/tb``) and to the trackers of
    ``report_to`` (``"wandb"``, ``"mlflow"``; see the module docstring).

    ``keep_lines`` (on resume) keeps the first lines only: those written up to
    the checkpoint; what a killed run logged after it is dropped, so the file
    reads as one uninterrupted run. ``resume_from`` is the first iteration to
    come (TensorBoard purges later events; the trackers' runs are continued).
    ``config`` (the resolved config) is recorded by the trackers; ``run_name``
    (default: the output folder's name) names their runs.
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        tensorboard: bool = True,
        report_to: Sequence[str] = (),
        config: dict[str, Any] | None = None,
        run_name: str | None = None,
        keep_lines: int | None = None,
        resume_from: int | None = None,
    ) -> None:
        check_trackers(report_to)  # before anything is written
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
        self._trackers: list[Any] = []
        ids_path = self.out_dir / TRACKERS_FILE
        resuming = keep_lines is not None or resume_from is not None
        ids = json.loads(ids_path.read_text(encoding="utf-8")) if resuming and ids_path.exists() else {}
        for name in dict.fromkeys(report_to):  # each once, in order
            tracker = _TRACKER_CLASSES[name](self.out_dir, run_name or self.out_dir.resolve().name,
                                             _jsonable_config(config), ids.get(name))
            self._trackers.append(tracker)
            ids[name] = tracker.run_id
        if self._trackers:
            ids_path.write_text(json.dumps(ids, indent=1) + "\n", encoding="utf-8")

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
        numbers = _numbers(metrics) if self._trackers else {}
        for tracker in list(self._trackers):
            try:
                tracker.log(iteration, numbers)
            except Exception as e:  # a tracker's outage must not stop training
                logger.warning("%s failed to log (%s: %s); it is left out for the rest of the run",
                               tracker.name, type(e).__name__, e)
                self._trackers.remove(tracker)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        for tracker in self._trackers:
            try:
                tracker.close()
            except Exception as e:
                logger.warning("closing %s failed: %s: %s", tracker.name, type(e).__name__, e)
        self._trackers = []


def _jsonable_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """The config as JSON-able values (tuples as lists, unknown objects as text)."""
    if config is None:
        return None
    return json.loads(json.dumps(config, default=str))


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
