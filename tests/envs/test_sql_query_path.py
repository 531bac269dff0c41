"""The SQL env's query path after issue 18 (item 2): the safety check's verdicts
cached by exact text, the SQLite progress handler installed once per connection."""

from __future__ import annotations

import time

import pytest

from agentgym.envs.sql import safety
from agentgym.envs.sql.backends import QueryError, SQLiteBackend
from agentgym.envs.sql.database import DbRef
from agentgym.envs.sql.safety import QueryRejected, check_query

QUERIES = [
    "SELECT 1",
    "  SELECT 1 ;; ",
    "SELECT ';' AS semi FROM t -- ; trailing",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "DROP TABLE orders",
    "SELECT 1; SELECT 2",
    "",
    "   ",
    "hello",
    "SELECT set_config('a', 'b', false)",
    "SELECT '\ud800'",
    "SELECT 1\x00",
]


def _verdict(query: object, *args: int) -> tuple[str, str, bool | None]:
    try:
        return "ok", check_query(query, *args), None  # type: ignore[arg-type]
    except QueryRejected as e:
        return "rejected", str(e), e.forbidden


@pytest.mark.parametrize("query", QUERIES)
def test_cached_verdict_is_the_uncached_one(query: str) -> None:
    safety._cached_verdict.cache_clear()
    uncached = safety._verdict(query, safety.MAX_QUERY_CHARS)
    first, again = _verdict(query), _verdict(query)  # the second comes from the cache
    assert first == again
    assert first[0] == ("ok" if uncached[0] else "rejected") and first[1] == uncached[1]
    assert safety._cached_verdict.cache_info().hits >= 1


def test_each_rejection_is_a_fresh_exception() -> None:
    errors = []
    for _ in range(2):
        with pytest.raises(QueryRejected) as e:
            check_query("DELETE FROM orders")
        errors.append(e.value)
    assert errors[0] is not errors[1] and str(errors[0]) == str(errors[1]) and errors[0].forbidden


def test_limit_is_part_of_the_key_and_odd_input_is_not_cached() -> None:
    assert _verdict("SELECT 12345", 20)[0] == "ok"
    assert _verdict("SELECT 12345", 5)[0] == "rejected"  # same text, another limit
    assert _verdict(None)[1] == _verdict([1])[1] == "The query is empty. Write one SELECT statement."
    long = "SELECT " + "1 + " * 2000 + "1"  # longer than the cache keeps: checked every time
    assert len(long) > safety._CACHED_CHARS and _verdict(long) == ("ok", long, None)


def test_progress_handler_stays_installed_and_a_timeout_does_not_leak() -> None:
    backend = SQLiteBackend(time_limit_s=0.3)
    db = DbRef("retail", 0)
    try:
        assert backend.run(db, "SELECT COUNT(*) FROM regions", 5).rows == [(5,)]
        t = time.perf_counter()
        with pytest.raises(QueryError) as e:
            backend.run(db, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT MAX(n) FROM r", 5)
        assert e.value.kind == "timeout" and time.perf_counter() - t < 1.5
        # Between queries there is no deadline: the connection runs anything to the end.
        conn = backend._connection(db)
        time.sleep(0.35)
        assert conn.execute("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 200000) "
                            "SELECT MAX(n) FROM r").fetchone() == (200000,)
        assert backend.run(db, "SELECT COUNT(*) FROM regions", 5).rows == [(5,)]
    finally:
        backend.close()
