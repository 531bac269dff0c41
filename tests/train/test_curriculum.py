"""The self-evolving curriculum's pick and record (pure), by hand."""

from __future__ import annotations

from agentgym.train.curriculum import near_key, parse_near_key, pick, record


def test_record_keeps_the_last_window_outcomes_and_counts_picks() -> None:
    state: dict = {}
    record(state, {0: (2, 2), 1: (0, 2)}, window=3)
    record(state, {0: (0, 2), 2: (0, 0)}, window=3)  # an index without episodes is not recorded
    assert state == {"outcomes": {0: [1.0, 0.0, 0.0], 1: [0.0, 0.0]}, "picks": {0: 2, 1: 1}}


def test_frontier_first_then_failures_then_fresh_and_solved_never() -> None:
    state: dict = {}
    record(state, {0: (1, 2), 1: (1, 2), 2: (0, 2), 3: (2, 2), 4: (1, 2)}, window=4)
    indices, mix = pick(state, 4, cursor=10, seed=0, iteration=0, replay=0.5, retries=3)
    assert len(indices) == 4 and set(indices[:2]) <= {0, 1, 4} and indices[2:] == [10, 11]
    assert mix["curriculum/frontier"] == 2.0 and mix["curriculum/fresh"] == 2.0
    assert (mix["curriculum/frontier_pool"], mix["curriculum/failed_pool"], mix["curriculum/solved"]) == (3.0, 1.0, 1.0)
    # All replay slots: the 3 frontier tasks, then the failed one; the solved task 3 never.
    indices, mix = pick(state, 5, cursor=10, seed=0, iteration=0, replay=1.0, retries=3)
    assert indices == [0, 1, 4, 2, 10] and mix["curriculum/failed"] == 1.0


def test_a_task_failed_retries_times_is_left_and_the_pick_is_seeded() -> None:
    state: dict = {}
    for _ in range(3):
        record(state, {7: (0, 2)}, window=4)
    assert pick(state, 2, cursor=20, seed=0, iteration=5, replay=1.0, retries=3)[0] == [20, 21]
    assert pick(state, 2, cursor=20, seed=0, iteration=5, replay=1.0, retries=4)[0] == [7, 20]
    many: dict = {}
    record(many, {i: (1, 2) for i in range(10)}, window=4)
    a = pick(many, 4, cursor=10, seed=1, iteration=3, replay=0.5, retries=3)
    assert a == pick(many, 4, cursor=10, seed=1, iteration=3, replay=0.5, retries=3)
    assert a[0] != pick(many, 4, cursor=10, seed=1, iteration=4, replay=0.5, retries=3)[0]


def test_replay_zero_is_the_plain_cursor() -> None:
    state: dict = {}
    record(state, {0: (1, 2)}, window=4)
    assert pick(state, 3, cursor=5, seed=0, iteration=0, replay=0.0, retries=3)[0] == [5, 6, 7]


def test_near_tasks_are_made_next_to_failed_ones_and_then_tracked_like_others() -> None:
    state: dict = {}
    record(state, {0: (0, 2), 1: (1, 2), 2: (0, 2)}, window=4)
    # replay 0.25 of 4: one frontier replay; near 0.5: two tasks next to the failed 0 and 2; one fresh.
    keys, mix = pick(state, 4, cursor=10, seed=0, iteration=1, replay=0.25, retries=3, near=0.5)
    assert keys == [1, "0~0", "2~0", 10]
    assert (mix["curriculum/near"], mix["curriculum/fresh"]) == (2.0, 1.0)
    record(state, {1: (1, 2), "0~0": (0, 2), "2~0": (2, 2), 10: (0, 2)}, window=4)
    assert state["near_made"] == {0: 1, 2: 1} and state["outcomes"]["2~0"] == [1.0, 1.0]
    # Next time: the failed near task "0~0" is a parent too, and task 0's next near task is "0~1".
    keys, _ = pick(state, 8, cursor=11, seed=0, iteration=2, replay=0.0, retries=3, near=1.0)
    assert {k for k in keys if isinstance(k, str)} == {"0~1", "0~0~0", "2~1", "10~0"}
    assert keys[4:] == [11, 12, 13, 14]
    assert parse_near_key("0~0~0") == ("0~0", 0) and near_key(7, 2) == "7~2"


def test_default_near_task_is_one_difficulty_easier_new_and_deterministic() -> None:
    import agentgym
    from agentgym.tasks import Task

    env = agentgym.make("GuessNumber-v0", difficulty="medium").unwrapped
    failed = env.task_at(3, "train")
    a, b = env.generator.near(failed, 0), env.generator.near(failed, 1)
    assert a.id.startswith("guess_number/train/easy/") and a.id != b.id
    assert env.generator.near(failed, 0) == a
    easiest = env.generator.near(a, 0)
    assert easiest.id.startswith("guess_number/train/easy/")  # already the easiest: the same level
    assert env.generator.near(Task("foreign/id", "p", "a"), 0) is None
