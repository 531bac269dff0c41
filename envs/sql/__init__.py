"""SQL-v0: interactive text-to-SQL over generated databases, on SQLite or PostgreSQL.

* ``domains.py``    — four realistic schemas (retail, university, hospital, library), as data.
* ``database.py``   — rows from (domain, seed, variant); DDL; SQLite file cache; PostgreSQL schemas.
* ``safety.py``     — what a query must pass before it runs (read-only, one statement, UTF-8, size).
* ``backends.py``   — SQLite (read-only immutable files) and PostgreSQL (read-only role) backends.
* ``predicates.py``, ``templates.py`` — typed SQL question templates.
* ``tasks.py``      — the task generator (rejects degenerate and under-specified questions).
* ``reward.py``     — execution match on the database and its fuzzed variants, partial parts.
* ``render.py``     — schema and result text.
* ``env.py``        — the environment and its tools.
* ``oracle.py``     — the scripted expert and a near-miss baseline.
"""

from agentgym.envs.sql.env import SQLEnv
from agentgym.envs.sql.tasks import SQLTasks

__all__ = ["SQLEnv", "SQLTasks"]
