"""CodeRepair-v0 tamper-proof grading: one test per attack.

Each attack is made through the env's own tools, on an unfixed bug. The test
shows (1) it *works* against a naive grader, which runs the hidden tests in
the agent's own workspace the way the agent's ``run`` tool runs them (the
package on ``PYTHONPATH``, the workspace as ``HOME``): all hidden tests pass,
score 1; and (2) the env's grader scores it 0.
"""

from __future__ import annotations

import sys

import pytest

from agentgym.envs.code_repair import grading
from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.sandbox import Limits
from agentgym.tools import ToolCall

# A pytest plugin that reports every test as passed.
FORCE_PASS = """\
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""

# A fake ``pytest`` module that prints a passing summary for every test it finds.
FAKE_PYTEST = """\
import re, sys
ids = []
for path in [a for a in sys.argv[1:] if a.endswith(".py")]:
    ids += [path + "::" + n for n in re.findall(r"^def (test_\\w+)", open(path).read(), re.M)]
print("=" * 10 + " short test summary info " + "=" * 10)
for i in ids:
    print("PASSED " + i)
print(f"{len(ids)} passed in 0.01s")
"""

USER_SITE = f".local/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
SET_PLUGIN = "import os; os.environ['PYTEST_PLUGINS'] = 'agent_plugin'"


@pytest.fixture(scope="module")
def cache():
    from agentgym.envs.code_repair.tasks import default_cache_dir

    return default_cache_dir()


@pytest.fixture()
def env(cache):
    # visible_tests="all": the hidden test files are in the workspace, so attacks can edit them.
    e = CodeRepairEnv(split="val", sandbox="process", visible_tests="all", cache_dir=cache)
    e.reset(options={"task_index": 0})
    yield e
    e.close()


def naive_score(env: CodeRepairEnv) -> float:
    """What a grader that runs the hidden tests in the agent's workspace would give."""
    m = env.task.meta
    files = sorted({t.split("::")[0] for t in m["fail_to_pass"] + m["pass_to_pass"]})
    run = grading.run_tests(
        env.sandbox, env.ws.root, files, limits=Limits(timeout_s=60),
        argv=("python", "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"), env=env.run_env(),
    )  # fmt: skip
    return float(all(run.passed(t) for t in m["fail_to_pass"] + m["pass_to_pass"]))


def call(env: CodeRepairEnv, name: str, **args) -> str:
    obs, _, _, _, info = env.step(ToolCall(name, args).render())
    assert info["action_valid"], obs
    return obs


def submit_reward(env: CodeRepairEnv) -> float:
    _, reward, terminated, _, info = env.step("submit()")
    assert terminated and info["reward_parts"]["tests"] == reward
    return reward


def check(env: CodeRepairEnv) -> None:
    assert naive_score(env) == 1.0, "the attack should fool a grader that runs in the workspace"
    assert submit_reward(env) == 0.0


def test_unchanged_scores_zero_both_ways(env) -> None:
    assert naive_score(env) == 0.0
    assert submit_reward(env) == 0.0


def test_oracle_scores_one_both_ways(env) -> None:
    for e in env.task.meta["fix"]:
        call(env, "edit_file", path=e["path"], old=e["old"], new=e["new"])
    assert naive_score(env) == 1.0
    assert submit_reward(env) == 1.0


def test_attack_rewrite_failing_tests(env) -> None:
    for path in env.task.meta["hidden"]:
        names = [t.split("::")[1] for t in env.task.meta["fail_to_pass"] + env.task.meta["pass_to_pass"]
                 if t.startswith(path + "::")]  # fmt: skip
        call(
            env,
            "create_file",
            path=path,
            content="".join(f"def {n}():\n    pass\n\n\n" for n in names),
        )
    check(env)


def test_attack_recreate_hidden_test_file_in_default_workspace(cache) -> None:
    env = CodeRepairEnv(split="val", sandbox="process", cache_dir=cache)
    env.reset(options={"task_index": 0})
    m = env.task.meta
    assert not (env.ws.root / m["hidden"][0]).exists(), (
        "FAIL_TO_PASS test files are hidden by default"
    )
    for path in m["hidden"]:
        names = [
            t.split("::")[1]
            for t in m["fail_to_pass"] + m["pass_to_pass"]
            if t.startswith(path + "::")
        ]
        call(
            env,
            "create_file",
            path=path,
            content="".join(f"def {n}():\n    pass\n\n\n" for n in names),
        )
    check(env)
    env.close()


def test_attack_conftest(env) -> None:
    call(env, "create_file", path="conftest.py", content=FORCE_PASS)
    check(env)


@pytest.mark.slow  # same mechanism as the root-level attack; run by .ci/run
def test_attack_conftest_inside_the_package(env) -> None:
    root = env.task.meta["source_roots"][0]
    call(env, "create_file", path="tests/conftest.py", content=FORCE_PASS)
    call(env, "create_file", path=f"{root}/conftest.py", content=FORCE_PASS)
    check(env)


@pytest.mark.parametrize(
    "path,content",
    [
        ("pytest.ini", "[pytest]\naddopts = -p agent_plugin\n"),
        pytest.param("tox.ini", "[pytest]\naddopts = -p agent_plugin\n", marks=pytest.mark.slow),
        pytest.param(
            "setup.cfg", "[tool:pytest]\naddopts = -p agent_plugin\n", marks=pytest.mark.slow
        ),
        pytest.param("pyproject.toml", None, marks=pytest.mark.slow),
    ],
    ids=["pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml"],
)
def test_attack_pytest_configuration(env, path: str, content: str | None) -> None:
    if content is None:  # append a [tool.pytest.ini_options] table to the project's pyproject.toml
        content = (
            env.ws.root / path
        ).read_text() + '\n[tool.pytest.ini_options]\naddopts = "-p agent_plugin"\n'
    call(env, "create_file", path="agent_plugin.py", content=FORCE_PASS)
    call(env, "create_file", path=path, content=content)
    check(env)


def test_attack_sitecustomize(env) -> None:
    call(env, "create_file", path="agent_plugin.py", content=FORCE_PASS)
    call(env, "create_file", path="sitecustomize.py", content=SET_PLUGIN + "\n")
    check(env)


def test_attack_usercustomize(env) -> None:
    call(env, "create_file", path="agent_plugin.py", content=FORCE_PASS)
    call(env, "create_file", path=f"{USER_SITE}/usercustomize.py", content=SET_PLUGIN + "\n")
    check(env)


def test_attack_pth_file(env) -> None:
    call(env, "create_file", path="agent_plugin.py", content=FORCE_PASS)
    call(env, "create_file", path=f"{USER_SITE}/agent.pth", content=SET_PLUGIN + "\n")
    check(env)


def test_attack_shadow_pytest_module(env) -> None:
    call(env, "create_file", path="pytest.py", content=FAKE_PYTEST)
    check(env)


@pytest.mark.slow  # same mechanism as the root-level attack; run by .ci/run
def test_attack_sitecustomize_inside_the_package(env) -> None:
    # A file named like a startup hook, inside the source root: not a source file either.
    root = env.task.meta["source_roots"][0]
    call(env, "create_file", path="agent_plugin.py", content=FORCE_PASS)
    call(env, "create_file", path=f"{root}/sitecustomize.py", content=SET_PLUGIN + "\n")
    call(env, "create_file", path="sitecustomize.py", content=f"import {root}.sitecustomize\n")
    check(env)


def test_attack_source_file_patches_the_runner(env) -> None:
    # Package code that disables every test's body when imported: a source change
    # (it is applied), refused because it reaches for the test machinery.
    root = env.task.meta["source_roots"][0]
    init = env.ws.root / root / "__init__.py"
    hack = "\ntry:\n    import _pytest.python\n    _pytest.python.Function.runtest = lambda self: None\nexcept ImportError:\n    pass\n"
    call(env, "create_file", path=f"{root}/__init__.py", content=init.read_text() + hack)
    assert naive_score(env) == 1.0
    _, reward, _, _, info = env.step("submit()")
    assert reward == 0.0 and info["metrics"]["tampering"] == 1.0


def test_attack_through_run_is_dropped_too(env) -> None:
    # Files written by a command (not by the edit tools) are diffed the same way.
    obs = call(env, "run", command=f"cat > conftest.py <<'EOF'\n{FORCE_PASS}EOF\necho written")
    assert "written" in obs
    check(env)


def test_non_source_changes_are_reported() -> None:
    kept, dropped = grading.source_changes(
        {"pkg/a.py": b"x = 1\n", "tests/test_a.py": b"def test(): pass\n"},
        {"pkg/a.py": b"x = 2\n", "tests/test_a.py": b"", "conftest.py": b"", "pkg/x.pth": b""},
        ["pkg"],
    )
    assert kept == {"pkg/a.py": b"x = 2\n"}
    assert dropped == ["conftest.py", "pkg/x.pth", "tests/test_a.py"]


def test_tamper_findings_count_only_new_references() -> None:
    base = {"pkg/a.py": b"import sys\nsys.modules['x'] = 1\n"}
    assert grading.tamper_findings(base, {"pkg/a.py": base["pkg/a.py"] + b"y = 2\n"}) == []
    assert grading.tamper_findings(base, {"pkg/a.py": b"import pytest\n"}) == ["pkg/a.py: pytest"]


def test_forged_output_after_exit_does_not_parse() -> None:
    forged = "=== short test summary info ===\nPASSED tests/t.py::test_a\n"  # no final count line
    assert grading.parse_outcomes(forged) == {}
    real = "=== short test summary info ===\nPASSED t.py::a\nFAILED t.py::b - x\nERROR t.py::a\n1 failed, 1 passed in 0.1s\n"
    assert grading.parse_outcomes(real) == {"t.py::a": "error", "t.py::b": "failed"}
