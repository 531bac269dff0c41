"""Builders for hand-made trajectories (anchors, rewards, info gains)."""

from __future__ import annotations

from agentgym.trajectory import Trajectory, Turn


def traj(
    group: str,
    rewards: list[float],
    anchors: list[str] | None = None,
    gains: list[float | None] | None = None,
    success: bool | None = None,
) -> Trajectory:
    anchors = anchors or [f"s{t}" for t in range(len(rewards))]
    gains = gains or [None] * len(rewards)
    turns = [
        Turn(f"a{t}", f"o{t}", r, a, info_gain=g)
        for t, (r, a, g) in enumerate(zip(rewards, anchors, gains, strict=True))
    ]
    ok = sum(rewards) > 0 if success is None else success
    return Trajectory("task", group, turns=turns, metrics={"success": float(ok)}, answer="42")


def assert_rows(
    got: list[list[float]], expected: list[list[float]], rel: float = 1e-9, abs_: float = 1e-12
) -> None:
    """Per-turn advantages equal, row shapes included (pytest.approx is flat-only)."""
    import pytest

    assert [len(r) for r in got] == [len(r) for r in expected]
    flat = [x for r in got for x in r]
    assert flat == pytest.approx([x for r in expected for x in r], rel=rel, abs=abs_)
