"""GiGPO against hand-computed values: episode + omega * step advantages."""

from __future__ import annotations

import math

import pytest

from agentgym.credit import gigpo, grpo, step_groups
from agentgym.errors import ConfigError
from tests.credit.helpers import assert_rows, traj

EPS = 1e-6


def _group() -> list:
    # T1 reaches the goal in 3 turns, T2 is truncated after 2, T3 reaches it in 2.
    return [
        traj("g", [0.0, 0.0, 1.0], ["s0", "s1", "s2"]),
        traj("g", [0.0, 0.0], ["s0", "s1"]),
        traj("g", [0.0, 1.0], ["s0", "s2"]),
    ]


def test_gigpo_mean_std_hand_values() -> None:
    gamma, omega = 0.9, 0.5
    # Episode level: returns 1, 0, 1 -> mean 2/3, Bessel std sqrt(1/3).
    s = math.sqrt(1 / 3)
    e1, e2 = (1 / 3) / (s + EPS), (-2 / 3) / (s + EPS)
    # Discounted returns (gamma 0.9): T1 = .81, .9, 1; T2 = 0, 0; T3 = .9, 1.
    # Step group s0 = {.81, 0, .9}: mean .57, Bessel var (.0576 + .3249 + .1089) / 2.
    s0 = math.sqrt((0.0576 + 0.3249 + 0.1089) / 2)
    a0 = [0.24 / (s0 + EPS), -0.57 / (s0 + EPS), 0.33 / (s0 + EPS)]
    # Step group s1 = {.9, 0}: mean .45, std sqrt(2 * .45^2).
    s1 = math.sqrt(2 * 0.45**2)
    a1 = 0.45 / (s1 + EPS)
    # Step group s2 = {1, 1}: all equal -> 0.
    expected = [
        [e1 + omega * a0[0], e1 + omega * a1, e1],
        [e2 + omega * a0[1], e2 - omega * a1],
        [e1 + omega * a0[2], e1],
    ]
    assert_rows(gigpo(_group(), gamma=gamma, omega=omega), expected, rel=1e-6)


def test_gigpo_mean_norm_hand_values() -> None:
    # Episode: 1, 0, 1 - 2/3. Steps (gamma .9): s0 {.81, 0, .9} - .57; s1 {.9, 0} - .45; s2 equal.
    got = gigpo(_group(), gamma=0.9, omega=1.0, norm="mean")
    expected = [
        [1 / 3 + 0.24, 1 / 3 + 0.45, 1 / 3],
        [-2 / 3 - 0.57, -2 / 3 - 0.45],
        [1 / 3 + 0.33, 1 / 3],
    ]
    assert_rows(got, expected)


def test_singleton_step_groups_get_zero_step_advantage() -> None:
    # Every anchor is unique: GiGPO reduces to GRPO whatever omega.
    ts = [traj("g", [0.0, 1.0], ["a", "b"]), traj("g", [0.0, 0.0], ["c", "d"])]
    assert_rows(gigpo(ts, omega=3.0), grpo(ts))


def test_omega_zero_is_grpo_and_omega_scales_step_part() -> None:
    ts = _group()
    assert_rows(gigpo(ts, omega=0.0), grpo(ts))
    base, one, two = grpo(ts), gigpo(ts, omega=1.0), gigpo(ts, omega=2.0)
    for rb, r1, r2 in zip(base, one, two, strict=True):
        for b, x1, x2 in zip(rb, r1, r2, strict=True):
            assert x2 - b == pytest.approx(2 * (x1 - b))


def test_gamma_changes_only_step_level() -> None:
    ts = _group()
    # gamma = 0: G_t = r_t; step group s0 holds rewards 0, 0, 0 -> zero step advantage there.
    g0 = gigpo(ts, gamma=0.0, norm="mean")
    assert g0[0][0] == pytest.approx(1 / 3) and g0[1][0] == pytest.approx(-2 / 3)
    # gamma = 1: s0 holds returns 1, 0, 1 -> centred 1/3, -2/3, 1/3.
    g1 = gigpo(ts, gamma=1.0, norm="mean")
    assert g1[0][0] == pytest.approx(2 / 3) and g1[1][0] == pytest.approx(-4 / 3)
    assert g1[0][2] == g0[0][2] == pytest.approx(1 / 3)  # s2: both reach 1 at once


def test_all_equal_group_is_zero_everywhere() -> None:
    ts = [traj("g", [0.0, 1.0], ["a", "b"]), traj("g", [0.0, 1.0], ["a", "b"])]
    assert gigpo(ts) == [[0.0, 0.0], [0.0, 0.0]]


def test_repeated_anchor_within_one_trajectory_joins_the_step_group() -> None:
    # A loop: T1 visits "a" twice. Step group a = {T1 t0: 0.25, T1 t1: 0.5, T2 t0: 0}.
    ts = [traj("g", [0.0, 0.0, 1.0], ["a", "a", "b"]), traj("g", [0.0], ["a"])]
    # Its mean is 0.25; b is a singleton. Episode level: +-0.5.
    got = gigpo(ts, gamma=0.5, omega=1.0, norm="mean")
    assert_rows(got, [[0.5 + 0.0, 0.5 + 0.25, 0.5], [-0.5 - 0.25]])


def test_step_groups_never_cross_episode_groups() -> None:
    ts = [traj("x", [1.0], ["a"]), traj("y", [0.0], ["a"])]
    # Each group is a singleton: everything is zero.
    assert gigpo(ts) == [[0.0], [0.0]]


def test_similarity_grouping_merges_near_identical_text_anchors() -> None:
    assert step_groups(["room 1: key", "room 1: key.", "room 2: box"], similarity=0.9) == [
        [0, 1],
        [2],
    ]
    ts = [traj("g", [1.0], ["you see a key"]), traj("g", [0.0], ["you see a key."])]
    exact = gigpo(ts, norm="mean")
    merged = gigpo(ts, norm="mean", similarity=0.9)
    assert exact == [[0.5], [-0.5]]
    assert merged == [[1.0], [-1.0]]


def test_invalid_options_raise_with_a_fix() -> None:
    with pytest.raises(ConfigError, match="gamma"):
        gigpo(_group(), gamma=1.5)
    with pytest.raises(ConfigError, match="rewards"):
        gigpo(_group(), rewards="dense")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="similarity"):
        gigpo(_group(), similarity=0.0)


def _stuck(group: str, turns: int, penalty: float = -0.1) -> object:
    """An untrained policy's episode: every action invalid, the state never
    changes, truncated at the turn limit."""
    t = traj(group, [penalty] * turns, ["s"] * turns, success=False)
    t.truncated, t.final_anchor = True, "s"
    return t


def test_uniform_step_group_from_an_all_invalid_group_gives_zero_advantages() -> None:
    """Every turn shares one anchor and one consequence (same penalty, same next
    state): the G_t differ only by the turns left before truncation, which must
    not rank the actions (without the rule: unit-size advantages, late turns up)."""
    ts = [_stuck("g", 4) for _ in range(3)]
    assert_rows(gigpo(ts, gamma=0.95), [[0.0] * 4 for _ in range(3)], abs_=1e-9)
    # Without a recorded final anchor (an older saved trajectory) the last turns'
    # consequences are unknown: the paper's comparison, which ranks by position.
    for t in ts:
        t.final_anchor = ""
    ranked = gigpo(ts, gamma=0.95)
    assert ranked[0][3] > ranked[0][0]
    assert max(abs(a) for row in ranked for a in row) > 0.5


def test_one_different_consequence_restores_the_comparison_loops_included() -> None:
    # T1 loops at "s" twice (invalid), then leaves to "b" and succeeds; T2 is stuck.
    t1 = traj("g", [-0.1, -0.1, 0.0, 1.0], ["s", "s", "s", "b"])
    t1.terminated, t1.final_anchor = True, "done"
    t2 = _stuck("g", 4)
    got = gigpo([t1, t2], gamma=0.5, omega=1.0, norm="mean")
    # Step group "s": T1's three visits and T2's four turns. Discounted returns
    # (gamma .5): T1 t0..t2 = -0.1 - 0.05 + 0 + 0.125 = -0.025, 0.05 + ..., see below.
    r1 = [-0.1 + 0.5 * (-0.1) + 0.25 * 0.0 + 0.125 * 1.0, -0.1 + 0.5 * 0.0 + 0.25 * 1.0, 0.0 + 0.5 * 1.0]
    r2 = [-0.1 * (1 - 0.5 ** (4 - t)) / 0.5 for t in range(4)]
    mean = (sum(r1) + sum(r2)) / 7
    ep = (0.8 - (-0.4)) / 2  # episode returns 0.8 and -0.4, mean-centred
    assert_rows(got, [[ep + r - mean for r in r1] + [ep], [-ep + r - mean for r in r2]], rel=1e-9)

