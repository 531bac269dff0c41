"""Unified diffs: make, parse, apply, turn into ``edit_file`` calls, compare (SWE-RL).

Our own small implementation (strict: a hunk applies only where its context
matches, searched outward from the stated line), enough for the patches the
task builder writes, SWE-bench ``patch``/``test_patch`` fields and what agents
submit.

>>> p = make_patch({"m.py": "a = 1\\nb = 2\\n"}, {"m.py": "a = 1\\nb = 3\\n"})
>>> print(p, end="")
--- a/m.py
+++ b/m.py
@@ -1,2 +1,2 @@
 a = 1
-b = 2
+b = 3
>>> apply_patch({"m.py": "a = 1\\nb = 2\\n"}, p)
{'m.py': 'a = 1\\nb = 3\\n'}
>>> patch_similarity(p, p)
1.0
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "PatchError",
    "FilePatch",
    "Hunk",
    "make_patch",
    "parse_patch",
    "apply_patch",
    "patch_edits",
    "patch_similarity",
    "touched_files",
]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """A patch that does not parse or does not apply."""


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[str] = field(default_factory=list)  # each starts with ' ', '-' or '+'

    @property
    def old(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln[0] in " -"]

    @property
    def new(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln[0] in " +"]


@dataclass
class FilePatch:
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def make_patch(before: Mapping[str, str], after: Mapping[str, str], context: int = 3) -> str:
    """A unified diff (``a/``/``b/`` prefixes, sorted by path) from ``before`` to ``after``."""
    out: list[str] = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        old_name = f"a/{path}" if a is not None else "/dev/null"
        new_name = f"b/{path}" if b is not None else "/dev/null"
        lines = difflib.unified_diff(
            _lines(a or ""), _lines(b or ""), old_name, new_name, n=context, lineterm="\n"
        )
        for ln in lines:
            out.append(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _strip_prefix(name: str) -> str | None:
    name = name.split("\t")[0].strip()
    if name == "/dev/null":
        return None
    if name.startswith(("a/", "b/")):
        name = name[2:]
    return name


def parse_patch(text: str) -> list[FilePatch]:
    """The file patches of a unified diff; :class:`PatchError` if malformed or empty."""
    if not isinstance(text, str) or not text.strip():
        raise PatchError("the patch is empty.")
    lines = text.splitlines(keepends=True)
    files: list[FilePatch] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            files.append(FilePatch(_strip_prefix(ln[4:]), _strip_prefix(lines[i + 1][4:])))
            i += 2
            continue
        m = _HUNK.match(ln)
        if m:
            if not files:
                raise PatchError(
                    f"line {i + 1}: a hunk before any '--- a/...' / '+++ b/...' file header."
                )
            old_len = int(m.group(2)) if m.group(2) is not None else 1
            new_len = int(m.group(4)) if m.group(4) is not None else 1
            hunk = Hunk(int(m.group(1)), old_len, int(m.group(3)), new_len)
            i += 1
            n_old = n_new = 0
            while i < len(lines) and (n_old < old_len or n_new < new_len):
                body = lines[i]
                if body.startswith("\\"):
                    i += 1
                    continue
                tag = body[:1] if body.strip("\n") else " "
                if tag not in " -+":
                    raise PatchError(
                        f"line {i + 1}: a hunk line must start with ' ', '-' or '+', got {body[:40]!r}."
                    )
                text_ = body[1:] if body.strip("\n") else "\n"
                hunk.lines.append(tag + text_)
                n_old += tag in " -"
                n_new += tag in " +"
                i += 1
            if (n_old, n_new) != (old_len, new_len):
                raise PatchError(f"a hunk of {files[-1].path} is shorter than its header says.")
            while i < len(lines) and lines[i].startswith("\\"):  # "\ No newline at end of file"
                prev = hunk.lines[-1]
                hunk.lines[-1] = prev[:-1] if prev.endswith("\n") else prev
                i += 1
            files[-1].hunks.append(hunk)
            continue
        i += 1  # "diff --git", "index ...", commentary: ignored
    if not files or not any(f.hunks or f.new_path is None for f in files):
        raise PatchError("no '--- a/...' / '+++ b/...' file with a '@@ ... @@' hunk was found.")
    return files


def _find(haystack: list[str], needle: list[str], start: int) -> int:
    """Index of ``needle`` in ``haystack`` nearest ``start``, or -1."""
    if not needle:
        return min(max(start, 0), len(haystack))
    n = len(needle)
    for delta in range(len(haystack) + 1):
        for pos in (start - delta, start + delta) if delta else (start,):
            if 0 <= pos <= len(haystack) - n and haystack[pos : pos + n] == needle:
                return pos
    return -1


def apply_patch(files: Mapping[str, str], patch: str | list[FilePatch]) -> dict[str, str | None]:
    """The new content of each file the patch touches (``None``: deleted).

    Raises :class:`PatchError` when a file is missing or a hunk's context does not match.
    """
    out: dict[str, str | None] = {}
    for fp in parse_patch(patch) if isinstance(patch, str) else patch:
        if fp.new_path is None:
            out[fp.old_path or ""] = None
            continue
        if fp.old_path is None:
            current: list[str] = []
        else:
            src = out.get(fp.old_path, files.get(fp.old_path))
            if src is None:
                raise PatchError(f"the patch changes {fp.old_path}, which does not exist.")
            current = _lines(src)
        offset = 0
        for h in fp.hunks:
            pos = _find(current, h.old, h.old_start - 1 + offset)
            if pos < 0:
                raise PatchError(
                    f"a hunk of {fp.path} (line {h.old_start}) does not match the file."
                )
            current[pos : pos + len(h.old)] = h.new
            offset += len(h.new) - len(h.old)
        out[fp.new_path] = "".join(current)
    return out


def patch_edits(files: Mapping[str, str], patch: str) -> list[tuple[str, str, str]]:
    """The patch as ``(path, old, new)`` exact-match replacements (``edit_file``
    calls; ``old == ""`` means create the file with ``new``), in order. Each
    ``old`` is widened with surrounding lines until it occurs once in the file."""
    edits: list[tuple[str, str, str]] = []
    for fp in parse_patch(patch):
        if fp.new_path is None:
            continue
        if fp.old_path is None:
            edits.append((fp.new_path, "", "".join(fp.hunks[0].new) if fp.hunks else ""))
            continue
        current = _lines(files[fp.old_path])
        for h in fp.hunks:
            pos = _find(current, h.old, h.old_start - 1)
            if pos < 0:
                raise PatchError(
                    f"a hunk of {fp.path} (line {h.old_start}) does not match the file."
                )
            lo, hi = pos, pos + len(h.old)
            text = "".join(current)
            while "".join(current[lo:hi]).strip() == "" or text.count("".join(current[lo:hi])) > 1:
                if lo == 0 and hi == len(current):
                    break
                lo, hi = max(0, lo - 1), min(len(current), hi + 1)
            old = "".join(current[lo:hi])
            new = (
                "".join(current[lo:pos]) + "".join(h.new) + "".join(current[pos + len(h.old) : hi])
            )
            edits.append((fp.path, old, new))
            current[lo:hi] = _lines(new)
    return edits


def touched_files(patch: str) -> list[str]:
    """The paths a patch changes (sorted); empty for an unparsable patch."""
    try:
        return sorted({fp.path for fp in parse_patch(patch)})
    except PatchError:
        return []


def _canonical(patch: str) -> str:
    """Hunks only, files sorted: what SWE-RL's similarity compares."""
    parts = []
    for fp in sorted(parse_patch(patch), key=lambda f: f.path):
        parts.append(f"--- {fp.path}\n")
        for h in fp.hunks:
            parts.append("".join(ln if ln.endswith("\n") else ln + "\n" for ln in h.lines))
    return "".join(parts)


def patch_similarity(predicted: str, gold: str) -> float:
    """SWE-RL's reward: ``difflib.SequenceMatcher`` ratio of the two patches
    (hunks, files sorted); **-1.0** when ``predicted`` does not parse."""
    try:
        pred = _canonical(predicted)
    except PatchError:
        return -1.0
    return difflib.SequenceMatcher(None, pred, _canonical(gold), autojunk=False).ratio()
