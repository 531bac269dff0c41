"""The agent's copy of a repository: confined paths, reset from a pristine copy, diffs.

A :class:`Workspace` is a directory the agent may read and change through the
env's tools. Every path the agent gives goes through :meth:`Workspace.resolve`:
relative to the repository root, no absolute paths, no ``..`` that leaves the
root, and no symlink (anywhere on the way) that points outside it.

Reset is a copy of a pristine tree kept in the cache (bubblewrap 0.8 has no
overlay mounts, and hard links would let a ``run`` command that writes a file in
place change the pristine copy through the shared inode): :func:`copy_tree`
copies regular files and directories only, so nothing a previous episode left
(symlinks, fifos) survives.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> ws = Workspace(root)
>>> ws.resolve("pkg/mod.py") == root / "pkg" / "mod.py"
True
>>> try:
...     ws.resolve("../etc/passwd")
... except PathError as e:
...     print(e)
'../etc/passwd' leaves the repository; paths are relative to its root.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Workspace", "PathError", "copy_tree", "snapshot", "changed_files", "SKIP_DIRS"]

# Never listed, diffed or copied back: caches the tools and test runs create.
SKIP_DIRS = frozenset(
    {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".tox"}
)
MAX_FILE_BYTES = 1 << 20  # files larger than this are not read or diffed as text


class PathError(ValueError):
    """A path the agent gave is outside the repository or otherwise unusable."""


class Workspace:
    """A repository directory with confined path resolution (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def resolve(self, path: str, *, must_exist: bool = False) -> Path:
        """The absolute path of ``path`` (relative to the root), or :class:`PathError`."""
        if not isinstance(path, str) or "\x00" in path:
            raise PathError(f"{path!r} is not a usable path.")
        text = path.strip() or "."
        if os.path.isabs(text) or text.startswith("~"):
            raise PathError(
                f"{path!r} is absolute; give a path relative to the repository root, e.g. 'src/mod.py'."
            )
        parts = Path(text).parts
        depth = 0
        for part in parts:
            depth += -1 if part == ".." else (0 if part == "." else 1)
            if depth < 0:
                raise PathError(f"{path!r} leaves the repository; paths are relative to its root.")
        full = self.root / text
        # Follow every symlink on the way: the real location must stay inside.
        real = Path(os.path.realpath(full))
        if real != self.root and self.root not in real.parents:
            raise PathError(f"{path!r} leads outside the repository (through a symlink).")
        if must_exist and not full.exists():
            raise PathError(f"{path!r} does not exist. Use list_files to see what is there.")
        return real

    def rel(self, full: Path) -> str:
        return full.relative_to(self.root).as_posix() or "."

    def files(self, under: Path | None = None) -> Iterator[Path]:
        """Regular files under ``under`` (default: the root), sorted, skipping caches and symlinks."""
        yield from _walk(under or self.root)


def _walk(top: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except (NotADirectoryError, FileNotFoundError, PermissionError):
        return
    for e in entries:
        if e.is_symlink():
            continue
        if e.is_dir(follow_symlinks=False):
            if e.name not in SKIP_DIRS:
                yield from _walk(Path(e.path))
        elif e.is_file(follow_symlinks=False):
            yield Path(e.path)


def copy_tree(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy the regular files and directories of ``src`` to a fresh ``dst``
    (removed first if it exists); symlinks and special files are dropped."""
    dst = Path(dst)
    if dst.exists() or dst.is_symlink():
        remove_tree(dst)
    src = Path(src)
    dst.mkdir(parents=True)
    for root, dirs, files in os.walk(src):
        dirs[:] = [
            d for d in dirs if d not in SKIP_DIRS and not os.path.islink(os.path.join(root, d))
        ]
        out = dst / os.path.relpath(root, src)
        for d in dirs:
            (out / d).mkdir()
        for f in files:
            p = os.path.join(root, f)
            if stat.S_ISREG(os.lstat(p).st_mode):
                shutil.copyfile(p, out / f)


def remove_tree(path: Path) -> None:
    """Remove ``path`` even where sandboxed code made files read-only."""

    def onerror(func, p, _exc):  # noqa: ANN001 (shutil's callback signature)
        try:
            os.chmod(os.path.dirname(p), 0o755)
            os.chmod(p, 0o755)
            func(p)
        except OSError:
            pass

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        for root, dirs, _files in os.walk(path):  # give ourselves write access first
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o755, follow_symlinks=False)
                except (OSError, NotImplementedError):
                    pass
        shutil.rmtree(path, onerror=onerror)


def snapshot(root: str | os.PathLike[str]) -> dict[str, bytes]:
    """Relative path -> content of every regular file (caches and symlinks skipped)."""
    root = Path(root)
    out = {}
    for p in _walk(root):
        try:
            if p.stat().st_size <= MAX_FILE_BYTES * 8:
                out[p.relative_to(root).as_posix()] = p.read_bytes()
        except OSError:
            continue
    return out


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> dict[str, bytes | None]:
    """Path -> new content (``None`` when deleted) of every file that differs."""
    out: dict[str, bytes | None] = {p: c for p, c in after.items() if before.get(p) != c}
    out.update({p: None for p in before if p not in after})
    return dict(sorted(out.items()))
