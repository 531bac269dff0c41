"""The SQL environment (``agentgym/SQL-v0``): interactive text-to-SQL.

Task: answer a question about a generated relational database (four domains:
retail, university, hospital, library) with one SQL query.
Tools: ``list_tables()``, ``describe_table(name)``, ``execute(query)`` (result
as a compact table, at most ``max_rows_shown`` rows, or the error text),
``submit(query)`` (ends the episode).
Backends: ``"sqlite"`` (default, embedded, read-only immutable files) and
``"postgres"`` (a real server, read-only role, ``statement_timeout``; start it
with ``scripts/start_postgres.sh``). Same tasks, same rewards on both.
Reward parts: ``execution`` (1 if the submitted query's result matches the
gold result on the task's database and on its ``n_variants`` fuzzed
variants), optional ``syntax``, ``schema_linking``, ``row_f1``, ``format``
(weights via ``reward_weights``, 0 by default), ``invalid_action`` (−penalty
for malformed calls and for rejected queries such as ``DROP``); with
``explanation_judge=``, ``explanation`` (an LLM judge on the prose written
beside the ``submit`` call, gated on execution; see :mod:`.reward`). The parts
are an :class:`agentgym.rewards.Reward` (``env.reward``).
Termination: ``submit``. Truncation: ``max_turns`` (default 15).
Metrics: ``success``, ``queries``, ``query_errors``, ``rejected_queries``,
``exec_match_main`` (matched on the task's database only), ``submitted``.
State key: the task, the tables listed/described, and the distinct results
seen so far — what the agent has learned, not how it asked.

Change log: v0 — first version.

>>> env = SQLEnv(split="val", difficulty="easy")
>>> obs, info = env.reset(seed=0)
>>> "Question:" in obs
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from agentgym import AgentEnv, Task, tool
from agentgym.envs.sql.backends import (
    DEFAULT_TIME_LIMIT_S,
    PostgresBackend,
    QueryError,
    QueryResult,
    SQLiteBackend,
    make_backend,
)
from agentgym.envs.sql.database import DbRef
from agentgym.envs.sql.domains import get_domain
from agentgym.envs.sql.render import render_result, render_schema, render_table
from agentgym.envs.sql.reward import (
    EXPLANATION_RUBRIC,
    Submission,
    build_reward,
    check_weights,
    results_match,
    row_f1,
    schema_linking,
)
from agentgym.envs.sql.tasks import SQLTasks
from agentgym.errors import ConfigError, InvalidActionError, did_you_mean
from agentgym.rewards import JudgeInput, RewardReporting, Unavailable, make_judge

__all__ = ["SQLEnv"]

_COMPARE_ROWS = 10_000
_DIALECT_NOTE = {"sqlite": "The database is SQLite 3 (dates are stored as 'YYYY-MM-DD' text).",
                 "postgres": "The database is PostgreSQL (dates have type DATE)."}
# Gold results per (backend, database, gold query): gold queries are fixed, databases
# immutable. Bounded (oldest out first): training draws an unbounded stream of tasks.
_GOLD_CACHE: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
_GOLD_CACHE_SIZE = 20_000


class SQLEnv(RewardReporting, AgentEnv):
    """Interactive text-to-SQL (see the module docstring).

    Args:
        backend: ``"sqlite"`` or ``"postgres"``.
        dsn: PostgreSQL read-only DSN (default ``$AGENTGYM_PG_DSN``).
        admin_dsn: PostgreSQL DSN that may create schemas (default ``$AGENTGYM_PG_ADMIN_DSN``).
        cache_dir: Where SQLite database files are built and cached.
        time_limit_s: Wall-clock limit of one query (SQLite progress handler /
            PostgreSQL ``statement_timeout``).
        n_variants: Fuzzed variants a submission is also checked on (K).
        schema_in_prompt: ``"full"``, ``"tables"`` or ``"none"``; default: per
            difficulty (easy full, medium tables, hard none).
        max_rows_shown: Rows of a result ``execute`` shows.
        reward_weights: Weights of the reward parts (``execution`` 1, others 0).
        data: ``"generated"`` (default: four generated domains) or ``"chinook"``
            (real data, fetched by ``scripts/setup.sh``).
        explanation_judge: Add the ``explanation`` part: an
            :class:`~agentgym.rewards.LLMJudge` / :class:`~agentgym.rewards.JudgeEnsemble`,
            or a judge backend spec (``"hf:smollm2-135m"``, ``"openai:URL#MODEL"``,
            ``"agentgym.rewards.scripted:OverlapJudge"``) judged with
            :data:`~.reward.EXPLANATION_RUBRIC`. Judged only when the query is
            correct; weight ``reward_weights["explanation"]`` (default 0.2).
        **kwargs: :class:`~agentgym.AgentEnv` arguments (split, difficulty, seed, …).
    """

    family = "sql"
    instructions = (
        "You answer questions about a relational database by writing SQL. Explore with list_tables, "
        "describe_table and execute (read-only queries; results are shown as tables). When your query "
        "returns exactly what the question asks for, call submit with it; submitting ends the episode. "
        "The submitted query is run on this database and on hidden copies with the same schema and "
        "different rows, so write the general query, never hard-coded answers."
    )
    default_max_turns = 15
    scripted_policies = {
        "oracle": "agentgym.envs.sql.oracle:oracle",
        "near_miss": "agentgym.envs.sql.oracle:near_miss",
    }

    def __init__(
        self,
        *,
        backend: Literal["sqlite", "postgres"] = "sqlite",
        dsn: str | None = None,
        admin_dsn: str | None = None,
        cache_dir: str | Path | None = None,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        n_variants: int = 3,
        schema_in_prompt: Literal["full", "tables", "none"] | None = None,
        max_rows_shown: int = 20,
        reward_weights: Mapping[str, float] | None = None,
        data: str = "generated",
        explanation_judge: Any = None,
        **kwargs: Any,
    ) -> None:
        if not 0 < time_limit_s <= 60:
            raise ConfigError(f"time_limit_s must be in (0, 60], got {time_limit_s}.")
        if schema_in_prompt not in (None, "full", "tables", "none"):
            raise ConfigError(f"schema_in_prompt must be 'full', 'tables' or 'none', got {schema_in_prompt!r}.")
        self.cache_dir = cache_dir
        self.data = data
        self.n_variants = int(n_variants)
        self.schema_in_prompt = schema_in_prompt
        self.max_rows_shown = int(max_rows_shown)
        self.weights = check_weights(reward_weights, judged=explanation_judge is not None)
        self.explanation_judge = (None if explanation_judge is None else
                                  make_judge(explanation_judge, EXPLANATION_RUBRIC, kwarg="explanation_judge"))
        self.reports_unavailable = self.explanation_judge is not None
        self.reward = build_reward(self.weights, self, self._explanation if self.explanation_judge else None)
        self._action_text = ""
        self.backend: SQLiteBackend | PostgresBackend = make_backend(
            backend, dsn=dsn, admin_dsn=admin_dsn, cache_dir=cache_dir, time_limit_s=time_limit_s)
        super().__init__(**kwargs)

    def make_generator(self, seed: int) -> SQLTasks:
        return SQLTasks(seed, n_variants=self.n_variants, cache_dir=self.cache_dir, data=self.data)

    # ------------------------------------------------------------------
    # Episode
    # ------------------------------------------------------------------
    def on_reset(self, task: Task) -> str:
        m = task.meta
        self.domain = get_domain(m["domain"])
        self.db = DbRef(m["domain"], int(m["db_seed"]), 0)
        self.variants = [DbRef(m["domain"], int(m["db_seed"]), v) for v in range(1, int(m["n_variants"]) + 1)]
        self.backend.prepare(self.db)
        self.listed = False
        self.described: set[str] = set()
        self.seen: set[str] = set()
        self.executed: list[str] = []
        self.queries = self.query_errors = self.rejected = 0
        self.exec_match_main = 0.0
        self.submitted = False
        self.schema_mode = self.schema_in_prompt or m.get("schema", "full")
        schema = render_schema(self.domain, self.backend.dialect, self.schema_mode)
        return f"{task.prompt}\n\n{_DIALECT_NOTE[self.backend.dialect]}\n{schema}"

    def state_key(self) -> str:
        if self.task is None or not hasattr(self, "db"):
            return self._last_obs
        return (f"{self.task.id}|listed={int(self.listed)}|described={','.join(sorted(self.described))}"
                f"|seen={','.join(sorted(self.seen))}|submitted={int(self.submitted)}")

    def episode_metrics(self) -> dict[str, float]:
        return {"queries": self.queries, "query_errors": self.query_errors, "rejected_queries": self.rejected,
                "exec_match_main": self.exec_match_main, "submitted": float(self.submitted),
                **self.unavailable_metrics()}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self._action_text = action if isinstance(action, str) else ""  # the explanation is read from it
        return super().step(action)

    def close(self) -> None:
        self.backend.close()
        super().close()

    # ------------------------------------------------------------------
    # Tools
    # ------------------------------------------------------------------
    @tool
    def list_tables(self) -> str:
        """List the tables of the database."""
        self.listed = True
        return "Tables: " + ", ".join(t.name for t in self.domain.tables)

    @tool
    def describe_table(self, name: str) -> str:
        """Show a table's columns with their types, keys and references.

        Args:
            name: The table name, as list_tables prints it.
        """
        key = name.strip().strip('"`').lower()
        tables = {t.name: t for t in self.domain.tables}
        if key not in tables:
            raise InvalidActionError(f"There is no table {name!r}.{did_you_mean(key, tables)} "
                                     f"Tables: {', '.join(tables)}.")
        self.described.add(key)
        return render_table(self.domain, tables[key], self.backend.dialect)

    @tool
    def execute(self, query: str) -> str:
        """Run a read-only SQL query on the database and show its result.

        Args:
            query: One SELECT statement (WITH ... SELECT is fine).
        """
        result = self._run(self.db, query, self.max_rows_shown)
        if isinstance(result, str):
            return result
        self.executed.append(query)
        text = render_result(result, self.max_rows_shown)
        self.seen.add(_fingerprint(text))
        return text

    @tool
    def submit(self, query: str) -> str:
        """Submit your final SQL query; it is checked and the episode ends.

        Args:
            query: The one SELECT statement that answers the question.
        """
        assert self.task is not None
        m = self.task.meta
        # A rejected query (DROP, two statements ...) raises InvalidActionError here:
        # the episode goes on, with the invalid-action penalty.
        main = self._run(self.db, query, _COMPARE_ROWS, count=False)
        self.submitted = True
        ok_main = not isinstance(main, str) and self._matches(self.db, main, m)
        ok_all = ok_main and all(self._variant_matches(db, query, m) for db in self.variants)
        self.exec_match_main = float(ok_main)
        self._score(query, main, ok_all)
        self.finish(success=ok_all)
        if isinstance(main, str):
            return f"Submitted, but the query failed: {main}"
        if ok_all:
            return f"Correct: the query's results match on the database and on {len(self.variants)} hidden variants."
        where = "on the database" if not ok_main else "on at least one hidden variant of the database"
        return f"Incorrect: the query's results differ from the expected results {where}."

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------
    def _run(self, db: DbRef, query: str, max_rows: int, count: bool = True) -> QueryResult | str:
        """The result, or the error text; rejected queries are invalid actions."""
        if count:
            self.queries += 1
        try:
            return self.backend.run(db, query, max_rows)
        except QueryError as e:
            if e.kind == "rejected":
                self.rejected += 1
                raise InvalidActionError(f"Rejected: {e}", kind="rejected_query") from None
            self.query_errors += count
            return f"Error: {e}"

    def _gold(self, db: DbRef, meta: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        key = (self.backend.name, db.key, meta["gold"])
        rows = _GOLD_CACHE.get(key)
        if rows is None:
            rows = _GOLD_CACHE[key] = self.backend.run(db, meta["gold"], _COMPARE_ROWS).rows
            if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
                _GOLD_CACHE.pop(next(iter(_GOLD_CACHE)))
        return rows

    def _matches(self, db: DbRef, result: QueryResult, meta: Mapping[str, Any]) -> bool:
        if result.truncated:
            return False
        return results_match(result.rows, self._gold(db, meta), ordered=bool(meta["ordered"]))

    def _variant_matches(self, db: DbRef, query: str, meta: Mapping[str, Any]) -> bool:
        try:
            result = self.backend.run(db, query, _COMPARE_ROWS)
        except QueryError:
            return False
        return self._matches(db, result, meta)

    def _score(self, query: str, main: QueryResult | str, ok_all: bool) -> None:
        self.reward.apply(self, Submission(query, main, ok_all, _explanation_text(self._action_text)))

    def _schema_linking(self, s: Submission) -> float:
        assert self.task is not None
        return schema_linking(s.query, self.task.meta["gold"], self.backend.dialect)

    def _row_f1(self, s: Submission) -> float:
        assert self.task is not None
        return 0.0 if isinstance(s.main, str) else row_f1(s.main.rows, self._gold(self.db, self.task.meta))

    def _explanation(self, s: Submission) -> float | Unavailable:
        assert self.task is not None and self.explanation_judge is not None
        shown = render_result(s.main, 10) if not isinstance(s.main, str) else s.main
        facts = f"Submitted query (correct):\n{s.query}\nIts result:\n{shown}"
        return self.explanation_judge.judge([JudgeInput(self.task.prompt, s.explanation, context=facts)])[0].as_part()


_TOOL_CALL = re.compile(r"<tool_call>.*?(</tool_call>|$)|\bsubmit\s*\(.*|\{.*\}", re.DOTALL)


def _explanation_text(action: str) -> str:
    """The prose of an action: its text without the tool call (Hermes block, call syntax or bare JSON)."""
    return _TOOL_CALL.sub(" ", action).strip()


def _fingerprint(shown: str) -> str:
    """A stable short key of a result as the agent saw it (anchors must not
    depend on Python's per-process hash salt)."""
    return hashlib.blake2b(shown.encode(), digest_size=4).hexdigest()
