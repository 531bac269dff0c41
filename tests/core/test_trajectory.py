"""Trajectories round-trip through JSONL exactly."""

from __future__ import annotations

from pathlib import Path

from agentgym import Trajectory, Turn
from agentgym.trajectory import append_jsonl, iter_jsonl, load_jsonl, save_jsonl


def _traj(i: int) -> Trajectory:
    turns = [
        Turn(
            action='<tool_call>{"name": "go", "arguments": {"room": "kitchen"}}</tool_call>',
            observation="You are in the kitchen. ✓",
            reward=0.25 * i,
            anchor=f"room=kitchen|{i}",
            action_valid=bool(i % 2),
            prompt_ids=[1, 2, 3],
            response_ids=[4, 5],
            logprobs=[-0.1, -2.5],
            reward_parts={"success": 0.25 * i},
            info_gain=None if i else 0.3,
            error=None if i % 2 else "bad_arguments",
        )
        for _ in range(2)
    ]
    return Trajectory(task_id=f"t/{i}", group_id=f"g{i // 2}", env_id="agentgym/X-v0", turns=turns, metrics={"success": 1.0}, answer="a", seed=i)


def test_jsonl_roundtrip(tmp_path: Path) -> None:
    trajs = [_traj(i) for i in range(4)]
    path = save_jsonl(tmp_path / "r.jsonl", trajs)
    again = load_jsonl(path)
    assert again == trajs
    assert again[3].episode_return == 1.5 and again[0].turns[0].info_gain == 0.3


def test_append_and_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    append_jsonl(path, [_traj(0)])
    append_jsonl(path, [_traj(1)])
    with path.open("a") as f:
        f.write('{"task_id": "torn", "tur')  # a writer killed mid-line
    assert [t.task_id for t in iter_jsonl(path)] == ["t/0", "t/1"]
