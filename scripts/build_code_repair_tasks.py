"""Build CodeRepair-v0 tasks from real projects' pinned sdists (the ``data="built"`` task set).

For each project: fetch the pinned sdist (``pip download --no-binary :all:
--no-deps NAME==VERSION``) into the cache directory and unpack it; run its test
suite ``--repeats`` times in the sandbox and keep the tests that pass every
time (the stable tests); draw candidate bugs from the AST mutations of its
source modules (seeded); keep a candidate only when at least one stable test
fails because of it, the same tests fail again on a second run, and every
other stable test passes; write the issue text from the failures. The
manifest (ids, versions, sdist hashes, mutations, seeds, FAIL_TO_PASS, the
project's stable tests) is committed: ``envs/code_repair/manifest.json``;
the code stays in the cache (``$AGENTGYM_CACHE_DIR/code_repair``).

    python scripts/build_code_repair_tasks.py --projects toolz inflection --max-tasks 12
    python scripts/build_code_repair_tasks.py --fetch-only     # sources for an existing manifest

Costs one test-suite run per candidate (toolz: ~1.3 s under bubblewrap on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agentgym.envs.code_repair.grading import run_tests
from agentgym.envs.code_repair.mutate import MUTATOR_VERSION, mutations
from agentgym.envs.code_repair.tasks import MANIFEST, _record, default_cache_dir
from agentgym.envs.code_repair.workspace import copy_tree, remove_tree
from agentgym.sandbox import Limits, load_sandbox
from agentgym.tasks import derive_seed

log = logging.getLogger("build_code_repair_tasks")


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    source_roots: tuple[str, ...]
    modules: tuple[str, ...]  # the modules bugs go into
    tests: tuple[str, ...]  # test files or folders, relative to the sdist root


PROJECTS = {
    p.name: p
    for p in (
        Project(
            "toolz",
            "1.0.0",
            ("toolz",),
            ("toolz/itertoolz.py", "toolz/dicttoolz.py", "toolz/functoolz.py", "toolz/recipes.py"),
            ("toolz/tests",),
        ),  # fmt: skip
        Project(
            "inflection",
            "0.5.1",
            ("inflection",),
            ("inflection/__init__.py",),
            ("test_inflection.py",),
        ),
        Project("tabulate", "0.9.0", ("tabulate",), ("tabulate/__init__.py",), ("test",)),
        Project(
            "more-itertools",
            "10.5.0",
            ("more_itertools",),
            ("more_itertools/more.py", "more_itertools/recipes.py"),
            ("tests",),
        ),  # fmt: skip
    )
}
_FAILED = re.compile(r"^(FAILED|ERROR) (\S+?) - (.*)$")


def fetch(project: Project, cache: Path) -> tuple[Path, str]:
    """The unpacked sdist (``cache/src/NAME-VERSION``) and the sdist's sha256."""
    sdists = cache / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    pattern = f"{project.name}-{project.version}.tar.gz".lower().replace("-", "_")
    found = [p for p in sdists.iterdir() if p.name.lower().replace("-", "_") == pattern]
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-q",
               f"{project.name}=={project.version}", "-d", str(sdists)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        found = [p for p in sdists.iterdir() if p.name.lower().replace("-", "_") == pattern]
    if not found:
        raise SystemExit(f"pip did not download {pattern} into {sdists}")
    sdist = found[0]
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    dest = cache / "src" / f"{project.name}-{project.version}"
    if not dest.exists():
        tmp = Path(tempfile.mkdtemp(dir=dest.parent if dest.parent.exists() else _mk(dest.parent)))
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")  # refuses absolute paths, .. and links out
        (top,) = list(tmp.iterdir())
        top.rename(dest)
        remove_tree(tmp)
    return dest, sha


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def test_files(root: Path, project: Project) -> list[str]:
    out = []
    for t in project.tests:
        p = root / t
        if p.is_file():
            out.append(t)
        else:
            out += sorted(q.relative_to(root).as_posix() for q in p.rglob("test_*.py"))
    return out


def failures(stdout: str) -> dict[str, str]:
    """Test id -> ``"failed: <message>"`` from pytest's ``-rA`` summary."""
    out = {}
    for line in stdout.splitlines():
        m = _FAILED.match(line)
        if m:
            out[m.group(2)] = "failed: " + m.group(3)
    return out


def build_project(
    project: Project, args: argparse.Namespace, sandbox, cache: Path
) -> tuple[dict, list[dict]]:
    root, sha = fetch(project, cache)
    tests = test_files(root, project)
    limits = Limits(timeout_s=args.timeout, memory_mb=2048, max_output_bytes=16 << 20)
    work = Path(tempfile.mkdtemp(prefix=f"build-{project.name}-"))
    copy_tree(root, work / "repo")
    repo = work / "repo"
    t0 = time.monotonic()
    runs = [run_tests(sandbox, repo, tests, limits=limits) for _ in range(args.repeats)]
    per_run = (time.monotonic() - t0) / args.repeats
    stable = sorted(t for t in runs[0].outcomes if all(r.passed(t) for r in runs))
    flaky = sorted({t for r in runs for t in r.outcomes} - set(stable))
    log.info("%s %s: %d stable tests, %d not stable or failing; %.1f s per run",
             project.name, project.version, len(stable), len(flaky), per_run)  # fmt: skip
    if not stable:
        raise SystemExit(
            f"{project.name}: no test passes; output:\n{runs[0].result.stdout[-3000:]}"
        )
    files = {
        p.relative_to(root).as_posix(): p.read_text(errors="replace") for p in root.rglob("*.py")
    }
    cands = [m for mod in project.modules for m in mutations(files[mod], mod)]
    rng = np.random.default_rng(
        derive_seed("code_repair/build", project.name, project.version, args.seed)
    )
    order = rng.permutation(len(cands))
    source = {"kind": "sdist", "project": project.name, "version": project.version, "sha256": sha}
    records: list[dict] = []
    tried = 0
    for idx in order[: args.max_candidates]:
        if len(records) >= args.max_tasks:
            break
        m = cands[int(idx)]
        tried += 1
        target = repo / m.path
        target.write_text(m.apply(files[m.path]))
        try:
            first = run_tests(sandbox, repo, tests, limits=limits)
            failing = [t for t in stable if not first.passed(t)]
            if not failing or first.result.timed_out:
                continue
            second = run_tests(sandbox, repo, tests, limits=limits)
            if [t for t in stable if not second.passed(t)] != failing:
                log.info("  unstable under the bug, dropped: %s", m.description)
                continue
        finally:
            target.write_text(files[m.path])
        p2p = [t for t in stable if t not in failing]
        ck = f"sdist|{project.name}|{project.version}|{m.key}"
        rec = _record(project.name, files, list(project.source_roots), [m], failing, p2p,
                      failures(first.result.stdout), source, ck, args.seed)  # fmt: skip
        rec["pass_to_pass"] = (
            None  # = the project's stable tests minus FAIL_TO_PASS (kept once, below)
        )
        rec["difficulty"] = "easy"
        records.append(rec)
        log.info("  kept %s in %s() (%s): %d failing", m.operator, m.function, m.path, len(failing))
    remove_tree(work)
    meta = {"version": project.version, "sha256": sha, "source_roots": list(project.source_roots),
            "test_files": tests, "stable_tests": stable, "candidates_tried": tried,
            "seconds_per_run": round(per_run, 2)}  # fmt: skip
    return meta, records


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--projects", nargs="+", default=["toolz", "inflection"], choices=sorted(PROJECTS)
    )
    ap.add_argument("--max-tasks", type=int, default=12, help="tasks kept per project")
    ap.add_argument(
        "--max-candidates", type=int, default=60, help="candidate bugs tried per project"
    )
    ap.add_argument(
        "--repeats", type=int, default=3, help="runs of the unchanged suite (stability)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per test-suite run")
    ap.add_argument("--sandbox", default="auto")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--manifest", type=Path, default=MANIFEST)
    ap.add_argument("--fetch-only", action="store_true", help="only fetch the manifest's sdists")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cache = args.cache_dir or default_cache_dir()
    if args.fetch_only:
        data = json.loads(args.manifest.read_text())
        for name, meta in data["projects"].items():
            _, sha = fetch(PROJECTS[name], cache)
            if sha != meta["sha256"]:
                raise SystemExit(
                    f"{name} {meta['version']}: sha256 {sha} differs from the manifest's {meta['sha256']}"
                )
            log.info("%s %s ready", name, meta["version"])
        return
    sandbox = load_sandbox(args.sandbox)
    old = (
        json.loads(args.manifest.read_text())
        if args.manifest.exists()
        else {"projects": {}, "tasks": []}
    )
    projects, tasks = (
        dict(old["projects"]),
        [t for t in old["tasks"] if t["project"] not in args.projects],
    )
    for name in args.projects:
        meta, records = build_project(PROJECTS[name], args, sandbox, cache)
        projects[name] = meta
        tasks += records
    out = {"format": 1, "mutator_version": MUTATOR_VERSION, "seed": args.seed, "sandbox": sandbox.name,
           "projects": projects, "tasks": tasks}  # fmt: skip
    args.manifest.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    log.info("wrote %d tasks to %s", len(tasks), args.manifest)


if __name__ == "__main__":
    main()
