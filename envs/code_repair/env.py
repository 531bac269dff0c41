"""The code-repair environment (``agentgym/CodeRepair-v0``): fix a bug in a real Python repository.

Task: an issue text (the failing behaviour, as a user reports it) and a copy of
the repository with the bug; the hidden FAIL_TO_PASS and PASS_TO_PASS tests
must pass after the agent's changes.
Tools: ``list_files(path)``, ``read_file(path, start, end)``, ``search(pattern, path)``,
``edit_file(path, old, new)`` (exact match, exactly once), ``create_file(path, content)``,
``run(command)`` (bash in the sandbox, in the repository; ``python -m pytest tests``
runs the visible tests) and ``submit(patch="")``. Paths are relative to the
repository root; absolute paths, ``..`` out of the root and symlinks leading
out are refused (an invalid action).
Sandbox: ``load_sandbox(sandbox)``; ``bwrap`` (no network, only the workspace
writable, run as the host's unprivileged nobody, uid 65534) where available; the
time, memory and output limits of every ``run`` are ``run_limits``.
Reward parts (an :class:`agentgym.rewards.Reward`, ``env.reward``, scored on a
:class:`~agentgym.envs.code_repair.reward.Submission`; see
:mod:`~agentgym.envs.code_repair.reward`): ``tests`` (1 when every hidden test
passes), optional ``fraction`` and ``localisation``; in
``reward_mode="similarity"`` only ``similarity`` (SWE-RL, −1 for an unparsable
patch); ``invalid_action`` (−penalty). Grading is tamper-proof
(:mod:`~agentgym.envs.code_repair.grading`): only source-file changes reach a
pristine checkout with the pristine hidden tests, in a fresh sandbox call.
Termination: ``submit``. Truncation: ``max_turns`` (default 30).
Metrics: ``success``, ``edits``, ``runs``, ``files_changed``, ``dropped_changes``,
``tampering``, ``hidden_pass_fraction``, ``submitted``.
State key: the task, a digest of the workspace's content, and whether it was submitted.

Change log: v0 — first version.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import tempfile
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from agentgym import AgentEnv, Task, tool
from agentgym.envs.code_repair import grading
from agentgym.envs.code_repair.patches import PatchError, apply_patch, make_patch, patch_similarity
from agentgym.envs.code_repair.reward import Submission, build_reward, changed_texts, check_weights
from agentgym.envs.code_repair.tasks import CodeRepairTasks, Prepared, prepare
from agentgym.envs.code_repair.workspace import (
    PathError,
    Workspace,
    copy_tree,
    remove_tree,
    snapshot,
)
from agentgym.errors import ConfigError, InvalidActionError
from agentgym.sandbox import Limits, Sandbox, load_sandbox

__all__ = ["CodeRepairEnv"]

_MAX_LIST = 300
_MAX_READ_LINES = 400
_MAX_MATCHES = 60
_BASES: OrderedDict[str, dict[str, bytes]] = (
    OrderedDict()
)  # prepared tree -> its snapshot (small LRU)


def _base_snapshot(path: Path) -> dict[str, bytes]:
    key = str(path)
    if key not in _BASES:
        _BASES[key] = snapshot(path)
        if len(_BASES) > 64:
            _BASES.popitem(last=False)
    _BASES.move_to_end(key)
    return _BASES[key]


class CodeRepairEnv(AgentEnv):
    """Repair a Python repository so that its hidden tests pass (see the module docstring).

    Args:
        data: ``"tiny"`` (default; three small packages written by agentgym),
            ``"built"`` (the manifest of real-project tasks; run
            ``scripts/build_code_repair_tasks.py`` first) or the path of a
            SWE-bench-style JSONL file.
        sandbox: A backend name for :func:`~agentgym.sandbox.load_sandbox`
            (``"auto"``, ``"bwrap"``, ``"docker"``, ``"process"``) or a backend.
        cache_dir: Where sources and prepared task trees are cached
            (default ``$AGENTGYM_CACHE_DIR/code_repair``).
        run_limits: Limits of one ``run`` call (default 30 s, 1 GiB, 1 MiB output).
        grade_limits: Limits of the grading run (default 300 s, 2 GiB).
        visible_tests: ``"pass_to_pass"`` (default: the test files holding a
            FAIL_TO_PASS test are hidden) or ``"all"``.
        reward_mode: ``"execution"`` (hidden tests) or ``"similarity"`` (SWE-RL).
        reward_weights: Weights of ``tests``, ``fraction``, ``localisation``, ``similarity``
            (unknown names raise with the valid ones); ``env.reward`` is the mode's
            :class:`~agentgym.rewards.Reward` with them.
        max_output_chars: Longest ``run`` output shown (head and tail kept).
        **kwargs: :class:`~agentgym.AgentEnv` arguments (split, difficulty, seed, …).
    """

    family = "code_repair"
    instructions = (
        "You are fixing a bug in a Python repository. Read the issue, explore the code with list_files, "
        "read_file and search, reproduce the problem with run (a shell command in the repository, e.g. "
        "`python -m pytest tests -q` or a small script), fix the library's source with edit_file or "
        "create_file, then call submit. Paths are relative to the repository root. Hidden tests decide "
        "the grade; only changes to the library's source files count (edits to tests or test "
        "configuration are ignored)."
    )
    default_max_turns = 30
    scripted_policies = {"oracle": "agentgym.envs.code_repair.oracle:oracle"}

    def __init__(
        self,
        *,
        data: str = "tiny",
        sandbox: str | Sandbox = "auto",
        cache_dir: str | Path | None = None,
        run_limits: Limits | None = None,
        grade_limits: Limits | None = None,
        visible_tests: Literal["pass_to_pass", "all"] = "pass_to_pass",
        reward_mode: Literal["execution", "similarity"] = "execution",
        reward_weights: Mapping[str, float] | None = None,
        max_output_chars: int = 4000,
        **kwargs: Any,
    ) -> None:
        if visible_tests not in ("pass_to_pass", "all"):
            raise ConfigError(
                f"visible_tests must be 'pass_to_pass' or 'all', got {visible_tests!r}."
            )
        if reward_mode not in ("execution", "similarity"):
            raise ConfigError(
                f"reward_mode must be 'execution' or 'similarity', got {reward_mode!r}."
            )
        self.data = data
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.sandbox: Sandbox = load_sandbox(sandbox) if isinstance(sandbox, str) else sandbox
        self.run_limits = run_limits or Limits(
            timeout_s=30.0, memory_mb=1024, max_output_bytes=1 << 20
        )
        self.grade_limits = grade_limits or Limits(
            timeout_s=300.0, memory_mb=2048, max_output_bytes=8 << 20
        )
        self.visible_tests = visible_tests
        self.reward_mode = reward_mode
        self.weights = check_weights(reward_weights)
        self.reward = build_reward(self.weights, reward_mode)
        self.max_output_chars = int(max_output_chars)
        self._scratch = Path(tempfile.mkdtemp(prefix="code-repair-"))
        # Envs that are never closed (registry listings, crashed runs) still clean up at collection.
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._scratch), True)
        self.ws = Workspace(self._scratch / "repo")
        super().__init__(**kwargs)

    def make_generator(self, seed: int) -> CodeRepairTasks:
        return CodeRepairTasks(seed, data=self.data, cache_dir=self.cache_dir)

    # ------------------------------------------------------------------
    # Episode
    # ------------------------------------------------------------------
    def on_reset(self, task: Task) -> str:
        self.prepared: Prepared = prepare(task.meta, self.cache_dir)
        start = (
            self.prepared.visible
            if self.visible_tests == "pass_to_pass"
            else self.prepared.pristine
        )
        copy_tree(start, self.ws.root)
        self.base = _base_snapshot(start)
        self.edits = self.runs = 0
        self.submitted = False
        self.grade: grading.Grade | None = None
        self.similarity: float | None = None
        top = sorted({p.split("/")[0] for p in self.base})
        return (
            f"{task.prompt}\n\nThe repository ({task.meta.get('project', 'project')}) is your working "
            f"directory. Top level: {', '.join(top)}."
        )

    def state_key(self) -> str:
        if self.task is None or not hasattr(self, "base"):
            return self._last_obs
        h = hashlib.blake2b(digest_size=8)
        for path, content in sorted(snapshot(self.ws.root).items()):
            h.update(path.encode() + b"\0" + hashlib.blake2b(content, digest_size=8).digest())
        return f"{self.task.id}|{h.hexdigest()}|submitted={int(self.submitted)}"

    def episode_metrics(self) -> dict[str, float]:
        g = self.grade
        return {
            "edits": self.edits,
            "runs": self.runs,
            "files_changed": float(len(g.applied)) if g else 0.0,
            "dropped_changes": float(len(g.dropped)) if g else 0.0,
            "tampering": float(bool(g and g.tampering)),
            "hidden_pass_fraction": g.fraction() if g else 0.0,
            "submitted": float(self.submitted),
        }

    def close(self) -> None:
        if self._scratch.exists():
            remove_tree(self._scratch)
        self._cleanup.detach()
        super().close()

    # ------------------------------------------------------------------
    # Tools
    # ------------------------------------------------------------------
    def _path(self, path: str, *, must_exist: bool = False) -> Path:
        try:
            return self.ws.resolve(path, must_exist=must_exist)
        except PathError as e:
            raise InvalidActionError(str(e), kind="bad_path") from None

    @tool
    def list_files(self, path: str = ".") -> str:
        """List the files under a directory of the repository (recursively).

        Args:
            path: A directory relative to the repository root ("." for all).
        """
        full = self._path(path, must_exist=True)
        if full.is_file():
            return self.ws.rel(full)
        files = [self.ws.rel(p) for p in self.ws.files(full)]
        more = f"\n... and {len(files) - _MAX_LIST} more files" if len(files) > _MAX_LIST else ""
        return ("\n".join(files[:_MAX_LIST]) or "(no files)") + more

    @tool
    def read_file(self, path: str, start: int = 1, end: int = 0) -> str:
        """Show lines of a file, numbered.

        Args:
            path: The file, relative to the repository root.
            start: First line to show (1-based).
            end: Last line to show (0: up to 200 lines from start).
        """
        full = self._path(path, must_exist=True)
        if not full.is_file():
            raise InvalidActionError(f"{path!r} is a directory; use list_files.", kind="bad_path")
        lines = full.read_text(errors="replace").splitlines()
        start = max(1, start)
        end = start + 199 if end <= 0 else min(end, start + _MAX_READ_LINES - 1)
        if start > len(lines) and lines:
            raise InvalidActionError(
                f"{path} has {len(lines)} lines; start={start} is past the end."
            )
        shown = [f"{i:5d}  {ln}" for i, ln in enumerate(lines[start - 1 : end], start)]
        tail = f"\n[lines {start}-{min(end, len(lines))} of {len(lines)}]"
        return "\n".join(shown) + tail

    @tool
    def search(self, pattern: str, path: str = ".") -> str:
        """Search the repository's text files for a regular expression.

        Args:
            pattern: A Python regular expression (or plain text).
            path: A file or directory to search, relative to the repository root.
        """
        full = self._path(path, must_exist=True)
        try:
            rx = re.compile(pattern)
        except re.error:
            rx = re.compile(re.escape(pattern))
        hits: list[str] = []
        for p in [full] if full.is_file() else self.ws.files(full):
            try:
                text = p.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            for i, line in enumerate(text.splitlines(), 1):
                if rx.search(line):
                    hits.append(f"{self.ws.rel(p)}:{i}: {line.strip()[:200]}")
                    if len(hits) > _MAX_MATCHES:
                        return (
                            "\n".join(hits[:_MAX_MATCHES])
                            + f"\n... more than {_MAX_MATCHES} matches; narrow the search."
                        )
        return "\n".join(hits) or f"No match for {pattern!r}."

    @tool
    def edit_file(self, path: str, old: str, new: str) -> str:
        """Replace one exact occurrence of a text in a file.

        Args:
            path: The file, relative to the repository root.
            old: The exact text to replace (with its indentation); it must occur exactly once.
            new: The replacement text.
        """
        full = self._path(path, must_exist=True)
        if not full.is_file():
            raise InvalidActionError(f"{path!r} is not a file.", kind="bad_path")
        if not old:
            raise InvalidActionError(
                "old is empty; give the exact text to replace (use create_file for new files)."
            )
        text = full.read_text(errors="replace")
        count = text.count(old)
        if count == 0:
            raise InvalidActionError(f"old was not found in {path}; copy it exactly (read_file shows the lines).",
                                     kind="no_match")  # fmt: skip
        if count > 1:
            raise InvalidActionError(f"old occurs {count} times in {path}; include more surrounding lines so it "
                                     "occurs exactly once.", kind="ambiguous_match")  # fmt: skip
        full.write_text(text.replace(old, new, 1))
        self.edits += 1
        return f"Edited {self.ws.rel(full)}: replaced {len(old.splitlines()) or 1} line(s) with {len(new.splitlines())}."

    @tool
    def create_file(self, path: str, content: str) -> str:
        """Create a file (or overwrite it) with the given content.

        Args:
            path: The file, relative to the repository root.
            content: The whole text of the file.
        """
        full = self._path(path)
        if full == self.ws.root or full.is_dir():
            raise InvalidActionError(f"{path!r} is a directory.", kind="bad_path")
        full.parent.mkdir(parents=True, exist_ok=True)
        existed = full.exists()
        full.write_text(content)
        self.edits += 1
        return f"{'Overwrote' if existed else 'Created'} {self.ws.rel(full)} ({content.count(chr(10)) + 1} lines)."

    @tool
    def run(self, command: str) -> str:
        """Run a shell command in the repository, in the sandbox (no network; time and memory limited).

        Args:
            command: A bash command, e.g. "python -m pytest tests -q" or "python repro.py".
        """
        self.runs += 1
        res = self.sandbox.run(["bash", "-c", command], workdir=self.ws.root, limits=self.run_limits,
                               env=self.run_env())  # fmt: skip
        out = res.stdout + (
            ("\n" if res.stdout and not res.stdout.endswith("\n") else "") + res.stderr
            if res.stderr
            else ""
        )
        if len(out) > self.max_output_chars:
            half = self.max_output_chars // 2
            out = f"{out[:half]}\n...[{len(out) - 2 * half} characters cut]...\n{out[-half:]}"
        status = "timed out" if res.timed_out else f"exit code {res.returncode}"
        return f"{out.rstrip()}\n[{status}]" if out.strip() else f"[{status}, no output]"

    def run_env(self) -> dict[str, str]:
        """The environment of ``run``: the package importable (``PYTHONPATH``), a writable home."""
        inside = "/workspace" if self.sandbox.name in ("bwrap", "docker") else str(self.ws.root)
        env = {"PYTHONPATH": inside, "HOME": inside, "PYTEST_ADDOPTS": "-p no:cacheprovider",
               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # fmt: skip
        if self.sandbox.name == "process":
            env["PATH"] = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
        return env

    @tool
    def submit(self, patch: str = "") -> str:
        """Submit your fix; the hidden tests are run and the episode ends.

        Args:
            patch: Optional: a unified diff to apply to the original repository instead of your edits.
        """
        assert self.task is not None
        kept, dropped = self._submitted_changes(patch)
        if kept is None:  # an unparsable patch in similarity mode: SWE-RL's -1
            self.submitted = True
            self.similarity = -1.0
            self.reward.apply(self, Submission(similarity=-1.0))
            self.finish(success=False)
            return "Submitted, but the patch does not parse as a unified diff."
        self.submitted = True
        if self.reward_mode == "similarity":
            return self._score_similarity(kept, patch)
        m = self.task.meta
        g = grading.grade_changes(
            sandbox=self.sandbox, pristine_dir=self.prepared.pristine, base=self.base, kept=kept, dropped=dropped,
            fail_to_pass=m["fail_to_pass"], pass_to_pass=m["pass_to_pass"], limits=self.grade_limits,
            scratch_dir=self._scratch,
        )  # fmt: skip
        self.grade = g
        self.reward.apply(self, Submission(self.base, kept, m.get("gold_locations", []), grade=g))
        self.finish(success=g.resolved)
        notes = []
        if dropped:
            notes.append(f"ignored changes to non-source files: {', '.join(dropped[:5])}")
        if g.tampering:
            notes.append(
                "the source changes reach for the test machinery ("
                + "; ".join(g.tampering[:3])
                + ")"
            )
        passed = sum(g.tests.values())
        head = (
            "Resolved: every hidden test passes."
            if g.resolved
            else f"Not resolved: {passed} of {len(g.tests)} hidden tests pass."
        )
        return head + "".join(f"\nNote: {n}." for n in notes)

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------
    def _submitted_changes(self, patch: str) -> tuple[dict[str, bytes | None] | None, list[str]]:
        """(source changes, dropped paths); ``None`` for an unparsable patch in similarity mode."""
        roots = self.task.meta["source_roots"] if self.task else []
        if not patch.strip():
            return grading.source_changes(self.base, snapshot(self.ws.root), roots)
        texts = {p: c.decode(errors="replace") for p, c in self.base.items()}
        try:
            new = apply_patch(texts, patch)
        except PatchError as e:
            if self.reward_mode == "similarity":
                return None, []
            raise InvalidActionError(f"The patch does not apply: {e} Fix it, or submit() without a patch "
                                     "to submit your edits.", kind="bad_patch") from None  # fmt: skip
        after = dict(self.base)
        for p, c in new.items():
            if c is None:
                after.pop(p, None)
            else:
                after[p] = c.encode()
        return grading.source_changes(self.base, after, roots)

    def _score_similarity(self, kept: Mapping[str, bytes | None], submitted: str) -> str:
        before, after = changed_texts(self.base, kept)
        diff = make_patch(before, {p: c for p, c in after.items() if c is not None})
        sim = patch_similarity(diff, self.task.meta["gold_patch"]) if diff else 0.0
        self.similarity = sim
        self.reward.apply(self, Submission(self.base, kept, similarity=sim))
        self.finish(success=sim >= 1.0)
        return f"Submitted: patch similarity to the reference fix {sim:.3f}."
