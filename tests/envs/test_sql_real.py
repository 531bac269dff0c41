"""SQL-v0 on real data (Chinook, fetched by scripts/setup.sh). Skipped when the data is absent."""

from __future__ import annotations

import os

import pytest

from agentgym.envs.sql.backends import PostgresBackend, SQLiteBackend
from agentgym.envs.sql.database import DbRef, generate_rows
from agentgym.envs.sql.env import SQLEnv
from agentgym.envs.sql.realdata import available, data_dir
from agentgym.envs.sql.reward import results_match

pytestmark = pytest.mark.skipif(
    not available("chinook"), reason=f"Chinook data not fetched into {data_dir()}: run scripts/setup.sh"
)


def _oracle(env: SQLEnv, index: int) -> dict:
    env.reset(options={"task_index": index})
    done, info = False, {}
    while not done:
        *_, term, trunc, info = env.step(env.scripted_action("oracle"))
        done = term or trunc
    return info


def test_real_rows_and_fuzzed_variants() -> None:
    rows = generate_rows(DbRef("chinook", 0))
    assert len(rows["tracks"]) == 3503 and len(rows["invoices"]) == 412 and len(rows["customers"]) == 59
    assert any("São" in str(r) for r in rows["customers"])  # real, non-ASCII text survives
    variant = generate_rows(DbRef("chinook", 0, 1))
    assert len(variant["invoice_items"]) < len(rows["invoice_items"])
    assert variant["tracks"] != rows["tracks"] and [r[:2] for r in variant["tracks"]] == [r[:2] for r in rows["tracks"]]
    # Foreign keys stay valid in the variant.
    track_ids = {r[0] for r in variant["tracks"]}
    assert all(r[2] in track_ids for r in variant["invoice_items"])


def test_oracle_and_near_miss_on_real_data() -> None:
    for difficulty, n in (("easy", 8), ("medium", 5)):
        env = SQLEnv(split="val", difficulty=difficulty, data="chinook")
        for i in range(n):
            assert _oracle(env, i)["metrics"]["success"] == 1.0, env.task.id
            env.reset(options={"task_index": i})
            *_, info = env.step(env.scripted_action("near_miss"))
            assert info["reward_parts"]["execution"] == 0.0
            assert env.task.meta["domain"] == "chinook"


@pytest.mark.slow
def test_hard_real_tasks_and_postgres_agrees() -> None:
    env = SQLEnv(split="val", difficulty="hard", data="chinook")
    for i in range(5):
        assert _oracle(env, i)["metrics"]["success"] == 1.0, env.task.id
    if not os.environ.get("AGENTGYM_PG_DSN"):
        pytest.skip("AGENTGYM_PG_DSN unset: the PostgreSQL half needs scripts/start_postgres.sh")
    pg, lite = PostgresBackend(), SQLiteBackend()
    for difficulty in ("easy", "medium", "hard"):
        for task in SQLEnv(split="val", difficulty=difficulty, data="chinook").generator.tasks("val", 4, difficulty):
            m = task.meta
            for v in range(m["n_variants"] + 1):
                db = DbRef("chinook", 0, v)
                assert results_match(pg.run(db, m["gold"], 5000).rows, lite.run(db, m["gold"], 5000).rows,
                                     ordered=m["ordered"]), (task.id, v)
