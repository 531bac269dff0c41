"""CodeRepair-v0 tasks: where they come from, how a task's repository is prepared.

Three sources, one task format (``Task.meta``, JSON-able):

* ``"tiny"`` (default) — bugs injected into the three small packages of
  :mod:`~agentgym.envs.code_repair.tiny`, checked by the fast
  :mod:`~agentgym.envs.code_repair.harness` (kept only when at least one test
  fails and the unchanged package passes every test twice). ``easy``: one bug;
  ``hard``: two bugs in different functions.
* ``"built"`` — the committed manifest (``manifest.json``) of bugs injected into
  real projects' pinned sdists by ``scripts/build_code_repair_tasks.py``; the
  sdists are fetched into the cache directory by that script, never committed.
* a path to a SWE-bench-style JSONL file (:mod:`~agentgym.envs.code_repair.swebench`).

``meta`` keys: ``source`` (how to get the pristine repository), ``bug``
(``[{path, old, new}]`` exact replacements that turn it into the task's base
state), ``fix`` (the oracle's ``edit_file`` calls), ``test_patch`` (a diff
adding hidden tests, SWE-bench), ``hidden`` (test files removed from the
agent's workspace), ``fail_to_pass``, ``pass_to_pass``, ``source_roots``,
``gold_patch`` (unified diff base -> fixed), ``gold_locations``
(``[[path, function]]``), ``mutations`` and ``seed``.

Splits are disjoint by construction: each candidate's split is the hash of its
content key (:func:`agentgym.tasks.split_of`); ``task(split, i)`` is the
``i``-th (modulo) valid candidate of that split.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentgym import Task
from agentgym.envs.code_repair.harness import check_mutants
from agentgym.envs.code_repair.issues import issue_text
from agentgym.envs.code_repair.mutate import MUTATOR_VERSION, Mutation, edit_snippets, mutations
from agentgym.envs.code_repair.patches import PatchError, apply_patch, make_patch, parse_patch
from agentgym.envs.code_repair.tiny import TINY_PACKAGES, write_repo
from agentgym.envs.code_repair.workspace import copy_tree, remove_tree
from agentgym.errors import ConfigError
from agentgym.tasks import Split, TaskGenerator, derive_seed, split_of
from agentgym.tools import ToolCall

__all__ = ["CodeRepairTasks", "default_cache_dir", "prepare", "Prepared", "answer_text", "MANIFEST"]

MANIFEST = Path(__file__).with_name("manifest.json")
_TINY_POOL: dict[tuple[int, str], list[dict[str, Any]]] = {}
_MAX_HARD_PER_PACKAGE = 40


def default_cache_dir() -> Path:
    """``$AGENTGYM_CACHE_DIR/code_repair``, else ``~/.cache/agentgym/code_repair``."""
    base = os.environ.get("AGENTGYM_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "agentgym") / "code_repair"


def answer_text(fix: Sequence[Mapping[str, str]]) -> str:
    """``Task.answer``: the oracle patch as ``edit_file`` calls, one per line."""
    return "\n".join(
        ToolCall("edit_file", {"path": e["path"], "old": e["old"], "new": e["new"]}).render()
        for e in fix
    )


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------
class CodeRepairTasks(TaskGenerator):
    """Tasks of one source (see the module docstring)."""

    family = "code_repair"
    difficulties = ("easy", "hard")

    def __init__(
        self, seed: int = 0, *, data: str = "tiny", cache_dir: str | Path | None = None
    ) -> None:
        super().__init__(seed)
        self.data = data
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._pools: dict[tuple[Split, str], list[dict[str, Any]]] = {}

    def candidates(self, difficulty: str) -> list[dict[str, Any]]:
        """Every valid task record of this source at ``difficulty`` (all splits)."""
        if self.data == "tiny":
            return tiny_pool(self.seed, difficulty, self.cache_dir)
        if self.data == "built":
            return built_pool(difficulty)
        from agentgym.envs.code_repair.swebench import load_instances

        return load_instances(self.data, self.cache_dir) if difficulty == "easy" else []

    def split_pool(self, split: Split, difficulty: str) -> list[dict[str, Any]]:
        key = (split, difficulty)
        if key not in self._pools:
            self._pools[key] = [
                r
                for r in self.candidates(difficulty)
                if (r.get("split") or split_of(r["content_key"])) == split
            ]
        return self._pools[key]

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        difficulty = self.check_difficulty(difficulty or self.difficulties[0])
        pool = self.split_pool(split, difficulty)
        if not pool:
            raise ConfigError(
                f"code_repair: the {self.data!r} tasks have no {split}/{difficulty} task "
                f"({len(self.candidates(difficulty))} tasks in all splits); pick another split or difficulty."
            )
        rec = pool[index % len(pool)]
        meta = {k: v for k, v in rec.items() if k not in ("prompt", "content_key", "split")}
        return Task(
            f"code_repair/{split}/{difficulty}/{index}",
            rec["prompt"],
            answer_text(rec["fix"]),
            meta,
        )

    def size(self, split: Split, difficulty: str) -> int:
        return len(self.split_pool(split, difficulty))


# ---------------------------------------------------------------------------
# Tiny tasks
# ---------------------------------------------------------------------------
def _source_modules(files: Mapping[str, str], roots: Sequence[str]) -> list[str]:
    return sorted(
        p
        for p in files
        if p.endswith(".py") and p.split("/")[0] in roots and not p.endswith("__init__.py")
    )


def _splice(m: Mutation) -> dict[str, Any]:
    return {"path": m.path, "start": m.start, "end": m.end, "replacement": m.replacement}


def _apply_all(files: Mapping[str, str], muts: Sequence[Mutation]) -> dict[str, str]:
    out = dict(files)
    for m in sorted(muts, key=lambda m: -m.start):  # right to left: earlier offsets stay valid
        out[m.path] = m.apply(out[m.path])
    return out


def tiny_pool(seed: int, difficulty: str, cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """The valid tiny tasks (cached per process and on disk, keyed by the
    packages' text, the mutator and the harness)."""
    key = (seed, difficulty)
    if key not in _TINY_POOL:
        blob = json.dumps(
            [TINY_PACKAGES, MUTATOR_VERSION, _harness_source(), seed, difficulty], sort_keys=True
        )
        path = (
            (cache_dir or default_cache_dir())
            / "pools"
            / f"tiny-{hashlib.blake2b(blob.encode(), digest_size=10).hexdigest()}.json"
        )
        try:
            _TINY_POOL[key] = json.loads(path.read_text())
        except (OSError, ValueError):
            records: list[dict[str, Any]] = []
            for name, files in TINY_PACKAGES.items():
                records += _tiny_package_records(name, files, seed, difficulty)
            _TINY_POOL[key] = records
            tmp = _mkdir(path.parent) / f".{path.name}.{os.getpid()}"
            tmp.write_text(json.dumps(records))
            os.replace(tmp, path)
    return _TINY_POOL[key]


def _harness_source() -> str:
    """What the pool's content depends on besides the packages: the harness and the issue writer."""
    from agentgym.envs.code_repair import harness, issues

    return harness._HARNESS + Path(issues.__file__).read_text()


def _tiny_package_records(
    name: str, files: dict[str, str], seed: int, difficulty: str
) -> list[dict[str, Any]]:
    roots = [name]
    singles = [m for path in _source_modules(files, roots) for m in mutations(files[path], path)]
    if difficulty == "easy":
        combos = [[m] for m in singles]
    else:
        rng = np.random.default_rng(derive_seed("code_repair/tiny/hard", name, seed))
        combos = []
        for _ in range(_MAX_HARD_PER_PACKAGE * 4):
            a, b = (singles[int(i)] for i in rng.choice(len(singles), size=2, replace=False))
            if (a.path, a.function) != (b.path, b.function) and (
                a.path != b.path or a.end < b.start or b.end < a.start
            ):
                combos.append(sorted([a, b], key=lambda m: (m.path, m.start)))
    results = check_mutants(files, [[], [], *[[_splice(m) for m in c] for c in combos]])
    baseline = results[0]
    if results[1] != baseline or not baseline or any(v != "passed" for v in baseline.values()):
        raise RuntimeError(f"the tiny package {name!r} does not pass its own tests: {baseline}")
    records, seen_keys = [], set()
    for combo, res in zip(combos, results[2:], strict=True):
        failing = sorted(t for t, v in res.items() if v != "passed")
        if not failing or any(t not in baseline for t in res) or set(res) != set(baseline):
            continue  # no test catches the bug, or the mutant broke collection
        ck = f"tiny|{name}|" + "|".join(m.key for m in combo)
        if ck in seen_keys:
            continue
        seen_keys.add(ck)
        records.append(_record(name, files, roots, combo, failing, sorted(set(baseline) - set(failing)),
                               {t: res[t] for t in failing}, {"kind": "tiny", "package": name}, ck, seed))  # fmt: skip
        if difficulty == "hard" and len(records) >= _MAX_HARD_PER_PACKAGE:
            break
    return records


def _record(
    project: str,
    files: Mapping[str, str],
    roots: Sequence[str],
    combo: Sequence[Mutation],
    f2p: Sequence[str],
    p2p: Sequence[str],
    failures: Mapping[str, str],
    source: dict[str, Any],
    content_key: str,
    seed: int,
) -> dict[str, Any]:
    """A task record from a validated mutation set (shared by tiny and built tasks)."""
    buggy = _apply_all(files, combo)
    bug, fix = [], []
    for path in sorted({m.path for m in combo}):
        ms = [m for m in combo if m.path == path]
        if len(ms) == 1:
            m = ms[0]
            old, new = edit_snippets(
                files[path], buggy[path], m.start, m.end, m.start + len(m.replacement)
            )
            bug.append({"path": path, "old": old, "new": new})
        else:  # two bugs in one file: one edit per bug, applied in order
            text = files[path]
            for m in sorted(ms, key=lambda m: -m.start):
                after = m.apply(text)
                old, new = edit_snippets(text, after, m.start, m.end, m.start + len(m.replacement))
                bug.append({"path": path, "old": old, "new": new})
                text = after
    gold_patch = make_patch(
        {p: buggy[p] for p in {e["path"] for e in bug}},
        {p: files[p] for p in {e["path"] for e in bug}},
    )
    fix = [
        {"path": e["path"], "old": e["new"], "new": e["old"]} for e in reversed(bug)
    ]  # the reverse mutation
    hidden = sorted({t.split("::")[0] for t in f2p})
    meta = {
        "project": project,
        "source": source,
        "bug": bug,
        "fix": fix,
        "test_patch": "",
        "hidden": hidden,
        "fail_to_pass": list(f2p),
        "pass_to_pass": list(p2p),
        "source_roots": list(roots),
        "gold_patch": gold_patch,
        "gold_locations": sorted({(m.path, m.function) for m in combo}),
        "mutations": [m.to_dict() | {"mutator_version": MUTATOR_VERSION} for m in combo],
        "seed": seed,
    }
    meta["gold_locations"] = [list(x) for x in meta["gold_locations"]]
    prompt = issue_text(project, files, f2p, failures)
    return {**meta, "prompt": prompt, "content_key": content_key}


def built_pool(difficulty: str) -> list[dict[str, Any]]:
    """The committed manifest's tasks at ``difficulty``."""
    if not MANIFEST.exists():
        raise ConfigError(
            f"no task manifest at {MANIFEST}; run scripts/build_code_repair_tasks.py first."
        )
    data = json.loads(MANIFEST.read_text())
    out = []
    for t in data["tasks"]:
        if t.get("difficulty", "easy") != difficulty:
            continue
        if (
            t.get("pass_to_pass") is None
        ):  # kept once per project: its stable tests minus FAIL_TO_PASS
            f2p = set(t["fail_to_pass"])
            t = {
                **t,
                "pass_to_pass": [
                    x for x in data["projects"][t["project"]]["stable_tests"] if x not in f2p
                ],
            }
        out.append(t)
    return out


# ---------------------------------------------------------------------------
# Preparing a task's repository
# ---------------------------------------------------------------------------
class Prepared:
    """A task's two cached trees: ``pristine`` (base state + hidden tests +
    original configuration: what grading copies) and ``visible`` (what the
    agent's workspace starts as: ``pristine`` without the hidden test files)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pristine = root / "pristine"
        self.visible = root / "visible"


def _meta_key(meta: Mapping[str, Any]) -> str:
    blob = json.dumps(
        {k: meta.get(k) for k in ("source", "bug", "test_patch", "hidden")}, sort_keys=True
    )
    return hashlib.blake2b(blob.encode(), digest_size=10).hexdigest()


def source_dir(source: Mapping[str, Any], cache_dir: Path) -> Path:
    """The pristine upstream tree of a task's ``source`` (written or checked here)."""
    kind = source.get("kind")
    if kind == "tiny":
        name = source["package"]
        blob = json.dumps(TINY_PACKAGES[name], sort_keys=True).encode()
        d = cache_dir / "src" / f"tiny-{name}-{hashlib.blake2b(blob, digest_size=6).hexdigest()}"
        if not d.exists():
            tmp = Path(tempfile.mkdtemp(dir=_mkdir(cache_dir / "src")))
            write_repo(TINY_PACKAGES[name], tmp)
            _publish(tmp, d)
        return d
    if kind == "sdist":
        d = cache_dir / "src" / f"{source['project']}-{source['version']}"
        if not d.exists():
            raise ConfigError(
                f"{source['project']}=={source['version']} is not in the cache ({d}); "
                "run `python scripts/build_code_repair_tasks.py --fetch-only` to fetch the pinned sdists."
            )
        return d
    if kind == "dir":
        d = Path(source["path"]).expanduser()
        if not d.is_dir():
            raise ConfigError(f"the task's repository snapshot {d} does not exist.")
        return d
    raise ConfigError(f"unknown task source {source!r}; expected kind 'tiny', 'sdist' or 'dir'.")


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _publish(tmp: Path, final: Path) -> None:
    """Move a finished tree into place (another process may have won the race)."""
    try:
        os.rename(tmp, final)
    except OSError:
        remove_tree(tmp)


def prepare(meta: Mapping[str, Any], cache_dir: str | Path | None = None) -> Prepared:
    """The task's cached trees, built on first use (see :class:`Prepared`)."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    final = cache / "tasks" / _meta_key(meta)
    if (final / "visible").is_dir():
        return Prepared(final)
    src = source_dir(meta["source"], cache)
    tmp = Path(tempfile.mkdtemp(dir=_mkdir(cache / "tasks")))
    visible, pristine = tmp / "visible", tmp / "pristine"
    copy_tree(src, visible)
    for e in meta.get("bug", ()):
        target = visible / e["path"]
        text = target.read_text()
        if text.count(e["old"]) != 1:
            remove_tree(tmp)
            raise ConfigError(
                f"the task's bug edit does not apply to {e['path']} (the source changed?)."
            )
        target.write_text(text.replace(e["old"], e["new"]))
    copy_tree(visible, pristine)
    if meta.get("test_patch"):  # SWE-bench: the hidden tests arrive as a diff
        touched = {fp.old_path for fp in parse_patch(meta["test_patch"]) if fp.old_path}
        texts = {rel: (pristine / rel).read_text() for rel in touched if (pristine / rel).is_file()}
        try:
            changes = apply_patch(texts, meta["test_patch"])
        except PatchError as e:
            remove_tree(tmp)
            raise ConfigError(f"the task's test_patch does not apply: {e}") from e
        for rel, content in changes.items():
            target = pristine / rel
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
    for rel in meta.get("hidden", ()):
        (visible / rel).unlink(missing_ok=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    _publish(tmp, final)
    return Prepared(final)
