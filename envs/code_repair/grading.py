"""Tamper-proof grading: the agent's source changes, a pristine checkout, pristine hidden tests, a fresh sandbox.

:func:`grade` never runs anything in the agent's workspace. It

1. diffs the workspace against the task's base state and keeps **only source
   files** (:func:`is_source_file`: ``.py`` files under the project's source
   roots that are not tests, ``conftest.py``, ``sitecustomize.py``,
   ``usercustomize.py`` or ``setup.py``); every other change (tests, pytest
   configuration in ``pytest.ini``/``pyproject.toml``/``setup.cfg``/``tox.ini``,
   ``.pth`` files, a ``pytest.py`` shadowing the runner, files in ``.local``) is
   dropped and reported;
2. refuses source changes that *introduce* references to the test machinery
   (``pytest``, ``unittest``, ``sys.modules``, ``builtins``, ``settrace``,
   ``os._exit`` …; see :data:`TAMPER_PATTERN`): code under test that reaches for
   the runner is treated as tampering, scored 0;
3. copies the pristine checkout (base state + hidden tests + original
   configuration) to a fresh directory, writes the kept files into it, and runs
   the hidden tests' files there in a fresh sandbox call with
   ``python -E -s -m pytest`` (no ``PYTHON*`` variables, no user site, plugin
   autoload off), parsing each test id's outcome from pytest's ``-rA`` summary.

:func:`run_tests` is also what the task builder uses to find FAIL_TO_PASS and
PASS_TO_PASS tests.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agentgym.envs.code_repair.workspace import changed_files, copy_tree, remove_tree, snapshot
from agentgym.sandbox import ExecResult, Limits, Sandbox

__all__ = [
    "TestRun",
    "Grade",
    "run_tests",
    "parse_outcomes",
    "is_source_file",
    "grade",
    "tamper_findings",
    "PYTEST_ARGV",
    "TAMPER_PATTERN",
]

PYTEST_ARGV = (
    "python",
    "-E",
    "-s",
    "-m",
    "pytest",
    "-q",
    "-rA",
    "-p",
    "no:cacheprovider",
    "--color=no",
)
PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "250", "PYTHONHASHSEED": "0"}
_SUMMARY = re.compile(r"^=+ short test summary info =+$")
_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+?)(?: - .*)?$")
_FINAL = re.compile(
    r"^=*\s*(no tests ran|\d+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?))\b.* in [\d.]+s\b.*$"
)

TEST_DIRS = frozenset({"test", "tests", "testing"})
NEVER_SOURCE = frozenset(
    {"conftest.py", "sitecustomize.py", "usercustomize.py", "setup.py", "noxfile.py"}
)
TAMPER_PATTERN = re.compile(
    r"\b(_?pytest|unittest|conftest|sitecustomize|usercustomize|sys\.modules|builtins|__builtins__"
    r"|_getframe|settrace|setprofile|os\._exit|atexit|faulthandler|gc\.get_referrers|gc\.get_objects)\b"
)


@dataclass(frozen=True)
class TestRun:
    """Outcome per test id (``"passed"``, ``"failed"``, ``"error"``, …) of one pytest call."""

    outcomes: dict[str, str]
    result: ExecResult

    def passed(self, test_id: str) -> bool:
        return self.outcomes.get(test_id) in ("passed", "xfail")


@dataclass(frozen=True)
class Grade:
    """What grading found. ``tests`` maps every FAIL_TO_PASS and PASS_TO_PASS id
    to whether it passed on the pristine checkout with the agent's source changes."""

    tests: dict[str, bool]
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    applied: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    tampering: tuple[str, ...] = ()
    error: str = ""
    patch_files: dict[str, str | None] = field(default_factory=dict)

    @property
    def resolved(self) -> bool:
        return bool(self.tests) and all(self.tests.values()) and not self.tampering

    def fraction(self) -> float:
        """VeRPO-style weighted pass rate: FAIL_TO_PASS and PASS_TO_PASS tests
        each carry half the weight (all of it when the other group is empty)."""
        if self.tampering:
            return 0.0
        groups = [g for g in (self.fail_to_pass, self.pass_to_pass) if g]
        if not groups:
            return 0.0
        return sum(sum(self.tests.get(t, False) for t in g) / len(g) for g in groups) / len(groups)


def parse_outcomes(stdout: str) -> dict[str, str]:
    """Test id -> outcome from the ``-rA`` short summary of a pytest run (only
    lines inside that section count; a run without the final count line parses
    as nothing, so output printed after an early exit cannot pass for a result)."""
    lines = stdout.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if _SUMMARY.match(ln))
    except StopIteration:
        return {}
    out: dict[str, str] = {}
    for ln in lines[start + 1 :]:
        if _FINAL.match(ln):
            return out
        m = _OUTCOME.match(ln)
        if m:
            status = m.group(1).lower()
            if status == "error" or m.group(2) not in out:  # a teardown error outranks a pass
                out[m.group(2)] = status
    return {}


def run_tests(
    sandbox: Sandbox,
    workdir: str | Path,
    test_files: Sequence[str],
    *,
    limits: Limits,
    argv: Sequence[str] = PYTEST_ARGV,
    env: Mapping[str, str] | None = None,
) -> TestRun:
    """Run pytest on ``test_files`` (paths relative to ``workdir``) in ``sandbox``."""
    argv = list(argv)
    if argv and argv[0] == "python" and getattr(sandbox, "name", "") != "docker":
        argv[0] = sys.executable  # the interpreter running agentgym (bwrap binds it read-only)
    res = sandbox.run(
        [*argv, *test_files], workdir=workdir, limits=limits, env={**PYTEST_ENV, **(env or {})}
    )
    return TestRun(parse_outcomes(res.stdout), res)


def is_source_file(path: str, source_roots: Iterable[str]) -> bool:
    """Whether a changed file counts as a source change that grading applies.

    >>> is_source_file("toolz/itertoolz.py", ["toolz"])
    True
    >>> [is_source_file(p, ["toolz"]) for p in ("toolz/tests/test_x.py", "toolz/conftest.py", "conftest.py",
    ...     "pytest.ini", "toolz/x.pth", "sitecustomize.py", "toolz/sitecustomize.py", "tests/test_a.py")]
    [False, False, False, False, False, False, False, False]
    """
    p = PurePosixPath(path)
    if p.suffix != ".py" or p.name in NEVER_SOURCE or ".." in p.parts or p.is_absolute():
        return False
    if (
        p.name.startswith("test_")
        or p.name.endswith("_test.py")
        or any(part in TEST_DIRS for part in p.parts[:-1])
    ):
        return False
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in source_roots)


def tamper_findings(base: Mapping[str, bytes], kept: Mapping[str, bytes | None]) -> list[str]:
    """``"path: name"`` for each test-machinery name a source change adds (a name
    counts only if it occurs more often after the change than before)."""
    found = []
    for path, new in kept.items():
        if new is None:
            continue
        old_text = base.get(path, b"").decode(errors="replace")
        new_text = new.decode(errors="replace")
        for name in sorted({m.group(0) for m in TAMPER_PATTERN.finditer(new_text)}):
            if new_text.count(name) > old_text.count(name):
                found.append(f"{path}: {name}")
    return found


def source_changes(
    base: Mapping[str, bytes], after: Mapping[str, bytes], source_roots: Sequence[str]
) -> tuple[dict[str, bytes | None], list[str]]:
    """(the source-file changes grading applies, the changed paths it drops)."""
    changes = changed_files(dict(base), dict(after))
    kept = {p: c for p, c in changes.items() if is_source_file(p, source_roots)}
    return kept, [p for p in changes if p not in kept]


def grade(
    *,
    sandbox: Sandbox,
    pristine_dir: str | Path,
    base: Mapping[str, bytes],
    workspace_dir: str | Path,
    source_roots: Sequence[str],
    fail_to_pass: Sequence[str],
    pass_to_pass: Sequence[str],
    limits: Limits,
    scratch_dir: str | Path | None = None,
) -> Grade:
    """Grade the workspace (see the module docstring). ``base`` is the snapshot
    of the workspace at reset (its diff against now is the agent's change);
    ``pristine_dir`` holds the base state *with* the hidden tests."""
    kept, dropped = source_changes(base, snapshot(workspace_dir), source_roots)
    return grade_changes(
        sandbox=sandbox, pristine_dir=pristine_dir, base=base, kept=kept, dropped=dropped,
        fail_to_pass=fail_to_pass, pass_to_pass=pass_to_pass, limits=limits, scratch_dir=scratch_dir,
    )  # fmt: skip


def grade_changes(
    *,
    sandbox: Sandbox,
    pristine_dir: str | Path,
    base: Mapping[str, bytes],
    kept: Mapping[str, bytes | None],
    dropped: Sequence[str] = (),
    fail_to_pass: Sequence[str],
    pass_to_pass: Sequence[str],
    limits: Limits,
    scratch_dir: str | Path | None = None,
) -> Grade:
    """Apply ``kept`` (path -> content, ``None`` = delete) to a copy of
    ``pristine_dir`` and run the hidden tests there."""
    f2p, p2p = tuple(fail_to_pass), tuple(pass_to_pass)
    findings = tamper_findings(base, kept)
    patch_files = {
        p: (c.decode(errors="replace") if c is not None else None) for p, c in kept.items()
    }
    common = dict(fail_to_pass=f2p, pass_to_pass=p2p, applied=tuple(kept), dropped=tuple(dropped),
                  patch_files=patch_files)  # fmt: skip
    if findings:
        return Grade({t: False for t in (*f2p, *p2p)}, tampering=tuple(findings), **common)
    tmp = Path(tempfile.mkdtemp(prefix="grade-", dir=scratch_dir))
    try:
        work = tmp / "repo"
        copy_tree(pristine_dir, work)
        for rel, content in kept.items():
            target = work / rel
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        files = sorted({t.split("::")[0] for t in (*f2p, *p2p)})
        run = run_tests(sandbox, work, files, limits=limits)
    finally:
        remove_tree(tmp)
    tests = {t: run.passed(t) for t in (*f2p, *p2p)}
    error = ""
    if not run.outcomes:
        error = "the test run produced no results" + (
            " (timed out)" if run.result.timed_out else ""
        )
    return Grade(tests, error=error, **common)
