"""SQL-v0 on SQLite: tasks, reward, oracle, bad input. (PostgreSQL: test_sql_postgres.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import agentgym
from agentgym.envs.sql.backends import QueryError, SQLiteBackend
from agentgym.envs.sql.database import DbRef, generate_rows, sqlite_file
from agentgym.envs.sql.domains import DOMAINS
from agentgym.envs.sql.env import SQLEnv
from agentgym.envs.sql.reward import results_match, row_f1, schema_linking
from agentgym.envs.sql.safety import check_query
from agentgym.envs.sql.tasks import SQLTasks
from agentgym.envs.sql.templates import TEMPLATES
from agentgym.errors import ConfigError
from agentgym.testing import check_agent_env
from agentgym.tools import ToolCall

LEVELS = ("easy", "medium", "hard")


def _submit(query: str) -> str:
    return ToolCall("submit", {"query": query}).render()


def _execute(query: str) -> str:
    return ToolCall("execute", {"query": query}).render()


def _run_policy(env: SQLEnv, index: int, name: str) -> dict:
    env.reset(options={"task_index": index})
    done, info = False, {}
    while not done:
        *_, term, trunc, info = env.step(env.scripted_action(name))
        done = term or trunc
    return info


@pytest.fixture(scope="module")
def envs() -> dict[str, SQLEnv]:
    return {d: SQLEnv(split="val", difficulty=d) for d in LEVELS}


# --------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------
def test_four_domains_and_every_template_in_the_val_suite(envs: dict[str, SQLEnv]) -> None:
    suite = agentgym.get_suite("sql-v0")
    kinds, domains = Counter(), Counter()
    for entry in suite:
        gen = envs[entry.kwargs["difficulty"]].generator
        tasks = gen.tasks("val", entry.n_tasks, entry.kwargs["difficulty"])
        assert len({gen.content_key(t) for t in tasks}) == len(tasks), "a suite holds a task twice"
        for task in tasks:
            kinds[task.meta["kind"]] += 1
            domains[task.meta["domain"]] += 1
    assert len(DOMAINS) >= 4 and set(domains) == set(DOMAINS)
    assert set(kinds) == set(TEMPLATES), f"templates never drawn: {set(TEMPLATES) - set(kinds)}"


def test_generation_is_deterministic_and_splits_disjoint() -> None:
    a, b = SQLTasks(seed=5), SQLTasks(seed=5)
    assert [t.to_dict() for t in a.tasks("val", 5, "medium")] == [t.to_dict() for t in b.tasks("val", 5, "medium")]
    keys = {s: {a.content_key(t) for d in LEVELS for t in a.tasks(s, 8, d)} for s in ("train", "val", "test")}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]


def test_answer_is_the_gold_submit_call(envs: dict[str, SQLEnv]) -> None:
    task = envs["hard"].generator.task("val", 0, "hard")
    assert task.answer == _submit(task.meta["gold"])
    assert task.meta["gold"] not in task.prompt


def test_gold_results_are_informative_and_near_misses_distinguishable() -> None:
    gen = SQLTasks(seed=0)
    for d in LEVELS:
        for task in gen.tasks("val", 10, d):
            m = task.meta
            dbs = [DbRef(m["domain"], m["db_seed"], v) for v in range(m["n_variants"] + 1)]
            gold = [gen.checker.run(db, m["gold"], 1000).rows for db in dbs]
            assert 1 <= len(gold[0]) <= 40
            for near in m["near_misses"]:
                outs = [gen.checker.run(db, near, 1000).rows for db in dbs]
                assert not all(results_match(o, g, ordered=m["ordered"]) for o, g in zip(outs, gold, strict=True))


def test_schema_is_withheld_by_difficulty(envs: dict[str, SQLEnv]) -> None:
    obs = {d: envs[d].reset(options={"task_index": 0})[0] for d in LEVELS}
    assert "REFERENCES" in obs["easy"]
    assert "Tables:" in obs["medium"] and "REFERENCES" not in obs["medium"]
    assert "not shown" in obs["hard"] and "Tables:" not in obs["hard"]
    env = SQLEnv(split="val", difficulty="hard", schema_in_prompt="full")
    assert "REFERENCES" in env.reset(options={"task_index": 0})[0]


# --------------------------------------------------------------------------
# Oracle and reward
# --------------------------------------------------------------------------
def test_conformance() -> None:
    check_agent_env("SQL-v0", split="val")


def test_oracle_scores_one_on_every_val_task(envs: dict[str, SQLEnv]) -> None:
    for entry in agentgym.get_suite("sql-v0"):
        env = envs[entry.kwargs["difficulty"]]
        for i in range(entry.n_tasks):
            info = _run_policy(env, i, "oracle")
            assert info["metrics"]["success"] == 1.0 and info["metrics"]["return"] == 1.0, env.task.id
            assert info["reward_parts"] == {"execution": 1.0}


def test_near_misses_score_zero_and_variants_catch_what_the_database_misses(envs: dict[str, SQLEnv]) -> None:
    caught = []
    for entry in agentgym.get_suite("sql-v0"):
        env = envs[entry.kwargs["difficulty"]]
        for i in range(entry.n_tasks):
            info = _run_policy(env, i, "near_miss")
            assert info["metrics"]["return"] == 0.0, env.task.id
            if info["metrics"]["exec_match_main"] == 1.0:
                caught.append(env.task.meta["kind"])
    # Some plausible-but-wrong queries (a filter dropped, ties ignored) give the
    # right rows on the task's database: only the fuzzed variants expose them.
    assert len(caught) >= 5, caught


def test_missing_filter_matches_the_database_but_scores_zero() -> None:
    # A multi-join whose filter happens to be redundant on the task's database.
    env = SQLEnv(split="val", difficulty="medium")
    for i in range(50):
        env.reset(options={"task_index": i})
        m = env.task.meta
        if m["kind"] != "multi_join":
            continue
        _, _, term, _, info = env.step(_submit(m["near_misses"][0]))  # the query without its WHERE
        assert term and info["reward_parts"]["execution"] == 0.0
        if info["metrics"]["exec_match_main"] == 1.0:
            no_variants = SQLEnv(split="val", difficulty="medium", n_variants=0)
            no_variants.reset(options={"task": env.task.__class__(env.task.id, env.task.prompt, env.task.answer,
                                                                  {**m, "n_variants": 0})})
            *_, info0 = no_variants.step(_submit(m["near_misses"][0]))
            assert info0["reward_parts"]["execution"] == 1.0  # without variants it would have passed
            return
    pytest.fail("no multi-join task whose missing filter only the variants expose")


def test_equivalent_rewrites_are_accepted(envs: dict[str, SQLEnv]) -> None:
    env = envs["easy"]
    for i in range(50):
        env.reset(options={"task_index": i})
        if env.task.meta["kind"] == "filter":
            break
    gold = env.task.meta["gold"]
    # Same rows, other spelling: a subquery, a trailing semicolon and a comment.
    rewrite = f"SELECT * FROM ({gold}) AS sub; -- final"
    *_, reward, term, _, info = env.step(_submit(rewrite))
    assert reward == 1.0 and term


def test_partial_rewards_are_named_and_sum() -> None:
    weights = {"syntax": 0.1, "schema_linking": 0.1, "row_f1": 0.1, "format": 0.05}
    env = SQLEnv(split="val", difficulty="easy", reward_weights=weights)
    env.reset(options={"task_index": 1})
    m = env.task.meta
    _, reward, _, _, info = env.step(_submit(m["gold"]))
    assert info["reward_parts"] == pytest.approx({"execution": 1.0, "syntax": 0.1, "schema_linking": 0.1,
                                                  "row_f1": 0.1, "format": 0.05})
    assert reward == pytest.approx(1.35)
    env.reset(options={"task_index": 1})
    _, reward, _, _, info = env.step(_submit("SELECT nope FROM nowhere"))
    parts = info["reward_parts"]
    assert parts["execution"] == 0.0 and parts["syntax"] == 0.0 and parts["row_f1"] == 0.0
    assert reward == pytest.approx(sum(parts.values()))
    with pytest.raises(ConfigError, match="unknown SQL reward part"):
        SQLEnv(reward_weights={"bleu": 1.0})


def test_result_comparison_rules() -> None:
    assert results_match([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], ordered=False)
    assert not results_match([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], ordered=True)
    assert not results_match([(1,), (1,)], [(1,)], ordered=False)  # multisets, not sets
    assert results_match([("a", 3)], [(3.0, "a")], ordered=False)  # a column permutation
    from decimal import Decimal

    assert results_match([(Decimal("2.50"),)], [(2.5000000001,)], ordered=False)
    assert not results_match([(None,)], [(0,)], ordered=False)
    assert row_f1([(1,), (2,)], [(1,), (2,)]) == 1.0 and row_f1([(3,)], [(1,)]) == 0.0
    assert schema_linking("SELECT a FROM t", "SELECT a FROM t") == 1.0
    assert schema_linking("SELECT b FROM u", "SELECT a FROM t") == 0.0


def test_state_key_tracks_what_was_learned(envs: dict[str, SQLEnv]) -> None:
    env = envs["hard"]
    _, info = env.reset(options={"task_index": 3})
    start = info["anchor"]
    *_, info = env.step(ToolCall("list_tables", {}).render())
    listed = info["anchor"]
    *_, info = env.step(ToolCall("list_tables", {}).render())
    assert listed != start and info["anchor"] == listed  # listing twice teaches nothing new
    *_, info = env.step(_execute("SELECT 1"))
    *_, info2 = env.step(_execute("SELECT   1"))
    assert info["anchor"] == info2["anchor"]  # the same result, however it was asked


# --------------------------------------------------------------------------
# Bad input: clear observations, no change to any database, limits enforced
# --------------------------------------------------------------------------
BAD = {
    "drop": "DROP TABLE orders",
    "delete": "DELETE FROM orders",
    "insert": "INSERT INTO regions VALUES (99, 'Nowhere')",
    "update": "UPDATE orders SET status = 'X'",
    "attach": "ATTACH DATABASE '/tmp/agentgym-evil.db' AS evil",
    "pragma": "PRAGMA journal_mode = WAL",
    "pragma_write": "PRAGMA writable_schema = ON",
    "two_statements": "SELECT 1; DROP TABLE orders",
    "hidden_second": "SELECT 'a;b' AS x; DELETE FROM orders -- ;",
    "create": "CREATE TABLE t (a INTEGER)",
    "vacuum": "VACUUM INTO '/tmp/agentgym-copy.db'",
}


def _hashes(refs: list[DbRef], cache_dir: Path | None = None) -> dict[str, str]:
    return {r.key: hashlib.sha256(sqlite_file(r, cache_dir).read_bytes()).hexdigest() for r in refs}


def _retail_env(**kw) -> SQLEnv:
    env = SQLEnv(split="val", difficulty="easy", **kw)
    for i in range(100):
        env.reset(options={"task_index": i})
        if env.task.meta["domain"] == "retail":
            return env
    raise AssertionError("no retail task")


def test_writes_and_multiple_statements_are_rejected_and_nothing_changes() -> None:
    env = _retail_env(max_turns=100)
    refs = [env.db, *env.variants]
    before = _hashes(refs)
    for name, query in BAD.items():
        for call in (_execute(query), _submit(query)):
            obs, reward, term, trunc, info = env.step(call)
            assert obs.startswith("Error: Rejected:"), (name, obs)
            assert info["action_valid"] is False and info["error"] == "rejected_query" and not term
            assert reward == -env.invalid_action_penalty
    assert "read-only" in env.step(_execute("DROP TABLE orders"))[0]
    assert "one SELECT statement" in env.step(_execute(BAD["two_statements"]))[0]
    assert _hashes(refs) == before
    obs, *_ = env.step(_execute("SELECT COUNT(*) FROM orders"))
    assert "(1 row)" in obs
    assert oct(sqlite_file(env.db).stat().st_mode & 0o777) == "0o444"


def test_the_authorizer_denies_writes_even_past_the_checks(tmp_path: Path) -> None:
    backend = SQLiteBackend(cache_dir=tmp_path)
    ref = DbRef("library", 1)
    conn = backend._connection(ref)
    before = _hashes([ref], tmp_path)
    for stmt in ("DELETE FROM loans", "CREATE TABLE x (a)", "PRAGMA writable_schema = ON",
                 f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x", "BEGIN"):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(stmt)
    assert _hashes([ref], tmp_path) == before


@pytest.mark.parametrize(
    "query",
    [
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT MAX(n) FROM r",
        "SELECT COUNT(*) FROM order_items a, order_items b, order_items c, order_items d",
        "SELECT * FROM order_items a, order_items b, order_items c ORDER BY a.quantity * b.quantity - c.quantity",
    ],
    ids=["endless_recursive_cte", "cross_join_count", "cross_join_sorted"],
)
def test_time_limit_is_enforced(query: str) -> None:
    env = _retail_env(time_limit_s=0.5)
    t = time.perf_counter()
    obs, reward, term, _, info = env.step(_execute(query))
    elapsed = time.perf_counter() - t
    assert "time limit of 0.5 s" in obs and info["action_valid"] and not term
    assert elapsed < 1.5


def test_default_time_limit_is_at_most_two_seconds() -> None:
    env = _retail_env()
    t = time.perf_counter()
    obs, *_ = env.step(_execute("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT MAX(n) FROM r"))
    assert "time limit of 2 s" in obs and time.perf_counter() - t < 2.6


def test_non_utf8_nul_and_huge_queries() -> None:
    env = _retail_env()
    raw = b'<tool_call>{"name": "execute", "arguments": {"query": "SELECT \'\xff\xfe\' AS x"}}</tool_call>'
    obs, *_ , info = env.step(raw.decode("utf-8", errors="surrogateescape"))
    assert obs.startswith("Error") and "UTF-8" in obs
    obs, *_ = env.step(_execute("SELECT 1 \x00"))
    assert "NUL" in obs
    obs, *_, info = env.step(_execute("SELECT " + "1 + " * 250_000 + "1"))  # a 1 MB query
    assert obs.startswith("Error") and ("limit" in obs or "characters long" in obs)
    obs, *_ = env.step(_execute("SELECT '" + "x" * 90_000 + "' AS big"))
    assert "(1 row)" in obs and len(obs) < 10_000  # cells are clipped
    # A string grown without bound fails fast instead of eating memory.
    obs, *_ = env.step(_execute(
        "WITH RECURSIVE r(x) AS (SELECT 'a' UNION ALL SELECT x || x FROM r) SELECT MAX(LENGTH(x)) FROM r"))
    assert "too big" in obs


def test_memory_stays_bounded_on_a_huge_sort() -> None:
    code = (
        "import resource, json\n"
        "from agentgym.envs.sql.backends import SQLiteBackend, QueryError\n"
        "from agentgym.envs.sql.database import DbRef\n"
        "b = SQLiteBackend(time_limit_s=1.5)\n"
        "b.run(DbRef('retail', 0), 'SELECT 1', 1)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    b.run(DbRef('retail', 0), \"SELECT a.*, b.*, c.* FROM order_items a, order_items b, order_items c "
        "ORDER BY a.unit_price * b.quantity + c.unit_price DESC\", 20)\n"
        "except QueryError as e:\n"
        "    pass\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps([before, after]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert (after - before) / 1024 < 64, f"peak RSS grew by {(after - before) / 1024:.0f} MB"


def test_check_query_messages() -> None:
    assert check_query("  SELECT 1 ;; ") == "SELECT 1"
    assert check_query("SELECT 1; -- done\n/* really */") == "SELECT 1"
    assert check_query("WITH x AS (SELECT 1) SELECT * FROM x") .startswith("WITH")
    assert check_query("SELECT ';' AS semi, \"a;b\" FROM t -- ; trailing") .startswith("SELECT")
    for bad, words in [("", "empty"), ("DELETE FROM t", "read-only"), ("SELECT 1; SELECT 2", "2 statements"),
                       ("SELECT E'\\''; SELECT 2 --'", "2 statements"), ("SELECT set_config('a', 'b', false)", "set_config")]:
        with pytest.raises(Exception, match=words):
            check_query(bad)


def test_unknown_table_and_sql_errors_are_observations(envs: dict[str, SQLEnv]) -> None:
    env = envs["medium"]
    env.reset(options={"task_index": 0})
    tables = [t.name for t in env.domain.tables]
    obs, reward, _, _, info = env.step(ToolCall("describe_table", {"name": tables[0][:-1]}).render())
    assert info["action_valid"] is False and "Did you mean" in obs
    obs, reward, _, _, info = env.step(_execute("SELECT * FROM orders WHERE"))
    assert info["action_valid"] is True and obs.startswith("Error: SQLite error") and reward == 0.0
    obs, reward, _, _, info = env.step(_execute("SELEC * FROM orders"))  # a typo is a mistake, not a write
    assert info["action_valid"] is True and "Syntax error" in obs and reward == 0.0


# --------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------
def test_database_files_are_cached_by_content_and_read_only(tmp_path: Path) -> None:
    ref = DbRef("hospital", 2)
    path = sqlite_file(ref, tmp_path)
    mtime = path.stat().st_mtime_ns
    assert sqlite_file(ref, tmp_path) == path and path.stat().st_mtime_ns == mtime
    assert DbRef("hospital", 2, 1).key != ref.key and DbRef("hospital", 3).key != ref.key
    assert generate_rows(ref) == generate_rows(DbRef("hospital", 2))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    counts = {t.name: conn.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0] for t in DOMAINS["hospital"].tables}
    assert counts == {k: len(v) for k, v in generate_rows(ref).items()}
    fks = conn.execute("SELECT * FROM pragma_foreign_key_list('admissions')").fetchall()
    assert {r[2] for r in fks} == {"patients", "doctors", "wards", "outcomes"}
    conn.close()
    with pytest.raises(QueryError):
        SQLiteBackend(cache_dir=tmp_path).run(ref, "INSERT INTO wards VALUES (9, 'x', 1, 1)", 5)


def test_generators_share_one_checker_and_demonstrations_reuse_envs(monkeypatch) -> None:
    """Every SQL-v0 env of a process checks task queries through one back-end (its
    connections are opened once), and collecting demonstrations reuses at most
    DEMO_PARALLEL envs: 600 tasks used to build 600 envs at once, each with its
    connections (4,000 ran out of file descriptors)."""
    from agentgym.envs.sql.tasks import SQLTasks
    from agentgym.train.sft import DEMO_PARALLEL, SFTConfig, collect_demonstrations

    a, b = SQLTasks(0), SQLTasks(0)
    assert a.checker is b.checker and a.task("train", 5) == b.task("train", 5)
    built = []
    init = SQLEnv.__init__
    monkeypatch.setattr(SQLEnv, "__init__", lambda self, *a, **kw: (built.append(1), init(self, *a, **kw))[1])
    cfg = SFTConfig(env="SQL-v0", from_policy="oracle", tasks=600, max_turns=6,
                    env_kwargs={"difficulty": "easy", "backend": "sqlite"})
    demos = collect_demonstrations(cfg)
    assert len(demos) == 600 and all(t.success for t in demos)
    assert len(built) <= DEMO_PARALLEL + 2  # + the envs built to read tool schemas / the first source


def test_val_sequences_are_shared_between_envs_of_the_same_settings() -> None:
    """Task i of val is drawn after tasks 0..i-1 (it must differ from them); envs
    built one per task (what an evaluation does) reuse one sequence, and the
    tasks are the same as one env's."""
    from agentgym.envs.sql.tasks import SQLTasks

    a, b, other = SQLTasks(0), SQLTasks(0), SQLTasks(1)
    assert a._sequences is b._sequences and a._sequences is not other._sequences
    t40 = a.task("val", 40)
    assert len(b._sequences[("val", "easy")]) >= 41  # b draws nothing new
    assert b.task("val", 40) is t40 and other.task("val", 40) != t40
