"""Tasks of SQL-v0: a generated database, a question, and the gold query.

A candidate task is (domain, database seed, template); the template draws the
question from the database's rows. A candidate is kept only if

* the gold query runs on the task's database and on its ``n_variants``
  fuzzed variants (SQLite, the reference backend);
* its result on the task's database is not degenerate: 1 to 40 rows, not all
  NULL, not a single zero;
* no near miss (a simpler query: a filter dropped, ties ignored, the
  look-alike column) returns the same result on *every* database — such a
  question would not test what it claims to.

Difficulty picks the templates and how much schema the prompt shows:
``easy`` (filters, aggregates, one month; the full schema is given),
``medium`` (group-by/having, top-k with ties, 2–3 table joins, per-month
counts; table names only), ``hard`` (3–4 table joins, NOT IN, EXISTS,
correlated subqueries, set operations, window functions; no schema — explore).

>>> gen = SQLTasks(seed=0)
>>> t = gen.task("val", 0, "easy")
>>> t.meta["domain"] in ("retail", "university", "hospital", "library"), t.answer.startswith("<tool_call>")
(True, True)
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.envs.sql.backends import QueryError, SQLiteBackend
from agentgym.envs.sql.database import DbRef, generate_rows
from agentgym.envs.sql.domains import DOMAINS, REAL_DOMAINS
from agentgym.envs.sql.reward import normalize_rows, results_match
from agentgym.envs.sql.templates import BY_DIFFICULTY, TEMPLATES, Question
from agentgym.errors import ConfigError
from agentgym.tasks import SPLITS, Split, Task, TaskGenerator, derive_seed, split_of
from agentgym.tools import ToolCall

__all__ = ["SQLTasks", "SCHEMA_MODES", "DB_POOL"]

logger = logging.getLogger(__name__)

DB_POOL = 8
"""Databases per domain and generator seed (tasks share them, so caches stay small)."""
SCHEMA_MODES = {"easy": "full", "medium": "tables", "hard": "none"}
MAX_GOLD_ROWS = 40
CHECK_TIME_LIMIT_S = 0.5
"""A gold query slower than this on SQLite is no task (agents get 2 s per query)."""
DEDUPE_BELOW = 2000
"""val/test tasks below this index are distinct (see :meth:`SQLTasks.task`)."""
_CHECK_ROWS = 5000


@lru_cache(maxsize=256)
def _rows(domain: str, seed: int) -> dict[str, list[tuple[Any, ...]]]:
    return generate_rows(DbRef(domain, seed))


_CHECKERS: dict[str, tuple[SQLiteBackend, threading.Lock]] = {}
_CHECKERS_LOCK = threading.Lock()


def shared_checker(cache_dir: Path | str | None) -> tuple[SQLiteBackend, threading.Lock]:
    """The process's one checking back-end for ``cache_dir`` and the lock its users hold.

    Every generator in a process checks candidate queries through it, so the
    read-only connections to the ~260 database files are opened once per
    process, not once per env: before, each env instance's generator kept up to
    256 of them, and collecting 4,000 demonstrations (256 envs at once) ran out
    of file descriptors. One lock serialises the checks (the back-end's query
    deadline is per back-end); a check is ~1 ms and tasks are memoized."""
    key = str(Path(cache_dir).resolve()) if cache_dir is not None else ""
    with _CHECKERS_LOCK:
        entry = _CHECKERS.get(key)
        if entry is None:
            entry = _CHECKERS[key] = (
                SQLiteBackend(cache_dir=cache_dir, time_limit_s=CHECK_TIME_LIMIT_S, max_connections=512),
                threading.Lock())
        return entry


_SEQUENCES: dict[tuple[int, int, str], tuple[dict[tuple[str, str], list[Task]], threading.Lock]] = {}


def shared_sequences(seed: int, n_variants: int, data: str) -> tuple[dict[tuple[str, str], list[Task]], threading.Lock]:
    """The process's deduplicated val/test task sequences for one generator
    setting, and their lock. Task ``i`` of ``val`` needs tasks ``0..i`` drawn
    first (so it differs from them): with a sequence per env instance, an
    evaluation that builds an env per task redrew them every time (200 val
    tasks: ~20,000 draws, most of ``agentgym eval``'s time on SQL-v0)."""
    with _CHECKERS_LOCK:
        entry = _SEQUENCES.get((seed, n_variants, data))
        if entry is None:
            entry = _SEQUENCES[(seed, n_variants, data)] = ({}, threading.Lock())
        return entry


class SQLTasks(TaskGenerator):
    """Deterministic in (seed, split, index, difficulty).

    Args:
        seed: Generator seed (also picks the databases).
        n_variants: Fuzzed variants each answer is checked on (K).
        cache_dir: Where SQLite files are built (see :mod:`~agentgym.envs.sql.database`).
        data: ``"generated"`` (the four generated domains) or a real data set
            (``"chinook"``; fetched by ``scripts/setup.sh``, see :mod:`~agentgym.envs.sql.realdata`).
    """

    family = "sql"
    difficulties = ("easy", "medium", "hard")

    def __init__(self, seed: int = 0, n_variants: int = 3, cache_dir: Path | str | None = None,
                 data: str = "generated") -> None:
        super().__init__(seed)
        if data != "generated" and data not in REAL_DOMAINS:
            raise ConfigError(f"data must be 'generated' or one of {sorted(REAL_DOMAINS)}, got {data!r}.")
        self.data = data
        if n_variants < 0:
            raise ConfigError(f"n_variants must be >= 0, got {n_variants}.")
        self.n_variants = int(n_variants)
        # Shared by every generator of the process (see shared_checker).
        self.checker, self._check_lock = shared_checker(cache_dir)
        self._memo: dict[tuple[str, int, str], Task] = {}
        # Shared by the generators of the process with the same settings (see shared_sequences).
        self._sequences, self._seq_lock = shared_sequences(self.seed, self.n_variants, self.data)

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        """The ``index``-th task of ``split``. Memoized (a task costs ~20 ms of
        queries and every reset asks for it again). The first
        :data:`DEDUPE_BELOW` tasks of ``val`` and ``test`` are drawn in order,
        each unlike those before it, so a suite never holds a task twice;
        ``train`` tasks are independent draws (random access, repeats allowed)."""
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; choose one of {list(SPLITS)}.")
        difficulty = self.check_difficulty(difficulty or self.difficulties[0])
        key = (split, index, difficulty)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if split != "train" and 0 <= index < DEDUPE_BELOW:
            with self._seq_lock:
                seq = self._sequences.setdefault((split, difficulty), [])
                if len(seq) <= index:
                    used = {self.content_key(t) for t in seq}
                    while len(seq) <= index:
                        seq.append(self._draw(split, len(seq), difficulty, used))
                        used.add(self.content_key(seq[-1]))
                return seq[index]
        task = self._memo[key] = self._draw(split, index, difficulty, set())
        if len(self._memo) > 8192:
            self._memo.pop(next(iter(self._memo)))
        return task

    def _draw(self, split: Split, index: int, difficulty: str, avoid: set[str]) -> Task:
        # The base class's loop (same seeds), plus: skip content already in ``avoid``.
        task_id = f"{self.family}/{split}/{difficulty}/{index}"
        for attempt in range(self.max_attempts):
            rng = np.random.default_rng(derive_seed(self.family, self.seed, split, difficulty, index, attempt))
            task = self.generate(rng, difficulty, task_id)
            key = self.content_key(task)
            if split_of(key) == split and key not in avoid:
                return task
        raise ConfigError(f"{self.family}: no new {split} task found in {self.max_attempts} attempts.")

    def _run(self, db: DbRef, query: str) -> list[tuple[Any, ...]] | None:
        try:
            with self._check_lock:
                return self.checker.run(db, query, _CHECK_ROWS).rows
        except QueryError as e:
            logger.debug("candidate query failed on %s: %s (%s)", db, e, query)
            return None

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        for _ in range(500):
            if self.data == "generated":
                domain = DOMAINS[sorted(DOMAINS)[int(rng.integers(len(DOMAINS)))]]
                db_seed = self.seed * 1000 + int(rng.integers(DB_POOL))
            else:  # one real database (seed 0) and its fuzzed variants
                domain, db_seed = REAL_DOMAINS[self.data], 0
            names = BY_DIFFICULTY[difficulty]
            kind = names[int(rng.integers(len(names)))]
            main = DbRef(domain.name, db_seed, 0)
            q = TEMPLATES[kind](domain, rng, _rows(domain.name, db_seed), lambda sql, db=main: self._run(db, sql) or [])
            if q is not None and self._acceptable(q, main):
                return self._task(q, main, difficulty, task_id)
        raise ConfigError(f"sql: no acceptable {difficulty} question in 500 candidates (a template is broken).")

    def _acceptable(self, q: Question, main: DbRef) -> bool:
        dbs = [main] + [DbRef(main.domain, main.seed, v) for v in range(1, self.n_variants + 1)]
        golds = []
        for db in dbs:  # stop at the first failure: a slow gold query times out on every db
            gold = self._run(db, q.gold)
            if gold is None or (db is main and not _informative(gold)):
                return False
            golds.append(gold)
        for near in q.near_misses:
            outs = [self._run(db, near) for db in dbs]
            if all(o is not None and results_match(o, g, ordered=q.ordered) for o, g in zip(outs, golds, strict=True)):
                return False
        return True

    def _task(self, q: Question, main: DbRef, difficulty: str, task_id: str) -> Task:
        prompt = (f"Question: {q.text}\n\nWrite one SQL query that answers it for this database and call "
                  "submit with it. Return exactly the columns asked for.")
        return Task(
            id=task_id,
            prompt=prompt,
            answer=ToolCall("submit", {"query": q.gold}).render(),
            meta={
                "domain": main.domain, "db_seed": main.seed, "n_variants": self.n_variants,
                "question": q.text, "gold": q.gold, "ordered": q.ordered, "kind": q.kind,
                "tables": list(q.tables), "near_misses": list(q.near_misses),
                "schema": SCHEMA_MODES[difficulty], "difficulty": difficulty,
            },
        )

    def content_key(self, task: Task) -> str:
        m = task.meta
        return f"{m['domain']}|{m['db_seed']}|{m['gold']}"


def _informative(rows: list[tuple[Any, ...]]) -> bool:
    if not 1 <= len(rows) <= MAX_GOLD_ROWS:
        return False
    norm = normalize_rows(rows)
    if all(v is None for r in norm for v in r):
        return False
    return not (len(norm) == 1 and len(norm[0]) == 1 and norm[0][0] == 0.0)
