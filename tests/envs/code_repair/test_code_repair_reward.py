"""CodeRepair-v0's reward as :class:`agentgym.rewards.Reward` parts: ``env.reward``,
``reward_weights`` reweighting the reported parts, unknown part names, and the
parts scored on hand-made grades (no test run)."""

from __future__ import annotations

import pytest

from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.envs.code_repair.grading import Grade
from agentgym.envs.code_repair.reward import (
    DEFAULT_WEIGHTS,
    EXECUTION_REWARD,
    SIMILARITY_REWARD,
    Submission,
    build_reward,
    check_weights,
)
from agentgym.errors import ConfigError
from agentgym.rewards import Reward
from agentgym.tools import ToolCall

HARD = {
    "task_index": 0,
    "difficulty": "hard",
}  # a two-edit fix: its first edit alone is a partial fix


@pytest.fixture(scope="module")
def cache():
    from agentgym.envs.code_repair.tasks import default_cache_dir

    return default_cache_dir()


def _episode(env: CodeRepairEnv, actions: list[str]) -> tuple[float, dict[str, float]]:
    """Play ``actions`` then ``submit()``; (last reward, last reward parts)."""
    env.reset(options=HARD)
    for a in [*actions, ToolCall("submit", {}).render()]:
        _, reward, terminated, _, info = env.step(a)
    assert terminated
    return reward, info["reward_parts"]


def _first_edit(env: CodeRepairEnv) -> list[str]:
    env.reset(options=HARD)
    return [ToolCall("edit_file", dict(env.task.meta["fix"][0])).render()]


def test_env_reward_is_the_modes_reward_with_the_envs_weights(cache) -> None:
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache,
                        reward_weights={"fraction": 0.5, "similarity": 3.0})  # fmt: skip
    assert isinstance(env.reward, Reward)
    assert env.reward.weights == {"tests": 1.0, "fraction": 0.5, "localisation": 0.0}
    env.close()
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache, reward_mode="similarity",
                        reward_weights={"similarity": 0.5, "tests": 2.0})  # fmt: skip
    assert env.reward.weights == {"similarity": 0.5}
    env.close()
    assert DEFAULT_WEIGHTS == {
        "tests": 1.0,
        "fraction": 0.0,
        "localisation": 0.0,
        "similarity": 1.0,
    }


def test_unknown_part_names_raise_with_the_valid_ones(cache) -> None:
    with pytest.raises(ConfigError, match="unknown code-repair reward part 'fractoin'") as e:
        CodeRepairEnv(
            split="val", sandbox="process", cache_dir=cache, reward_weights={"fractoin": 0.5}
        )
    for name in ("fraction", "localisation", "similarity", "tests"):
        assert repr(name) in str(e.value)
    with pytest.raises(ConfigError, match=r"choose from \['tests', 'fraction', 'localisation'\]"):
        EXECUTION_REWARD.with_weights({"similarity": 1.0})
    with pytest.raises(ConfigError, match="reward_mode"):
        build_reward(DEFAULT_WEIGHTS, "judged")  # type: ignore[arg-type]


def test_reward_weights_reweight_the_parts(cache) -> None:
    # Raw values: every part at weight 1 on a partial fix (one of two edits).
    ones = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache,
                         reward_weights={"fraction": 1.0, "localisation": 1.0})  # fmt: skip
    _, raw = _episode(ones, _first_edit(ones))
    ones.close()
    assert raw["tests"] == 0.0 and 0.0 < raw["fraction"] < 1.0 and 0.0 < raw["localisation"] < 1.0

    weights = {"tests": 2.0, "fraction": 0.5, "localisation": -0.25}
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache, reward_weights=weights)
    reward, parts = _episode(env, _first_edit(env))
    assert parts == {k: weights[k] * raw[k] for k in weights}
    assert reward == pytest.approx(sum(parts.values()))
    env.close()

    # Weight 0: tests is still reported (as 0.0), fraction and localisation are not.
    env = CodeRepairEnv(
        split="val", sandbox="process", cache_dir=cache, reward_weights={"tests": 0.0}
    )
    env.reset(options=HARD)
    fix = [ToolCall("edit_file", dict(e)).render() for e in env.task.meta["fix"]]
    reward, parts = _episode(env, fix)
    assert parts == {"tests": 0.0} and reward == 0.0
    env.close()


def test_similarity_weight(cache) -> None:
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache, reward_mode="similarity",
                        reward_weights={"similarity": 0.5})  # fmt: skip
    env.reset(options=HARD)
    gold = env.task.meta["gold_patch"]
    _, reward, _, _, info = env.step(ToolCall("submit", {"patch": gold}).render())
    assert reward == 0.5 and info["reward_parts"] == {"similarity": 0.5}
    env.reset(options=HARD)
    _, reward, _, _, info = env.step(ToolCall("submit", {"patch": "not a diff"}).render())
    assert reward == -0.5 and info["reward_parts"] == {"similarity": -0.5}
    env.close()


def _grade(passed: dict[str, bool], tampering: tuple[str, ...] = ()) -> Grade:
    return Grade(passed, fail_to_pass=("t::a", "t::b"), pass_to_pass=("t::c",), tampering=tampering)


def test_parts_on_hand_made_grades() -> None:
    base = {"m.py": b"def f():\n    return 1\n\n\ndef g():\n    return 2\n"}
    kept = {"m.py": b"def f():\n    return 3\n\n\ndef g():\n    return 2\n"}
    reward = build_reward(check_weights({"fraction": 1.0, "localisation": 1.0}))
    half = Submission(
        base, kept, [["m.py", "f"]], grade=_grade({"t::a": True, "t::b": False, "t::c": True})
    )
    assert reward.score(half).parts == {"tests": 0.0, "fraction": 0.75, "localisation": 1.0}
    wrong_place = Submission(
        base, kept, [["m.py", "g"]], grade=_grade({"t::a": True, "t::b": True, "t::c": True})
    )
    assert reward.score(wrong_place).parts == {"tests": 1.0, "fraction": 1.0, "localisation": 0.5}
    tampered = Submission(base, kept, [["m.py", "f"]],
                          grade=_grade({"t::a": True, "t::b": True, "t::c": True}, tampering=("m.py: pytest",)))  # fmt: skip
    assert reward.score(tampered).parts == {"tests": 0.0, "fraction": 0.0, "localisation": 1.0}
    # Defaults: only tests; localisation is not even computed at weight 0.
    assert EXECUTION_REWARD.score(Submission(grade=half.grade)).parts == {"tests": 0.0}
    zero = SIMILARITY_REWARD.with_weights({"similarity": 0.0})
    assert zero.score(Submission(similarity=-1.0)).parts == {"similarity": 0.0}  # still reported
    with pytest.raises(ConfigError, match="without a grade"):
        EXECUTION_REWARD.score(Submission(similarity=1.0))
