"""BFCL-v0: agreement with BFCL's own multi_turn_checker, the oracle, bad input, held-out functions.

Needs the bfcl-eval package (``pip install --no-deps bfcl-eval==2026.3.23``, done by
scripts/setup.sh); without it every test but the missing-package one skips.
"""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from typing import Any

import pytest

import agentgym
from agentgym.envs.tools.bfcl.data import (
    ADDED_FUNCTIONS_PROMPT,
    BFCL_VERSION,
    CATEGORIES,
    INSTALL_HINT,
    BFCLUnavailableError,
    available,
)
from agentgym.suites import get_suite
from agentgym.tasks import SPLITS
from agentgym.testing import check_agent_env, run_scripted_episode
from agentgym.tools import ToolCall

needs_bfcl = pytest.mark.skipif(not available(), reason=f"bfcl-eval is not installed; {INSTALL_HINT}")


def make(category: str = "multi_turn_base", split: str = "val", **kwargs: Any) -> Any:
    return agentgym.make("BFCL-v0", category=category, split=split, **kwargs)


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


def start_fs(**kwargs: Any) -> Any:
    """A multi_turn_base val episode on the file system (GorillaFileSystem among its classes)."""
    env = make(**kwargs)
    index = next(i for i in range(env.generator.size("val"))
                 if "GorillaFileSystem" in env.task_at(i).meta["entry"]["involved_classes"])
    env.reset(options={"task_index": index})
    return env


# --------------------------------------------------------------------------
# Package, registration, tasks
# --------------------------------------------------------------------------
def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bfcl_eval" else real(name, *a))
    with pytest.raises(BFCLUnavailableError, match=f"pip install --no-deps bfcl-eval=={BFCL_VERSION}"):
        make()


@needs_bfcl
def test_registered_in_tools_suite_with_every_val_task() -> None:
    from agentgym.envs.tools.bfcl.tasks import BFCLTasks

    entries = [e for e in get_suite("tools-v0") if e.env_id == "agentgym/BFCL-v0"]
    assert [e.kwargs["category"] for e in entries] == list(CATEGORIES)
    for e in entries:
        assert e.split == "val" and e.n_tasks == BFCLTasks(0, e.kwargs["category"]).size("val")


@needs_bfcl
def test_splits_are_disjoint_by_scenario_and_two_entries_are_left_out() -> None:
    from agentgym.envs.tools.bfcl.tasks import excluded, scenario_key, split_entries

    for category in CATEGORIES:
        seen = [{scenario_key(e["id"]) for e in split_entries(category, s)} for s in SPLITS]
        assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
        assert sum(map(len, seen)) + len(excluded(category)) == 200
    # The same scenario is in the same split in every category (no train/val leak across categories).
    assert len({frozenset(scenario_key(e["id"]) for e in split_entries(c, "val")) for c in CATEGORIES}) == 1
    assert set(excluded("multi_turn_miss_func")) == {"multi_turn_miss_func_49", "multi_turn_miss_func_173"}
    assert all(set(excluded(c)) == {f"{c}_173"} for c in CATEGORIES if c != "multi_turn_miss_func")


@needs_bfcl
def test_added_functions_prompt_is_bfcls() -> None:
    from bfcl_eval.constants.default_prompts import DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC

    assert ADDED_FUNCTIONS_PROMPT == DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC


@needs_bfcl
@pytest.mark.parametrize("category", ["multi_turn_base", "multi_turn_miss_func"])
def test_conforms(category: str) -> None:
    check_agent_env("BFCL-v0", category=category, split="val")


@needs_bfcl
def test_tools_are_the_tasks_bfcl_docs_as_json_schema() -> None:
    env = make()
    obs, info = env.reset(options={"task_index": 0})
    names = [t["function"]["name"] for t in info["tools"]]
    assert names[-1] == "respond" and set(names[:-1]) == set(env.visible)
    for schema in info["tools"]:
        params = schema["function"]["parameters"]
        assert params["type"] == "object" and set(params["required"]) <= set(params["properties"])
        assert all(p.get("type") != "dict" and p.get("type") != "float" for p in params["properties"].values())
    assert obs.startswith("User: ") and env.task.answer.startswith("turn 1: ")


# --------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------
def _oracle_sweep(category: str, split: str) -> None:
    env = make(category, split)
    for i in range(env.generator.size(split)):
        metrics = run_scripted_episode(env, seed=i, options={"task_index": i})[-1]
        assert metrics["success"] == 1.0 and metrics["return"] == pytest.approx(1.0), (env.task.id, env.why)
        assert metrics["invalid_actions"] == 0 and metrics["turns_checked"] >= 1


@needs_bfcl
@pytest.mark.parametrize("category", CATEGORIES)
def test_oracle_scores_one_on_every_val_task(category: str) -> None:
    _oracle_sweep(category, "val")


@needs_bfcl
@pytest.mark.slow
@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_oracle_scores_one_on_every_task(category: str, split: str) -> None:
    _oracle_sweep(category, split)


@needs_bfcl
def test_respond_only_fails_with_named_parts() -> None:
    env = make()
    transcript = run_scripted_episode(env, seed=0, name="respond_only", options={"task_index": 0})
    metrics = transcript[-1]
    assert metrics["success"] == 0.0 and metrics["response_match"] == 0.0 and metrics["tool_calls"] == 0
    assert "empty_turn_model_response" in env.why


@needs_bfcl
def test_reward_is_composed_and_the_trainers_weights_work_on_its_parts() -> None:
    """Issue 17: env.reward is REWARD with the env's reward_weights (Reward.with_weights);
    TrainConfig.reward_weights (reweight_rewards) reweights the reported parts."""
    from agentgym.credit import reweight_rewards
    from agentgym.envs.tools.bfcl.reward import REWARD
    from agentgym.errors import ConfigError
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import collect

    assert REWARD.names == ["state", "response"] and make().reward.weights == {"state": 0.5, "response": 0.5}
    env = make(reward_weights={"state": 0.7, "response": 0.3})
    assert env.reward.weights == {"state": 0.7, "response": 0.3}
    with pytest.raises(ConfigError, match="summing to 1"):
        make(reward_weights={"state": 0.7})
    oracle = collect(env, ScriptedPolicy("oracle"), tasks=2, split="val")
    assert [t.turns[-1].reward_parts for t in oracle] == [{"state": 0.7, "response": 0.3}] * 2
    assert [t.episode_return for t in reweight_rewards(oracle, {"response": 0.0})] == pytest.approx([0.7, 0.7])
    failed = collect(env, ScriptedPolicy("respond_only"), tasks=2, split="val")
    assert all(set(t.turns[-1].reward_parts) == {"state", "response"} for t in failed)
    assert [t.episode_return for t in reweight_rewards(failed, {"state": 2.0})] == pytest.approx(
        [2.0 * t.turns[-1].reward_parts["state"] for t in failed])


# --------------------------------------------------------------------------
# Agreement with BFCL's multi_turn_checker
# --------------------------------------------------------------------------
def _agreement(category: str, split: str) -> tuple[int, int, Counter[str]]:
    from agentgym.envs.tools.bfcl.reference import (
        KINDS,
        bfcl_verdict,
        gold_trajectory,
        perturb,
        play,
    )

    env = make(category, split)
    n = agree = 0
    failed: Counter[str] = Counter()
    for i in range(env.generator.size(split)):
        entry = env.task_at(i).meta["entry"]
        for kind, trajectory in [("gold", gold_trajectory(entry)), *((k, perturb(entry, k)) for k in KINDS)]:
            if trajectory is None:
                continue
            ours, ran, valid = play(env, i, trajectory)
            assert all(valid) and ran == trajectory, (entry["id"], kind)  # BFCL sees exactly what ran
            theirs = bfcl_verdict(entry, ran)
            n += 1
            agree += ours == theirs["valid"]
            if kind == "gold":
                assert ours and theirs["valid"], (entry["id"], env.why, theirs)
            elif not theirs["valid"]:
                failed[kind] += 1
                assert theirs["error_type"] in env.why, (entry["id"], kind, env.why, theirs["error_type"])
    return n, agree, failed


@needs_bfcl
@pytest.mark.parametrize("category", CATEGORIES)
def test_grader_agrees_with_bfcl_checker_on_val(category: str, capsys: pytest.CaptureFixture[str]) -> None:
    n, agree, failed = _agreement(category, "val")
    with capsys.disabled():
        print(f"\nBFCL agreement {category}/val: {agree}/{n} = {agree / n:.1%}; "
              f"perturbed failing: {dict(failed)}")
    assert agree == n
    # The perturbations are real near misses: most are graded down (some change nothing
    # that BFCL checks, e.g. ls(a=False) where there are no hidden files).
    assert sum(failed.values()) >= 0.8 * (n - 16) and set(failed) == {"wrong_argument", "missing_call", "extra_call"}


@needs_bfcl
@pytest.mark.slow
@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_grader_agrees_with_bfcl_checker_everywhere(category: str, split: str) -> None:
    n, agree, _ = _agreement(category, split)
    assert agree == n


# --------------------------------------------------------------------------
# Bad input: an error observation, action_valid=False, the back-ends untouched
# --------------------------------------------------------------------------
BAD_ACTIONS: dict[str, str] = {
    "malformed JSON": '<tool_call>{"name": "cd", "arguments": {"folder": </tool_call>',
    "unknown tool": C("format_disk", drive="C"),
    "wrong type": C("cd", folder=["document"]),
    "object for a string": C("mv", source="final_report.pdf", destination={"dir": "temp"}),
    "missing argument": C("mv", source="final_report.pdf"),
    "extra argument": C("cd", folder="document", force=True),
    "NaN": '<tool_call>{"name": "mkdir", "arguments": {"dir_name": NaN}}</tool_call>',
    "1 MB string": C("echo", content="x" * 1_000_000, file_name="big.txt"),
    "100 calls in one turn": "".join(C("mkdir", dir_name=f"d{i}") for i in range(100)),
    "good call then a bad one": C("mkdir", dir_name="temp") + C("cd", folder=None),
    "respond before a call": C("respond", message="done") + C("mkdir", dir_name="temp"),
    "empty reply": C("respond", message="  "),
    "path escape": C("cd", folder="../../etc") + C("touch", file_name="x", oops=1),
}


@needs_bfcl
@pytest.mark.parametrize("case", list(BAD_ACTIONS))
def test_bad_input_changes_nothing(case: str) -> None:
    env = start_fs()
    before, results, anchor = env.backend_digest(), list(env.results), env.state_key()
    obs, reward, terminated, truncated, info = env.step(BAD_ACTIONS[case])
    assert obs.startswith("Error") and info["action_valid"] is False, (case, obs[:200])
    assert reward == -env.invalid_action_penalty and not terminated
    assert env.backend_digest() == before and env.results == results and env.state_key() == anchor
    assert len(obs) < 2000


@needs_bfcl
def test_numbers_are_bounded() -> None:
    from agentgym.envs.tools.bfcl.schema import MAX_PRECISION, _check
    from agentgym.errors import ArgumentError

    with pytest.raises(ArgumentError, match="finite"):
        _check(math.inf, {"type": "float"}, "x")
    with pytest.raises(ArgumentError, match="between"):
        _check(10**30, {"type": "integer"}, "n")
    with pytest.raises(ArgumentError, match="between"):  # MathAPI sets mpmath's global precision from it
        _check(MAX_PRECISION + 1, {"type": "integer"}, "precision")
    assert _check("3", {"type": "integer"}, "n") == 3 and _check(2.0, {"type": "integer"}, "n") == 2


@needs_bfcl
def test_backend_errors_are_results_as_in_bfcl() -> None:
    env = start_fs()
    obs, _, _, _, info = env.step(C("cd", folder="no_such_dir"))
    assert info["action_valid"] and obs.startswith("cd: {") and "error" in obs
    assert env.results == [obs.split(": ", 1)[1]]


# --------------------------------------------------------------------------
# Held-out functions (miss_func) and the turn structure
# --------------------------------------------------------------------------
@needs_bfcl
def test_held_out_function_arrives_with_its_schema() -> None:
    env = make("multi_turn_miss_func")
    env.reset(options={"task_index": 0})
    (turn, names), = env.held_out.items()
    name = names[0]
    before = env.backend_digest()
    obs, *_, info = env.step(C(name))
    assert info["action_valid"] is False and f"Unknown tool {name!r}" in obs and env.backend_digest() == before
    while env.user_turn < turn:
        obs, *_ = env.step(env.scripted_action())
    assert ADDED_FUNCTIONS_PROMPT in obs and f'"name": "{name}"' in obs and name in env.visible


@needs_bfcl
def test_respond_ends_the_user_turn_and_the_last_one_grades() -> None:
    env = make()
    env.reset(options={"task_index": 0})
    turns = len(env.entry["question"])
    for t in range(turns):
        while True:
            action = env.scripted_action()
            obs, reward, terminated, _, info = env.step(action)
            if action.startswith('<tool_call>{"name": "respond"'):
                break
            assert reward == 0.0
        if t < turns - 1:
            assert obs.startswith("User: ") and env.user_turn == t + 1 and not terminated
    assert terminated and info["reward_parts"] == {"state": 0.5, "response": 0.5}
    assert info["metrics"]["success"] == 1.0 and info["metrics"]["user_turns"] == turns


@needs_bfcl
def test_step_limit_per_user_turn_is_bfcls_forced_quit() -> None:
    env = start_fs(max_steps_per_turn=2)
    for _ in range(3):
        *_, terminated, truncated, info = env.step(C("pwd"))
    assert terminated and info["metrics"]["success"] == 0.0 and info["metrics"]["forced_quit"] == 1.0


@needs_bfcl
def test_anchor_is_the_state_not_the_history() -> None:
    a, b = start_fs(), start_fs()
    a.step(C("pwd"))
    a.step(C("pwd"))
    b.step(C("pwd"))
    assert a.state_key() == b.state_key()  # a repeated read learns nothing new
    b.step(C("touch", file_name="new.txt"))
    assert a.state_key() != b.state_key()


@needs_bfcl
def test_paths_and_injection_strings_stay_inside_bfcls_in_memory_back_end(tmp_path: Any) -> None:
    """``..`` is a legitimate BFCL move (gold trajectories ``cd('..')``), so it is not refused:
    BFCL's file system is an in-memory tree, and its own answers stand (as under BFCL)."""
    import ast

    from agentgym.envs.tools.bfcl.reference import call_string

    marker = tmp_path / "pwned"
    injection = f"'); __import__('os').system('touch {marker}') #"
    env = start_fs()
    before = env.backend_digest()
    for action in (C("cd", folder="../../../etc"), C("cat", file_name="/etc/passwd"),
                   C("grep", file_name=injection, pattern=injection)):
        obs, _, _, _, info = env.step(action)
        assert info["action_valid"] and '{"error": ' in obs, obs[:200]
    assert env.backend_digest() == before and not marker.exists()
    # What BFCL's checker is given evaluates to the same string, never to code.
    text = call_string("grep", {"file_name": injection, "pattern": injection})
    assert ast.literal_eval(ast.parse(text, mode="eval").body.keywords[0].value) == injection
