"""``evaluate``: a policy on a suite, resumable, with results and reports.

The plan of an evaluation is fixed by its configuration: for every suite entry,
tasks ``0..n-1`` of its split, ``episodes_per_task`` episodes each, run in
*chunks* of a few tasks. Each chunk is one call to
:func:`agentgym.rollout.collect` (one batched policy call per turn across the
chunk's live episodes), seeded from ``(seed, entry, first task)`` only, so a
chunk's episodes are the same whether it runs first, last, in parallel with
others, or after a restart. Finished chunks are appended to
``episodes.jsonl``; a rerun with the same ``out`` skips every episode already
there and reruns only what is missing, then aggregates *all* episodes, sorted
by key: an interrupted-then-resumed run writes the same ``results.json`` as an
uninterrupted one.

What the episodes depend on (the settings above, each entry's env version,
kwargs, task ids and a digest of its tasks and of its source, the policy's spec
and decoding, the agentgym version; see :mod:`agentgym.evaluation.provenance`)
is recorded in ``config.json`` before anything runs; a rerun into the same
``out`` that differs in any of it is refused with the differences named
(``overwrite=True`` discards the recorded episodes instead), so stale episodes
are never mixed with new ones.

Decoding: a policy given as a spec is evaluated greedily (temperature 0) with
one episode per task, and at its own sampling temperature with several (pass@k);
``policy_kwargs={"temperature": ...}`` overrides both. ``results.json`` records
the decoding used (``sampling``).

Output directory::

    episodes.jsonl   every episode (Trajectory JSONL, meta["eval"] = its key)
    config.json      what the episodes depend on (checked on resume)
    results.json     the figures (schema: agentgym.evaluation.schema)
    report.md        tables; report.html: tables and plots (self-contained)
    plots/           success.png, turns.png
    run.json         timings and counts of this invocation
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentgym.errors import ConfigError
from agentgym.evaluation.provenance import (
    config_differences,
    describe_sampling,
    env_source_digest,
    eval_temperature,
    sampling_settings,
    task_record,
)
from agentgym.evaluation.schema import EvalResults
from agentgym.evaluation.summary import entry_result, episode_key, overall_figures
from agentgym.policy import Policy, load_policy
from agentgym.rollout import History
from agentgym.suites import Suite, SuiteEntry, get_suite
from agentgym.tasks import derive_seed
from agentgym.trajectory import Trajectory, append_jsonl, iter_jsonl

__all__ = ["evaluate", "EvalConfig", "plan_chunks", "Chunk"]

logger = logging.getLogger(__name__)

EPISODES_FILE = "episodes.jsonl"
CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
# Everything evaluate() writes into `out` (what overwrite=True removes).
_OUTPUTS = (EPISODES_FILE, CONFIG_FILE, RESULTS_FILE, "report.md", "report.html", "run.json")


@dataclass(frozen=True)
class EvalConfig:
    """Everything an evaluation's episodes depend on (saved as ``config.json``;
    a resumed run must match it). ``entries`` also hold each entry's task ids
    and digests (:func:`~agentgym.evaluation.provenance.task_record`)."""

    suite: str
    entries: tuple[dict[str, Any], ...]
    policy: str
    episodes_per_task: int
    seed: int
    max_turns: int | None
    history: History
    chunk_tasks: int
    remote: str | None
    policy_kwargs: dict[str, Any]
    sampling: dict[str, Any]
    agentgym_version: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=list) + "\n"


@dataclass(frozen=True)
class Chunk:
    """Tasks ``start..stop-1`` of one suite entry, run together."""

    entry: SuiteEntry
    start: int
    stop: int
    seed: int

    def keys(self, k: int) -> list[str]:
        return [episode_key(self.entry.label, i, j) for i in range(self.start, self.stop) for j in range(k)]


def plan_chunks(entries: Sequence[SuiteEntry], chunk_tasks: int, seed: int) -> list[Chunk]:
    """Split every entry's tasks into fixed chunks (fixed by the configuration
    alone, which is what makes resumed runs identical)."""
    chunks = []
    for e in entries:
        for start in range(0, e.n_tasks, chunk_tasks):
            chunk_seed = derive_seed("eval-chunk", seed, e.label, start) % (2**31)
            chunks.append(Chunk(e, start, min(start + chunk_tasks, e.n_tasks), chunk_seed))
    return chunks


def _resolve_entries(suite: str | Suite | Sequence[SuiteEntry], max_tasks: int | None) -> tuple[str, list[SuiteEntry]]:
    if isinstance(suite, str):
        suite = get_suite(suite)
    if isinstance(suite, Suite):
        name, entries = suite.name, list(suite.entries)
    else:
        name, entries = "custom", list(suite)
    if not entries:
        raise ConfigError("the suite has no entries; pass a suite name (see `agentgym list`) or SuiteEntry objects.")
    labels = [e.label for e in entries]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"suite entries must be distinct; got duplicate labels in {labels}.")
    if max_tasks is not None:
        if max_tasks < 1:
            raise ConfigError(f"max_tasks must be >= 1, got {max_tasks}.")
        entries = [SuiteEntry(e.env_id, e.split, min(e.n_tasks, max_tasks), dict(e.kwargs)) for e in entries]
    return name, entries


def _env_factory(entry: SuiteEntry, remote: str | None, max_turns: int | None) -> Callable[[], Any]:
    kwargs = dict(entry.kwargs, split=entry.split)
    if max_turns is not None:
        kwargs["max_turns"] = max_turns
    if remote is not None:
        from agentgym.remote import RemoteEnv

        return lambda: RemoteEnv(remote, entry.env_id, **kwargs)
    from agentgym.registry import make

    return lambda: make(entry.env_id, **kwargs)


class _RayPools:
    """One :class:`agentgym.distributed.RayEnvPool` per suite entry, built on first
    use with the envs a local run would build (same id, split, kwargs, turn limit)."""

    def __init__(self, cfg: EvalConfig, address: str | None) -> None:
        if cfg.remote is not None:
            raise ConfigError("pass either remote (an agentgym serve URL) or ray, not both.")
        self.cfg, self.address = cfg, address or None
        self.pools: dict[str, Any] = {}
        self.lock = threading.Lock()

    def factory(self, entry: SuiteEntry) -> Callable[[], Any]:
        from agentgym.distributed import RayEnvPool

        with self.lock:
            if entry.label not in self.pools:
                kwargs = dict(entry.kwargs)
                if self.cfg.max_turns is not None:
                    kwargs["max_turns"] = self.cfg.max_turns
                per_chunk = self.cfg.chunk_tasks * self.cfg.episodes_per_task
                self.pools[entry.label] = RayEnvPool(entry.env_id, workers=1, envs_per_worker=per_chunk,
                                                     env_kwargs=kwargs, split=entry.split, address=self.address)
            return self.pools[entry.label].lease

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a half-written last line (a writer killed mid-line): appending after
    it would glue the next record to it and lose both."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        logger.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run", path, len(data) - keep)
        with path.open("r+b") as f:
            f.truncate(keep)


class _Store:
    """The episodes of a run: in memory, and appended to JSONL when ``out`` is set."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.episodes: dict[str, Trajectory] = {}
        self._lock = threading.Lock()
        if path is not None and path.exists():
            _drop_torn_tail(path)
            for t in iter_jsonl(path):
                key = t.meta.get("eval", {}).get("key")
                if key is not None:
                    self.episodes.setdefault(key, t)  # first record of a key wins

    def add(self, trajectories: Sequence[Trajectory]) -> int:
        with self._lock:
            new = [t for t in trajectories if t.meta["eval"]["key"] not in self.episodes]
            if self.path is not None and new:
                append_jsonl(self.path, new)
            for t in new:
                self.episodes[t.meta["eval"]["key"]] = t
            return len(new)


def _run_chunk(chunk: Chunk, policy: Policy, cfg: EvalConfig, make_env: Callable[[], Any]) -> list[Trajectory]:
    from agentgym.rollout import collect

    # Task indices, not Task objects: each env maps an index to its task
    # (AgentEnv.task_at), and a remote env's answers stay on its server.
    trajectories = collect(
        make_env,
        policy,
        tasks=range(chunk.start, chunk.stop),
        group_size=cfg.episodes_per_task,
        max_turns=cfg.max_turns,
        history=cfg.history,
        split=chunk.entry.split,
        seed=chunk.seed,
    )
    label = chunk.entry.label
    for t in trajectories:
        # collect records the real env id and each episode's task index and place in its group;
        # the suite entry's label names the source and the group.
        i, j = int(t.meta["task_index"]), int(t.meta["group_index"])
        t.group_id = f"{label}#{i}@{cfg.seed}"
        t.meta = dict(t.meta, source=label, eval={"key": episode_key(label, i, j), "entry": label,
                                                  "task_index": i, "episode": j})
    expected = (chunk.stop - chunk.start) * cfg.episodes_per_task
    if len(trajectories) != expected:
        raise RuntimeError(f"collect returned {len(trajectories)} episodes for a chunk of {expected}")
    return trajectories


def _entry_record(entry: SuiteEntry, remote: str | None) -> dict[str, Any]:
    """An entry as ``config.json`` records it: what it is and what its tasks and env are now."""
    record = {"label": entry.label, "env_id": entry.env_id, "split": entry.split, "n_tasks": entry.n_tasks,
              "kwargs": dict(entry.kwargs)}
    record.update(task_record(_env_factory(entry, remote, None), entry.n_tasks))
    record["env_source_digest"] = None if remote is not None else env_source_digest(entry.env_id)
    return record


def _discard(out: Path) -> None:
    """Remove what an earlier evaluation wrote into ``out`` (and nothing else)."""
    episodes = out / EPISODES_FILE
    if episodes.exists():
        n = sum(1 for line in episodes.read_bytes().splitlines() if line.strip())
        logger.warning("overwrite: discarding the %d episodes recorded in %s", n, out)
    for name in _OUTPUTS:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "plots", ignore_errors=True)


def _check_config(out: Path, cfg: EvalConfig, resume: bool, overwrite: bool = False) -> None:
    path = out / CONFIG_FILE
    episodes = out / EPISODES_FILE
    if overwrite:
        _discard(out)
    elif episodes.exists() and episodes.stat().st_size > 0:
        if not resume:
            raise ConfigError(f"{out} already holds an evaluation; pass another --out, resume it (drop "
                              "--no-resume), or discard it with --overwrite.")
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            recorded = {}
        differences = config_differences(recorded, json.loads(cfg.to_json()))
        if differences:
            shown = differences[:12] + ([f"... and {len(differences) - 12} more"] if len(differences) > 12 else [])
            older = "" if "agentgym_version" in recorded else (
                " (it was written by an older agentgym, which recorded less of what its episodes depend on)")
            raise ConfigError(
                f"{out} holds episodes of another evaluation{older}; resuming would mix them with new ones. "
                f"What differs (recorded -> now):\n  " + "\n  ".join(shown) + "\n"
                "Discard them with --overwrite (evaluate(..., overwrite=True)), write to another --out, or "
                "resume with the recorded settings."
            )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(cfg.to_json(), encoding="utf-8")


def evaluate(
    policy: str | Policy,
    suite: str | Suite | Sequence[SuiteEntry] = "core-v0",
    *,
    episodes_per_task: int = 1,
    out: str | os.PathLike[str] | None = None,
    max_tasks: int | None = None,
    seed: int = 0,
    max_turns: int | None = None,
    history: History = "full",
    workers: int = 1,
    chunk_tasks: int = 8,
    remote: str | None = None,
    resume: bool = True,
    overwrite: bool = False,
    policy_kwargs: Mapping[str, Any] | None = None,
    progress: bool = False,
    confidence: float = 0.95,
    n_bootstrap: int = 2000,
    report: bool = True,
    policy_label: str | None = None,
    ray: str | None = None,
) -> EvalResults:
    """Evaluate ``policy`` on ``suite``; return (and, with ``out``, write) the results.

    Args:
        policy: A policy, or a spec for :func:`agentgym.load_policy`
            (``"oracle"``, ``"random"``, ``"hf:PATH"``, ``"openai:URL#MODEL"``,
            a checkpoint dir, a training run's dir). A spec is loaded greedy
            (temperature 0) when ``episodes_per_task == 1`` and at its own
            temperature otherwise; a policy object is used as it is.
        suite: A suite name (``"core-v0"``), a :class:`Suite`, or suite entries.
        episodes_per_task: Episodes per task (``K``; pass@k is reported for k ≤ K).
        out: Directory for episodes and reports; an existing one is resumed.
        max_tasks: Cap on the tasks of every entry (the first ``max_tasks``).
        seed: Seed of the episodes and of the bootstrap.
        max_turns: Override every env's turn limit.
        history: Conversation history given to the policy (see ``collect``).
        workers: Chunks run concurrently (threads: worth it for HTTP policies
            or remote envs; a local model is already batched within a chunk).
        chunk_tasks: Tasks per chunk (part of the configuration: it fixes seeds).
        remote: Base URL of an ``agentgym serve`` server to run the envs on.
        resume: Continue an existing ``out`` whose recorded configuration
            matches (a mismatch is refused with the differences named); with
            ``False``, refuse to touch an existing ``out``.
        overwrite: Discard what an existing ``out`` holds and start afresh.
        policy_kwargs: Keyword arguments for :func:`agentgym.load_policy` when
            ``policy`` is a spec (a ``temperature`` here overrides the default).
        progress: Show a progress bar (the CLI does).
        confidence, n_bootstrap: Of the bootstrap intervals.
        report: Write ``report.md``/``report.html`` and plots.
        policy_label: Name of the policy in the results (default: the spec).
        ray: Run the envs in Ray actors (:mod:`agentgym.distributed`; needs
            ``agentgym[distributed]``): ``""`` joins ``RAY_ADDRESS`` or starts a
            local cluster, else the address of the cluster to join (``"auto"``,
            ``"ray://host:10001"``). Each suite entry gets a pool; each chunk in
            flight leases its envs from it (one actor per chunk, more actors
            as ``workers`` chunks run at once), the policy staying in this
            process. The episodes, and ``results.json``, are the local run's.

    >>> res = evaluate("oracle", "guess-number-v0", max_tasks=5, out="runs/oracle")  # doctest: +SKIP
    >>> res.overall.success.mean  # doctest: +SKIP
    1.0
    """
    if episodes_per_task < 1:
        raise ConfigError(f"episodes_per_task must be >= 1, got {episodes_per_task}.")
    if chunk_tasks < 1 or workers < 1:
        raise ConfigError(f"chunk_tasks and workers must be >= 1, got {chunk_tasks} and {workers}.")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}.")
    import agentgym

    suite_name, entries = _resolve_entries(suite, max_tasks)
    label = policy_label or (policy if isinstance(policy, str) else type(policy).__name__)
    policy_kwargs = dict(policy_kwargs or {})
    if policy_kwargs and not isinstance(policy, str):
        raise ConfigError("policy_kwargs apply to a policy spec (a string); configure a policy object yourself.")
    policy, sampling = _prepare_policy(policy, policy_kwargs, episodes_per_task)
    out_dir = Path(out) if out is not None else None
    cfg = EvalConfig(
        suite=suite_name,
        entries=tuple(_entry_record(e, remote) for e in entries),
        policy=label,
        episodes_per_task=episodes_per_task,
        seed=seed,
        max_turns=max_turns,
        history=history,
        chunk_tasks=chunk_tasks,
        remote=remote,
        policy_kwargs=policy_kwargs,
        sampling=sampling,
        agentgym_version=agentgym.__version__,
    )
    if out_dir is not None:
        _check_config(out_dir, cfg, resume, overwrite)
    store = _Store(out_dir / EPISODES_FILE if out_dir is not None else None)
    chunks = plan_chunks(entries, chunk_tasks, seed)
    todo = [c for c in chunks if any(k not in store.episodes for k in c.keys(episodes_per_task))]
    total = sum(len(c.keys(episodes_per_task)) for c in chunks)
    done = sum(1 for c in chunks for k in c.keys(episodes_per_task) if k in store.episodes)
    if done:
        logger.info("resuming: %d of %d episodes already recorded", done, total)
    started = time.perf_counter()
    if todo:
        _run_chunks(todo, policy, cfg, store, workers=workers, progress=progress, total=total, done=done, ray=ray)
    results = _aggregate(entries, store, cfg, confidence=confidence, n_bootstrap=n_bootstrap)
    if out_dir is not None:
        results.save(out_dir / RESULTS_FILE)
        if report:
            from agentgym.evaluation.report import write_reports

            write_reports(results, out_dir)
        run = {"episodes_run": total - done, "episodes_resumed": done, "seconds": round(time.perf_counter() - started, 3),
               "workers": workers}
        (out_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    return results


# Scripted policies are cheap to build: one per chunk, seeded by the chunk, so a
# stateful one (random) plays the same whatever ran before it or beside it.
_PER_CHUNK_KINDS = ("oracle", "random", "scripted")


class _SeededView:
    """A shared policy with its own random generator (``reseed(seed)``: HFPolicy,
    RandomPolicy), as one chunk sees it.

    Each ``act`` call reseeds the policy from (chunk seed, call number) and runs
    under a lock shared by every chunk, so the tokens a chunk samples depend on
    that chunk alone: not on the chunks run before it (resume), nor beside it
    (``workers > 1``). The global torch RNG is never touched. Policies without
    ``reseed`` (HTTP policies, whose sampling happens on the server) are called
    concurrently without a view.
    """

    def __init__(self, policy: Policy, seed: int, lock: threading.Lock) -> None:
        self._policy, self._seed, self._lock, self._calls = policy, seed, lock, 0

    def act(self, conversations: Any, tools: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._policy.reseed(derive_seed("eval-act", self._seed, self._calls) % (2**31))  # type: ignore[attr-defined]
            self._calls += 1
            return self._policy.act(conversations, tools, **kwargs)

    def clear_prefix_cache(self) -> None:
        release = getattr(self._policy, "clear_prefix_cache", None)
        if callable(release):
            with self._lock:
                release()

    def __getattr__(self, name: str) -> Any:  # needs_env, temperature, ... of the policy
        return getattr(self._policy, name)


@dataclass(frozen=True)
class _Spec:
    """A policy spec with its keyword arguments and the temperature evaluation sets."""

    spec: str
    kwargs: dict[str, Any]
    temperature: float | None

    def load(self, **extra: Any) -> Policy:
        policy = load_policy(self.spec, **{**extra, **self.kwargs})
        # Set on the built policy, so any backend with a `temperature` attribute (hf, tiny,
        # openai, a plugin's) decodes greedily; kinds without one (scripted) are untouched.
        if self.temperature is not None and isinstance(getattr(policy, "temperature", None), (int, float)):
            policy.temperature = self.temperature  # type: ignore[attr-defined]
        return policy

    @property
    def per_chunk(self) -> bool:
        return self.spec.partition(":")[0] in _PER_CHUNK_KINDS and not os.path.isdir(self.spec)


def _prepare_policy(
    policy: str | Policy, policy_kwargs: dict[str, Any], episodes_per_task: int
) -> tuple[Policy | _Spec, dict[str, Any]]:
    """The policy to run (loaded once, or a spec loaded per chunk) and its decoding settings."""
    run: Policy | _Spec
    if isinstance(policy, str):
        spec = _Spec(policy, policy_kwargs, eval_temperature(episodes_per_task, policy_kwargs))
        loaded = spec.load(seed=0) if spec.per_chunk else spec.load()
        run = spec if spec.per_chunk else loaded
    else:
        run = loaded = policy
    sampling = sampling_settings(loaded)
    logger.info("policy %s: %s", policy if isinstance(policy, str) else type(policy).__name__,
                describe_sampling(sampling))
    if episodes_per_task > 1 and sampling.get("temperature") == 0:
        logger.warning(
            "%d episodes per task with greedy decoding: a deterministic policy plays each task the same way every "
            "time, so pass@k equals pass@1; sample instead, e.g. --policy-kwargs '{\"temperature\": 1.0}'.",
            episodes_per_task,
        )
    return run, sampling


def _policy_for(chunk: Chunk, policy: Policy | _Spec, shared: Policy | None, lock: threading.Lock) -> Policy:
    if shared is None:
        assert isinstance(policy, _Spec)
        return policy.load(seed=chunk.seed)
    if callable(getattr(shared, "reseed", None)):
        return _SeededView(shared, chunk.seed, lock)  # type: ignore[return-value]
    return shared


def _run_chunks(
    todo: list[Chunk], policy: Policy | _Spec, cfg: EvalConfig, store: _Store, *, workers: int, progress: bool,
    total: int, done: int, ray: str | None = None
) -> None:
    ray_pools = _RayPools(cfg, ray) if ray is not None else None
    shared = None if isinstance(policy, _Spec) else policy
    if shared is not None and workers > 1 and not callable(getattr(shared, "reseed", None)):
        logger.info("workers=%d share one policy without reseed(): episodes are reproducible only if it is "
                    "deterministic", workers)
    lock = threading.Lock()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=done, unit="ep", desc=f"eval {cfg.policy} on {cfg.suite}", dynamic_ncols=True)

    def run(chunk: Chunk) -> None:
        chunk_policy = _policy_for(chunk, policy, shared, lock)
        factory = (ray_pools.factory(chunk.entry) if ray_pools is not None
                   else _env_factory(chunk.entry, cfg.remote, cfg.max_turns))
        trajectories = _run_chunk(chunk, chunk_policy, cfg, factory)
        store.add(trajectories)
        if bar is not None:
            bar.update(len(trajectories))

    try:
        if workers == 1:
            for chunk in todo:
                run(chunk)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agentgym-eval") as pool:
                for future in [pool.submit(run, c) for c in todo]:
                    future.result()
    finally:
        if bar is not None:
            bar.close()
        if ray_pools is not None:
            ray_pools.close()


def _aggregate(
    entries: Sequence[SuiteEntry], store: _Store, cfg: EvalConfig, *, confidence: float, n_bootstrap: int
) -> EvalResults:
    import agentgym

    digests = {r["label"]: r.get("tasks_digest") for r in cfg.entries}
    per_entry = []
    for e in entries:
        keys = {episode_key(e.label, i, j) for i in range(e.n_tasks) for j in range(cfg.episodes_per_task)}
        episodes = [store.episodes[k] for k in sorted(keys) if k in store.episodes]
        result = entry_result(e, episodes, k_max=cfg.episodes_per_task, seed=cfg.seed, confidence=confidence,
                              n_boot=n_bootstrap)
        per_entry.append(result.model_copy(update={"tasks_digest": digests.get(e.label)}))
    return EvalResults(
        agentgym_version=agentgym.__version__,
        suite=cfg.suite,
        policy=cfg.policy,
        episodes_per_task=cfg.episodes_per_task,
        seed=cfg.seed,
        max_turns=cfg.max_turns,
        history=cfg.history,
        sampling=cfg.sampling,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        entries=per_entry,
        overall=overall_figures(per_entry, seed=cfg.seed, confidence=confidence, n_boot=n_bootstrap),
    )
