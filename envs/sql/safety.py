"""What a query must pass before it reaches a database, identically on both backends.

:func:`check_query` rejects, with a message the agent can act on: empty
queries, queries over the length limit, NUL characters, text that is not
valid UTF-8 (lone surrogates, which is how undecodable bytes reach a Python
string), several statements, and anything but a read-only ``SELECT`` /
``WITH … SELECT`` / ``VALUES`` (``DROP``, ``DELETE``, ``INSERT``, ``UPDATE``,
``ATTACH``, ``PRAGMA``, ``SET`` …). It is the first of several layers, not
the only one: SQLite connections are read-only, opened on immutable files and
guarded by :func:`sqlite_authorizer`; PostgreSQL runs as a read-only role in
read-only transactions, one statement per extended-protocol message.

>>> check_query("SELECT 1;")
'SELECT 1'
>>> check_query("DROP TABLE orders")
Traceback (most recent call last):
...
agentgym.envs.sql.safety.QueryRejected: DROP statements are not allowed: the database is read-only. Only a single SELECT query (optionally starting with WITH) can run; nothing was changed.
"""

from __future__ import annotations

import functools
import re
import sqlite3

__all__ = ["QueryRejected", "check_query", "sqlite_authorizer", "code_text", "MAX_QUERY_CHARS"]

MAX_QUERY_CHARS = 100_000

# Strings, quoted identifiers, comments and dollar quotes, so that a ';' or a
# keyword inside them is not taken for code. E'...' strings take backslash
# escapes (PostgreSQL); an unterminated literal runs to the end of the text,
# where the database reports the syntax error.
_LEXEME = re.compile(
    r"""[Ee]'(?:[^'\\]|\\.|'')*'?
      | '(?:[^']|'')*'?
      | "(?:[^"]|"")*"?
      | `[^`]*`?
      | --[^\n]*
      | /\*.*?(?:\*/|\Z)
      | \$(?P<tag>[A-Za-z_]\w*)?\$.*?(?:\$(?P=tag)\$|\Z)
      | ;""",
    re.S | re.X,
)
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z_]+)")
_READ_STARTS = {"SELECT", "WITH", "VALUES"}
_BLOCKED_FUNCTIONS = re.compile(r"\b(set_config|load_extension|dblink\w*|lo_\w+)\s*\(", re.I)


_WRITE_OR_ADMIN = frozenset(
    "INSERT UPDATE DELETE DROP CREATE ALTER ATTACH DETACH PRAGMA REPLACE UPSERT TRUNCATE GRANT REVOKE "
    "VACUUM REINDEX ANALYZE BEGIN COMMIT ROLLBACK SAVEPOINT RELEASE SET RESET COPY CALL DO LOCK COMMENT "
    "CLUSTER REFRESH LISTEN NOTIFY UNLISTEN LOAD PREPARE EXECUTE DEALLOCATE DISCARD SECURITY IMPORT MERGE "
    "END ABORT START CHECKPOINT EXPLAIN SHOW DECLARE FETCH MOVE CLOSE".split()
)


class QueryRejected(Exception):
    """A query refused before execution; ``str(e)`` is the agent's observation.
    ``forbidden`` is true for what the rules forbid (writes, several
    statements, blocked functions), false for plain mistakes (empty, not SQL)."""

    def __init__(self, message: str, *, forbidden: bool = True) -> None:
        super().__init__(message)
        self.forbidden = forbidden


def code_text(query: str) -> tuple[str, int, int]:
    """``query`` with strings and comments blanked out, the number of
    statements it holds (empty statements not counted), and the offset of its
    first top-level ``;`` (``len(query)`` when there is none)."""
    pieces: list[str] = []
    statements, pos, current_has_code, first_semi = 0, 0, False, len(query)
    for m in _LEXEME.finditer(query):
        chunk = query[pos : m.start()]
        if chunk.strip():
            current_has_code = True
        pieces.append(chunk)
        tok = m.group(0)
        if tok == ";":
            first_semi = min(first_semi, m.start())
            statements += current_has_code
            current_has_code = False
            pieces.append(" ; ")
        elif tok.startswith(("'", "E'", "e'", "$")):
            current_has_code = True
            pieces.append(" '' ")
        elif tok.startswith(('"', "`")):
            current_has_code = True
            pieces.append(" " + tok.strip('"`') + " ")
        else:
            pieces.append(" ")
        pos = m.end()
    tail = query[pos:]
    if tail.strip():
        current_has_code = True
    pieces.append(tail)
    statements += current_has_code
    return "".join(pieces), statements, first_semi


def check_query(query: str, max_chars: int = MAX_QUERY_CHARS) -> str:
    """Validate ``query``; return it without surrounding blanks and trailing
    semicolons, or raise :class:`QueryRejected` saying what to fix.

    The verdict depends on the text alone, and agents send the same queries
    again and again (the oracle's, every episode of a group): verdicts on
    queries up to ``_CACHED_CHARS`` long are kept in an LRU cache keyed by the
    exact text (the check costs more than the query on a small database).
    """
    if isinstance(query, str) and len(query) <= _CACHED_CHARS:
        verdict = _cached_verdict(query, max_chars)
    else:
        verdict = _verdict(query, max_chars)
    if verdict[0]:
        return verdict[1]
    raise QueryRejected(verdict[1], forbidden=verdict[2])


# At most _CACHE_SIZE texts of at most _CACHED_CHARS characters: a few MB.
_CACHED_CHARS = 4096
_CACHE_SIZE = 1024


def _verdict(query: str, max_chars: int) -> tuple[bool, str, bool]:
    """(True, the query to run, _) or (False, the rejection's message, forbidden)."""
    try:
        return True, _check_query(query, max_chars), False
    except QueryRejected as e:
        return False, str(e), e.forbidden


_cached_verdict = functools.lru_cache(maxsize=_CACHE_SIZE)(_verdict)


def _check_query(query: str, max_chars: int) -> str:
    if not isinstance(query, str) or not query.strip():
        raise QueryRejected("The query is empty. Write one SELECT statement.", forbidden=False)
    if len(query) > max_chars:
        raise QueryRejected(
            f"The query is {len(query)} characters long; the limit is {max_chars}. Write a shorter query.",
            forbidden=False,
        )
    if "\x00" in query:
        raise QueryRejected("The query contains a NUL character (\\x00); remove it.", forbidden=False)
    try:
        query.encode("utf-8")
    except UnicodeEncodeError as e:
        raise QueryRejected(
            f"The query contains text that is not valid UTF-8 (at character {e.start}); "
            "use plain UTF-8 text.",
            forbidden=False,
        ) from None
    code, n_statements, first_semi = code_text(query)
    if n_statements > 1:
        raise QueryRejected(
            f"The query holds {n_statements} statements; send exactly one SELECT statement per call "
            "(no ';' between statements)."
        )
    m = _FIRST_WORD.match(code)
    word = m.group(1).upper() if m else ""
    if word not in _READ_STARTS and word not in _WRITE_OR_ADMIN:
        got = f"got {word!r}" if word else "got no keyword"
        raise QueryRejected(
            f"Syntax error: a query starts with SELECT, WITH or VALUES ({got}); nothing was run.", forbidden=False
        )
    if word not in _READ_STARTS:
        what = f"{word} statements are"
        raise QueryRejected(
            f"{what} not allowed: the database is read-only. Only a single SELECT query "
            "(optionally starting with WITH) can run; nothing was changed."
        )
    blocked = _BLOCKED_FUNCTIONS.search(code)
    if blocked:
        raise QueryRejected(f"The function {blocked.group(1)}() is not allowed here; nothing was run.")
    # One statement: whatever follows its first ';' is blanks, ';' and comments.
    # Cut it, so the backends get exactly one statement (PostgreSQL wraps it).
    return query[:first_semi].strip()


# --------------------------------------------------------------------------
# SQLite authorizer: the database engine's own veto on anything but reading
# --------------------------------------------------------------------------
_SQLITE_ALLOWED = frozenset(
    getattr(sqlite3, name)
    for name in ("SQLITE_SELECT", "SQLITE_READ", "SQLITE_FUNCTION", "SQLITE_RECURSIVE")
)


def sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    """Allow reads, function calls and recursive CTEs; deny everything else
    (writes, DDL, ATTACH/DETACH, PRAGMA, transactions)."""
    if action in _SQLITE_ALLOWED:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY
