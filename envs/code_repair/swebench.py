"""Bring your own tasks: SWE-bench-style instances (JSONL) as CodeRepair-v0 tasks.

One JSON object per line::

    {"instance_id": "mylib-1",
     "repo": "snapshots/mylib",            # a directory (relative to the JSONL file), the base state
     "patch": "--- a/mylib/core.py\\n+++ b/mylib/core.py\\n@@ ...",   # the gold fix
     "test_patch": "--- a/tests/test_core.py\\n+++ ...",            # the hidden tests
     "FAIL_TO_PASS": ["tests/test_core.py::test_bug"],              # a list, or a JSON-encoded list
     "PASS_TO_PASS": ["tests/test_core.py::test_ok"],
     "problem_statement": "core.add() returns the wrong sum ...",
     "source_roots": ["mylib"],            # optional: default, the top folders the patch touches
     "split": "test"}                      # optional: default "test"

Instead of ``repo``, ``"sdist": {"project": "toolz", "version": "1.0.0"}``
names a pinned sdist unpacked in the cache by
``scripts/build_code_repair_tasks.py``. The agent's workspace is the base
state; grading applies the ``test_patch`` to a pristine copy, adds the agent's
source changes and runs FAIL_TO_PASS and PASS_TO_PASS there. The oracle applies
``patch`` as ``edit_file`` calls (``Task.answer``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentgym.envs.code_repair.patches import PatchError, apply_patch, parse_patch, patch_edits
from agentgym.envs.code_repair.reward import edited_functions
from agentgym.errors import ConfigError

__all__ = ["load_instances", "instance_record"]

_REQUIRED = (
    "instance_id",
    "patch",
    "test_patch",
    "FAIL_TO_PASS",
    "PASS_TO_PASS",
    "problem_statement",
)


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [str(v) for v in value]


def instance_record(
    inst: dict[str, Any], base_dir: Path, cache_dir: Path | None = None
) -> dict[str, Any]:
    """The task record of one instance (see the module docstring)."""
    from agentgym.envs.code_repair.tasks import default_cache_dir, source_dir

    missing = [k for k in _REQUIRED if k not in inst]
    if missing:
        raise ConfigError(f"instance {inst.get('instance_id', '?')!r} lacks {', '.join(missing)}.")
    if "repo" in inst:
        source = {"kind": "dir", "path": str((base_dir / inst["repo"]).resolve())}
    elif "sdist" in inst:
        source = {"kind": "sdist", **inst["sdist"]}
    else:
        raise ConfigError(
            f"instance {inst['instance_id']!r} needs 'repo' (a directory) or 'sdist'."
        )
    root = source_dir(source, cache_dir or default_cache_dir())
    try:
        touched = [fp for fp in parse_patch(inst["patch"])]
        before = {fp.old_path: (root / fp.old_path).read_text() for fp in touched if fp.old_path}
        after = apply_patch(before, inst["patch"])
        fix = [{"path": p, "old": o, "new": n} for p, o, n in patch_edits(before, inst["patch"])]
    except (PatchError, OSError) as e:
        raise ConfigError(
            f"instance {inst['instance_id']!r}: the patch does not apply to {root}: {e}"
        ) from e
    roots = inst.get("source_roots") or sorted({fp.path.split("/")[0] for fp in touched})
    locations = sorted(
        {(p, f) for p, names in edited_functions(before, after).items() for f in names}
    )
    return {
        "project": inst.get("project", root.name),
        "source": source,
        "bug": [],
        "fix": fix,
        "test_patch": inst["test_patch"],
        "hidden": [],
        "fail_to_pass": _ids(inst["FAIL_TO_PASS"]),
        "pass_to_pass": _ids(inst["PASS_TO_PASS"]),
        "source_roots": list(roots),
        "gold_patch": inst["patch"],
        "gold_locations": [list(x) for x in locations],
        "mutations": [],
        "seed": 0,
        "instance_id": inst["instance_id"],
        "split": inst.get("split", "test"),
        "prompt": inst["problem_statement"],
        "content_key": f"swebench|{inst['instance_id']}",
    }


def load_instances(path: str | Path, cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """Every instance of a JSONL file as a task record."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(
            f"data={str(path)!r} is neither 'tiny', 'built' nor an instance file (JSONL) that exists."
        )
    out = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            inst = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p}:{n}: not JSON ({e}).") from e
        out.append(instance_record(inst, p.parent, cache_dir))
    return out
