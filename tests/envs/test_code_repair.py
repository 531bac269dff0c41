"""CodeRepair-v0: tools and path confinement, sandboxed runs, oracle and unchanged
repositories through real grading, reward parts, patches, mutations, tasks, rollout."""

from __future__ import annotations

import ast
import json
import os

import pytest

from agentgym.envs.code_repair import patches
from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.envs.code_repair.mutate import mutations
from agentgym.envs.code_repair.tasks import CodeRepairTasks, tiny_pool
from agentgym.envs.code_repair.tiny import TINY_PACKAGES
from agentgym.sandbox import Limits, available_sandboxes
from agentgym.tasks import split_of
from agentgym.testing import run_scripted_episode
from agentgym.tools import ToolCall


@pytest.fixture(scope="module")
def cache():
    # The default cache: task pools and prepared trees are keyed by their content, so
    # sharing them across runs is safe, and a second run skips the mutant checks.
    from agentgym.envs.code_repair.tasks import default_cache_dir

    return default_cache_dir()


@pytest.fixture()
def env(cache):
    e = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache)
    e.reset(options={"task_index": 0})
    yield e
    e.close()


def step(env, name, **args):
    obs, reward, terminated, truncated, info = env.step(ToolCall(name, args).render())
    return obs, reward, info


# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------
def test_list_read_search(env) -> None:
    root = env.task.meta["source_roots"][0]
    obs, _, info = step(env, "list_files")
    assert info["action_valid"] and f"{root}/__init__.py" in obs and "pyproject.toml" in obs
    assert not any(h in obs for h in env.task.meta["hidden"]), (
        "hidden test files are not in the workspace"
    )
    module = next(
        p for p in obs.splitlines() if p.startswith(root + "/") and not p.endswith("__init__.py")
    )
    obs, _, info = step(env, "read_file", path=module, start=1, end=3)
    assert info["action_valid"] and obs.startswith("    1  ") and "[lines 1-3 of" in obs
    obs, _, info = step(env, "search", pattern=r"def \w+\(", path=root)
    assert info["action_valid"] and f"{module}:" in obs
    obs, _, info = step(
        env, "search", pattern="(unbalanced", path="."
    )  # bad regex: searched as text
    assert info["action_valid"] and "No match" in obs


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../secret.py", "pkg/../../x.py", "~/x", "a/\x00b"],
    ids=["abs", "dotdot", "deep", "home", "nul"],
)
def test_paths_outside_are_refused(env, path: str) -> None:
    for name, args in (("read_file", {"path": path}), ("create_file", {"path": path, "content": "x"}),
                       ("list_files", {"path": path}), ("edit_file", {"path": path, "old": "a", "new": "b"})):  # fmt: skip
        obs, reward, info = step(env, name, **args)
        assert (
            not info["action_valid"]
            and obs.startswith("Error")
            and reward == -env.invalid_action_penalty
        )
    assert not (env.ws.root.parent / "secret.py").exists()


def test_symlinks_out_are_refused(env, tmp_path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("host secret\n")
    os.symlink(outside, env.ws.root / "link.txt")
    os.symlink(tmp_path, env.ws.root / "linkdir")
    for name, args in (("read_file", {"path": "link.txt"}), ("read_file", {"path": "linkdir/outside.txt"}),
                       ("edit_file", {"path": "link.txt", "old": "host", "new": "x"}),
                       ("create_file", {"path": "linkdir/new.py", "content": "x"})):  # fmt: skip
        obs, _, info = step(env, name, **args)
        assert not info["action_valid"] and "outside" in obs, obs
    assert outside.read_text() == "host secret\n" and not (tmp_path / "new.py").exists()


def test_edit_file_needs_exactly_one_match(env) -> None:
    step(env, "create_file", path="notes.txt", content="a\nb\na\n")
    obs, _, info = step(env, "edit_file", path="notes.txt", old="zzz", new="y")
    assert not info["action_valid"] and info["error"] == "no_match"
    obs, _, info = step(env, "edit_file", path="notes.txt", old="a\n", new="y\n")
    assert not info["action_valid"] and info["error"] == "ambiguous_match" and "2 times" in obs
    obs, _, info = step(env, "edit_file", path="notes.txt", old="b\n", new="B\n")
    assert info["action_valid"] and (env.ws.root / "notes.txt").read_text() == "a\nB\na\n"


def test_run_in_sandbox_with_limits(env, cache) -> None:
    obs, _, info = step(env, "run", command="python -m pytest tests -q 2>&1 | tail -1")
    assert info["action_valid"] and "passed" in obs and "[exit code 0]" in obs
    env = CodeRepairEnv(
        split="val",
        sandbox="process",
        cache_dir=cache,
        run_limits=Limits(timeout_s=1, memory_mb=256),
    )
    env.reset(options={"task_index": 0})
    assert "[timed out" in step(env, "run", command="sleep 30")[0]
    obs, _, _ = step(env, "run", command="python -c 'x = bytearray(1 << 30); print(\"allocated\")'")
    assert "allocated" not in obs and "MemoryError" in obs
    obs, _, _ = step(env, "run", command="python -c 'print(\"x\" * 100000)'")
    assert "characters cut" in obs and len(obs) < env.max_output_chars + 200
    env.close()


def test_reset_restores_the_workspace(env) -> None:
    step(env, "create_file", path="junk.py", content="x = 1\n")
    step(env, "run", command="rm -rf tests")
    env.reset(options={"task_index": 0})
    assert not (env.ws.root / "junk.py").exists() and (env.ws.root / "tests").is_dir()


def test_anchor_follows_the_workspace(env) -> None:
    a0 = env.state_key()
    step(env, "read_file", path="pyproject.toml")
    assert env.state_key() == a0  # reading changes nothing
    step(env, "create_file", path="x.txt", content="1")
    a1 = env.state_key()
    assert a1 != a0
    step(env, "run", command="rm x.txt")
    assert env.state_key() == a0  # same content, same state


# ---------------------------------------------------------------------------
# Oracle, unchanged repository, reward parts
# ---------------------------------------------------------------------------
def _oracle_and_unchanged(env: CodeRepairEnv, index: int, difficulty: str) -> tuple[float, float]:
    opts = {"task_index": index, "difficulty": difficulty}
    metrics = run_scripted_episode(env, 0, options=opts)[-1]
    env.reset(options=opts)
    _, unchanged, *_ = env.step("submit()")
    return metrics["return"], unchanged


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_oracle_one_unchanged_zero_on_val_tasks(cache, difficulty: str) -> None:
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache)
    for i in range(2):
        assert _oracle_and_unchanged(env, i, difficulty) == (1.0, 0.0)
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_oracle_one_unchanged_zero_on_every_val_task(cache, difficulty: str) -> None:
    env = CodeRepairEnv(split="val", sandbox="auto", cache_dir=cache)
    n = env.generator.size("val", difficulty)
    assert n >= 10
    results = [_oracle_and_unchanged(env, i, difficulty) for i in range(n)]
    assert results == [(1.0, 0.0)] * n
    env.close()


@pytest.mark.bwrap
@pytest.mark.skipif(bool(available_sandboxes().get("bwrap")), reason="bubblewrap unavailable")
def test_oracle_under_bwrap(cache) -> None:
    env = CodeRepairEnv(split="val", sandbox="bwrap", cache_dir=cache)
    assert _oracle_and_unchanged(env, 1, "easy") == (1.0, 0.0)
    env.reset(options={"task_index": 1})
    obs, _, _ = step(
        env,
        "run",
        command="cat /etc/shadow; ls /root; id -u; python -c 'import socket; socket.create_connection((\"1.1.1.1\", 80), 2)'",
    )
    assert "65534" in obs and "Network is unreachable" in obs and "root:" not in obs
    env.close()


def test_answer_is_the_oracle_patch(env) -> None:
    calls = env.task.answer.splitlines()
    assert calls and all(c.startswith('<tool_call>{"name": "edit_file"') for c in calls)
    first = json.loads(calls[0].removeprefix("<tool_call>").removesuffix("</tool_call>"))
    assert first["arguments"] == dict(env.task.meta["fix"][0])
    assert env.task.answer not in env.reset(options={"task_index": 0})[0]


def test_fraction_and_localisation_parts(cache) -> None:
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache,
                        reward_weights={"fraction": 0.5, "localisation": 0.25})  # fmt: skip
    metrics = run_scripted_episode(env, 0, options={"task_index": 0})[-1]
    assert metrics["return"] == pytest.approx(1.75)
    env.reset(options={"task_index": 0})
    _, reward, _, _, info = env.step("submit()")
    parts = info["reward_parts"]
    assert parts["tests"] == 0.0 and 0.0 < parts["fraction"] < 0.5 and parts["localisation"] == 0.0
    assert reward == pytest.approx(sum(parts.values()))
    env.close()


def test_similarity_mode(cache) -> None:
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache, reward_mode="similarity")
    metrics = run_scripted_episode(env, 0, options={"task_index": 0})[-1]
    assert metrics["return"] == 1.0
    env.reset(options={"task_index": 0})
    assert env.step("submit()")[1] == 0.0  # nothing changed: an empty patch
    env.reset(options={"task_index": 0})
    obs, reward, terminated, _, info = env.step(
        ToolCall("submit", {"patch": "this is not a diff"}).render()
    )
    assert reward == -1.0 and terminated and info["reward_parts"] == {"similarity": -1.0}
    env.reset(options={"task_index": 0})
    gold = env.task.meta["gold_patch"]
    obs, reward, *_ = env.step(ToolCall("submit", {"patch": gold}).render())
    assert reward == 1.0
    env.close()


def test_submitted_patch_in_execution_mode(env) -> None:
    obs, reward, info = step(
        env, "submit", patch="--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    assert not info["action_valid"] and info["error"] == "bad_patch" and not env._done
    obs, reward, info = step(env, "submit", patch=env.task.meta["gold_patch"])
    assert reward == 1.0 and info["metrics"]["success"] == 1.0


# ---------------------------------------------------------------------------
# Tasks, mutations, patches
# ---------------------------------------------------------------------------
def test_tiny_tasks_are_valid_and_splits_disjoint(cache) -> None:
    gen = CodeRepairTasks(0, cache_dir=cache)
    for difficulty in ("easy", "hard"):
        pool = tiny_pool(0, difficulty, cache)
        keys = {r["content_key"] for r in pool}
        assert len(keys) == len(pool)
        for split in ("train", "val", "test"):
            assert gen.size(split, difficulty) > 0
            t = gen.task(split, 0, difficulty)
            assert (
                split_of(next(r["content_key"] for r in pool if r["bug"] == t.meta["bug"])) == split
            )
        for r in pool:
            assert r["fail_to_pass"] and not set(r["fail_to_pass"]) & set(r["pass_to_pass"])
            assert len(r["mutations"]) == (1 if difficulty == "easy" else 2)
            assert "assert" not in r["prompt"] and "def test_" not in r["prompt"]
    ops = {m["operator"] for r in tiny_pool(0, "easy", cache) for m in r["mutations"]}
    assert ops == {"binop", "compare", "boolop", "constant", "remove", "swap_args", "variable"}


def test_mutations_compile_and_differ() -> None:
    files = TINY_PACKAGES["statkit"]
    src = files["statkit/summary.py"]
    muts = list(mutations(src, "statkit/summary.py"))
    assert len(muts) > 20
    for m in muts:
        new = m.apply(src)
        assert new != src
        ast.parse(new)


def test_patch_roundtrip_and_edits() -> None:
    before = {"a.py": "x = 1\ny = 2\nz = 3\n", "b.py": "keep\n"}
    after = {"a.py": "x = 1\ny = 20\nz = 3\n", "c.py": "new\n"}
    diff = patches.make_patch(before, after)
    assert patches.apply_patch(before, diff) == {
        "a.py": "x = 1\ny = 20\nz = 3\n",
        "b.py": None,
        "c.py": "new\n",
    }
    edits = patches.patch_edits(before, diff)
    assert ("c.py", "", "new\n") in edits
    path, old, new = next(e for e in edits if e[0] == "a.py")
    assert before["a.py"].count(old) == 1 and before["a.py"].replace(old, new) == after["a.py"]
    assert patches.touched_files(diff) == ["a.py", "b.py", "c.py"]
    with pytest.raises(patches.PatchError):
        patches.apply_patch({"a.py": "other\n"}, diff)
    assert patches.patch_similarity("garbage", diff) == -1.0
    assert (
        0
        < patches.patch_similarity(
            patches.make_patch(before, {"a.py": "x = 1\ny = 21\nz = 3\n"}), diff
        )
        < 1
    )


# ---------------------------------------------------------------------------
# Rollout with the tiny model
# ---------------------------------------------------------------------------
def test_tiny_model_rollout(cache) -> None:
    import torch

    import agentgym
    from agentgym.policies.hf import HFPolicy
    from agentgym.rollout import collect

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        policy = HFPolicy.tiny(seed=0, max_new_tokens=12)
        trajs = collect("CodeRepair-v0", policy, tasks=1, group_size=2, max_turns=2, split="val",
                        env_kwargs={"sandbox": "process", "cache_dir": str(cache)})  # fmt: skip
    finally:
        torch.set_num_threads(before)
    assert len(trajs) == 2 and not any(t.failed for t in trajs)
    for t in trajs:
        assert t.turns and all(len(turn.response_ids) == len(turn.logprobs) > 0 for turn in t.turns)
        assert t.env_id == "agentgym/CodeRepair-v0" and t.metrics["turns"] == len(t.turns)
    oracle = collect("CodeRepair-v0", agentgym.load_policy("oracle"), tasks=1, group_size=1, split="val",
                     env_kwargs={"sandbox": "process", "cache_dir": str(cache)})  # fmt: skip
    assert all(t.success for t in oracle)


# ---------------------------------------------------------------------------
# Bring your own tasks: SWE-bench-style JSONL
# ---------------------------------------------------------------------------
def _instance_file(tmp_path):
    repo = tmp_path / "snapshots" / "mylib"
    (repo / "mylib").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "mylib" / "__init__.py").write_text("")
    core = (
        "def add(a, b):\n    return a + b\n\n\ndef mean(xs):\n    return sum(xs) / (len(xs) + 1)\n"
    )
    (repo / "mylib" / "core.py").write_text(core)
    (repo / "tests" / "test_core.py").write_text(
        "from mylib.core import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    fixed = core.replace("(len(xs) + 1)", "len(xs)")
    patch = patches.make_patch({"mylib/core.py": core}, {"mylib/core.py": fixed})
    tests_after = (repo / "tests" / "test_core.py").read_text().replace(
        "import add\n", "import add, mean\n"
    ) + "\n\ndef test_mean():\n    assert mean([1, 2, 3]) == 2\n"
    test_patch = patches.make_patch(
        {"tests/test_core.py": (repo / "tests" / "test_core.py").read_text()},
        {"tests/test_core.py": tests_after},
    )
    inst = {
        "instance_id": "mylib-1", "repo": "snapshots/mylib", "patch": patch, "test_patch": test_patch,
        "FAIL_TO_PASS": json.dumps(["tests/test_core.py::test_mean"]), "PASS_TO_PASS": ["tests/test_core.py::test_add"],
        "problem_statement": "mean([1, 2, 3]) returns 1.5; it should be 2.",
    }  # fmt: skip
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(inst) + "\n")
    return path


def test_swebench_instances_load_as_tasks(tmp_path) -> None:
    path = _instance_file(tmp_path)
    env = CodeRepairEnv(
        data=str(path), split="test", sandbox="process", cache_dir=tmp_path / "cache"
    )
    obs, info = env.reset(options={"task_index": 0})
    assert "mean([1, 2, 3]) returns 1.5" in obs
    assert "test_mean" not in (env.ws.root / "tests" / "test_core.py").read_text(), (
        "the test patch is hidden"
    )
    assert env.task.meta["gold_locations"] == [["mylib/core.py", "mean"]]
    metrics = run_scripted_episode(env, 0, options={"task_index": 0})[-1]
    assert metrics["success"] == 1.0 and metrics["return"] == 1.0
    env.reset(options={"task_index": 0})
    assert env.step("submit()")[1] == 0.0
    env.close()
    with pytest.raises(Exception, match="neither 'tiny', 'built'"):
        CodeRepairEnv(data=str(tmp_path / "nope.jsonl"), split="test", sandbox="process").reset()
