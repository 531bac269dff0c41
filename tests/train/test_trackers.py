"""Optional trackers (issue 13, item 13): ``report_to = ["wandb", "mlflow"]`` beside
metrics.jsonl and TensorBoard, each imported only when named, tested offline
(wandb ``mode=offline``, an MLflow file store in a temporary folder)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from agentgym.errors import ConfigError
from agentgym.train.config import TrainConfig
from agentgym.train.logging import TRACKERS_FILE, MetricsLogger, check_trackers, read_metrics

needs_wandb = pytest.mark.skipif(
    importlib.util.find_spec("wandb") is None, reason="wandb is not installed (pip install 'agentgym[trackers]')"
)
needs_mlflow = pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None,
    reason="mlflow is not installed (pip install 'agentgym[trackers]')",
)
CONFIG = {"env": "GuessNumber-v0", "lr": 1e-05, "adam_betas": (0.9, 0.999), "env_kwargs": {"difficulty": "easy"}}


def test_report_to_is_validated_with_a_fix() -> None:
    assert TrainConfig().report_to == ()
    assert TrainConfig.from_dict({"report_to": "wandb,mlflow"}).report_to == ("wandb", "mlflow")
    assert TrainConfig.from_dict({"report_to": ["mlflow"]}).report_to == ("mlflow",)
    with pytest.raises(ConfigError, match="Did you mean 'wandb'"):
        TrainConfig(report_to=("wandbb",))
    with pytest.raises(ConfigError, match="tensorboard"):
        check_trackers(["tensorboard"])


def test_no_tracker_is_imported_unless_named(monkeypatch, tmp_path) -> None:
    for name in ("wandb", "mlflow", "mlflow.tracking", "mlflow.entities"):
        monkeypatch.setitem(sys.modules, name, None)  # importing them now raises ImportError
    log = MetricsLogger(tmp_path, tensorboard=False)
    log.log(0, {"rollout/success": 0.5})
    log.close()
    assert read_metrics(tmp_path) == [{"iteration": 0, "rollout/success": 0.5}]
    assert not (tmp_path / TRACKERS_FILE).exists()


def test_a_missing_tracker_package_is_a_config_error(monkeypatch, tmp_path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError, match="pip install"):
        MetricsLogger(tmp_path, tensorboard=False, report_to=["mlflow"])
    assert not (tmp_path / "metrics.jsonl").exists()  # refused before anything was written


@pytest.mark.slow  # importing mlflow takes seconds
@needs_mlflow
def test_mlflow_file_store_gets_the_metrics_and_resumes_the_same_run(monkeypatch, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "agentgym-test")
    log = MetricsLogger(tmp_path, tensorboard=False, report_to=["mlflow"], config=CONFIG)
    for i in range(3):
        log.log(i, {"rollout/success": i / 4, "loss/kl": float("nan"), "note": "text is not plotted"})
    log.close()
    run_id = json.loads((tmp_path / TRACKERS_FILE).read_text())["mlflow"]
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").resolve().as_uri())
    run = client.get_run(run_id)
    assert run.info.run_name == tmp_path.name and run.info.status == "FINISHED"
    assert run.data.params["lr"] == "1e-05" and run.data.params["adam_betas"] == "[0.9, 0.999]"
    assert json.loads(run.data.params["env_kwargs"]) == {"difficulty": "easy"}
    history = client.get_metric_history(run_id, "rollout/success")
    assert [(m.step, m.value) for m in history] == [(0, 0.0), (1, 0.25), (2, 0.5)]
    assert "loss/kl" not in run.data.metrics and "note" not in run.data.metrics  # NaN and text stay in the JSONL
    assert [r["iteration"] for r in read_metrics(tmp_path)] == [0, 1, 2]
    # A resumed run continues the same MLflow run.
    log = MetricsLogger(tmp_path, tensorboard=False, report_to=["mlflow"], config=CONFIG, keep_lines=2, resume_from=2)
    log.log(2, {"rollout/success": 0.75})
    log.close()
    assert json.loads((tmp_path / TRACKERS_FILE).read_text())["mlflow"] == run_id
    steps = [(m.step, m.value) for m in client.get_metric_history(run_id, "rollout/success")]
    assert steps[-1] == (2, 0.75) and len(client.search_runs([run.info.experiment_id])) == 1


@pytest.mark.slow  # wandb starts its service process
@needs_wandb
def test_wandb_offline_run_gets_the_config_and_metrics_and_resumes_by_id(monkeypatch, tmp_path) -> None:
    for key, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_CONSOLE": "off",
                       "WANDB_CONFIG_DIR": str(tmp_path / "cfg"), "WANDB_CACHE_DIR": str(tmp_path / "cache"),
                       "WANDB_DATA_DIR": str(tmp_path / "data"), "WANDB_PROJECT": "agentgym-test"}.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "run"
    log = MetricsLogger(out, tensorboard=False, report_to=["wandb"], config=CONFIG)
    run = log._trackers[0].run
    assert run.offline and run.project == "agentgym-test" and run.name == "run"
    assert run.config["lr"] == 1e-05 and run.config["env_kwargs"] == {"difficulty": "easy"}
    for i in range(3):
        log.log(i, {"rollout/success": i / 4, "loss/kl": float("nan")})
    assert run.summary["rollout/success"] == 0.5 and run.summary["iteration"] == 2
    log.close()
    run_id = json.loads((out / TRACKERS_FILE).read_text())["wandb"]
    assert run_id == run.id
    offline_dirs = sorted((out / "wandb").glob(f"offline-run-*-{run_id}"))
    assert offline_dirs and list(offline_dirs[0].glob(f"run-{run_id}.wandb"))  # what `wandb sync` uploads
    # A resumed run continues the run with that id; an iteration may be logged again (plotted by iteration).
    log = MetricsLogger(out, tensorboard=False, report_to=["wandb"], config=CONFIG, keep_lines=2, resume_from=2)
    assert log._trackers[0].run.id == run_id
    log.log(2, {"rollout/success": 0.75})
    assert log._trackers[0].run.summary["rollout/success"] == 0.75
    log.close()


def test_a_failing_tracker_is_dropped_not_fatal(tmp_path, caplog) -> None:
    class Broken:
        name, run_id = "broken", "x"

        def log(self, iteration, metrics):
            raise ConnectionError("tracking server unreachable")

        def close(self):
            pass

    log = MetricsLogger(tmp_path, tensorboard=False)
    log._trackers.append(Broken())
    log.log(0, {"rollout/success": 0.5})
    log.log(1, {"rollout/success": 0.75})
    log.close()
    assert [r["rollout/success"] for r in read_metrics(tmp_path)] == [0.5, 0.75]
    assert sum("broken failed to log" in r.message for r in caplog.records) == 1


@pytest.mark.slow
@needs_mlflow
def test_training_with_report_to_mlflow_logs_every_iteration(monkeypatch, tiny_config) -> None:
    from mlflow.tracking import MlflowClient

    from agentgym.train import train

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = train(tiny_config.replace(report_to=("mlflow",)))
    out = Path(tiny_config.out_dir)
    run_id = json.loads((out / TRACKERS_FILE).read_text())["mlflow"]
    client = MlflowClient(tracking_uri=(out / "mlruns").resolve().as_uri())
    history = client.get_metric_history(run_id, "rollout/success")
    assert [m.step for m in history] == [0, 1] == [int(m["iteration"]) for m in result.metrics]
    assert client.get_run(run_id).data.params["env"] == "GuessNumber-v0"
