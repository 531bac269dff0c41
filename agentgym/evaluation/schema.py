"""The ``results.json`` schema (versioned; pydantic models).

A results file is everything ``agentgym compare`` and the reports need: the
configuration of the run, per suite entry the aggregate figures *and* the
per-task counts (so a comparison can pair tasks and recompute intervals), and
the overall (macro-averaged) figures. It holds no timestamps or timings, so an
interrupted-then-resumed run writes the same bytes as an uninterrupted one;
those go to ``run.json``.

``schema_version`` changes whenever a field changes meaning or disappears
(adding an optional field does not bump it); :func:`load_results` refuses a
version it does not know, with the fix in the message.

>>> from agentgym.evaluation.schema import SCHEMA_VERSION
>>> SCHEMA_VERSION
1
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentgym.errors import ConfigError

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "Interval",
    "TaskCounts",
    "Figures",
    "EntryResult",
    "EvalResults",
    "load_results",
]

SCHEMA_NAME: Literal["agentgym.eval.results"] = "agentgym.eval.results"
SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Model):
    """A point estimate and its confidence interval."""

    mean: float
    low: float
    high: float


class TaskCounts(_Model):
    """One task's episodes: how many ran, how many succeeded."""

    task_index: int
    task_id: str
    episodes: int
    successes: int
    mean_return: float


class Figures(_Model):
    """The figures reported for a suite entry and, macro-averaged, overall."""

    episodes: int
    failed_episodes: int = Field(description="episodes an env or policy exception ended (counted as failures)")
    success: Interval = Field(description="success rate with a bootstrap interval over tasks")
    mean_reward: float = Field(description="mean episode return")
    pass_at_k: dict[str, float] = Field(description="unbiased pass@k, k = 1..episodes_per_task")
    pass_hat_k: dict[str, float] = Field(
        default_factory=dict, description="unbiased pass^k (all k tries of a task succeed), k = 1..episodes_per_task"
    )
    mean_turns: float
    invalid_action_rate: float = Field(description="invalid actions / actions")
    tokens_per_episode: float = Field(description="mean sampled (response) tokens per episode; 0 for scripted policies")
    prompt_tokens_per_episode: float = Field(description="mean prompt tokens fed per episode")
    metrics: dict[str, float] = Field(description="means of the family's own episode metrics")
    turns_histogram: dict[str, int] = Field(description="episodes by number of turns")
    judge_agreement: dict[str, float] = Field(
        default_factory=dict,
        description="judge vs verifier, over the episodes whose env reports a judge verdict (metric judge_pass) "
        "beside success: agreement (fraction where they agree), episodes (how many), false_pass (fraction the "
        "judge passed and the verifier failed); {} when none; overall: pooled over entries",
    )


class EntryResult(_Model):
    """The results of one suite entry (an env id, split and kwargs)."""

    label: str
    env_id: str
    split: str
    kwargs: dict[str, Any]
    n_tasks: int
    figures: Figures
    tasks: list[TaskCounts]
    tasks_digest: str | None = Field(
        None, description="digest of the entry's task ids and prompts (tells a changed env from an unchanged one)"
    )


class EvalResults(_Model):
    """A whole evaluation: configuration, per-entry results, overall figures."""

    schema_name: Literal["agentgym.eval.results"] = SCHEMA_NAME
    schema_version: int = SCHEMA_VERSION
    agentgym_version: str
    suite: str
    policy: str
    episodes_per_task: int
    seed: int
    max_turns: int | None
    history: str | int
    sampling: dict[str, float | int] | None = Field(
        None, description="the policy's decoding settings (temperature, top_p, ...); {} for scripted policies"
    )
    confidence: float
    n_bootstrap: int
    entries: list[EntryResult]
    overall: Figures

    def entry(self, label: str) -> EntryResult:
        """The entry called ``label`` (raises with the known labels)."""
        for e in self.entries:
            if e.label == label:
                return e
        raise ConfigError(f"no entry {label!r} in these results; entries: {[e.label for e in self.entries]}.")

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, stable float formatting)."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)
        return path


def load_results(path: str | os.PathLike[str]) -> EvalResults:
    """Read a ``results.json`` (or the directory holding one).

    >>> load_results("runs/eval-oracle")  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.exists():
        raise ConfigError(f"{path} does not exist; pass a directory written by `agentgym eval` or its results.json.")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_name") != SCHEMA_NAME:
        raise ConfigError(f"{path} is not an agentgym results file (schema_name={data.get('schema_name')!r}).")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(
            f"{path} has results schema version {version}; this agentgym reads version {SCHEMA_VERSION}. "
            "Re-run the evaluation with this version (its episodes.jsonl is reused: `agentgym eval` resumes)."
        )
    return EvalResults.model_validate(data)
