"""Scripted policies for SQL-v0.

* ``oracle``: explores like a careful analyst — lists the tables (unless the
  prompt showed them), describes each table the gold query uses (unless the
  prompt showed the full schema), runs the gold query once, then submits it.
* ``near_miss``: submits the task's first near miss (a plausible but wrong
  query: a filter dropped, ties ignored, a look-alike column). A baseline
  that should score 0.
"""

from __future__ import annotations

from agentgym.envs.sql.env import SQLEnv
from agentgym.tools import ToolCall


def oracle(env: SQLEnv) -> str:
    assert env.task is not None
    meta = env.task.meta
    if env.schema_mode == "none" and not env.listed:
        return ToolCall("list_tables", {}).render()
    if env.schema_mode != "full":
        for table in meta["tables"]:
            if table not in env.described:
                return ToolCall("describe_table", {"name": table}).render()
    if meta["gold"] not in env.executed:
        return ToolCall("execute", {"query": meta["gold"]}).render()
    return ToolCall("submit", {"query": meta["gold"]}).render()


def near_miss(env: SQLEnv) -> str:
    assert env.task is not None
    meta = env.task.meta
    query = meta["near_misses"][0] if meta["near_misses"] else meta["gold"]
    return ToolCall("submit", {"query": query}).render()
