"""Issue text: the failing behaviour as a user would report it, without the test.

From the FAIL_TO_PASS tests we take what a user sees, never the test's code:
the public names the failing tests call (parsed from the test functions'
bodies, so the report names ``truncate()``, not the line that is wrong), what
the behaviour is (the test's name in words) and how it fails (the exception
type, or "a wrong result"; assertion text is cut to the values compared).

>>> files = {"tests/test_s.py": "from pkg.s import slug\\n\\ndef test_slug_keeps_digits():\\n    assert slug('a1') == 'a1'\\n"}
>>> print(issue_text("pkg", files, ["tests/test_s.py::test_slug_keeps_digits"], {}))
Bug report: `slug()` misbehaves in pkg
<BLANKLINE>
After the latest changes, `slug()` no longer behaves as documented:
<BLANKLINE>
- slug keeps digits: it gives a wrong result.
<BLANKLINE>
Please fix the library so that these cases work again (without changing its documented API).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

__all__ = ["issue_text"]

_MAX_CASES = 4


def _called_names(files: Mapping[str, str], test_id: str) -> list[str]:
    """Names the test function calls that its module imported from elsewhere."""
    path, _, name = test_id.partition("::")
    name = name.split("[")[0].split("::")[-1]
    try:
        tree = ast.parse(files.get(path, ""))
    except SyntaxError:
        return []
    imported, modules = set(), set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and not (node.module or "").startswith(
            ("pytest", "unittest")
        ):
            imported |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {
                a.asname or a.name for a in node.names if a.name not in ("pytest", "unittest")
            }
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call):
                    f = sub.func
                    n = (
                        f.id
                        if isinstance(f, ast.Name)
                        else (f.attr if isinstance(f, ast.Attribute) else "")
                    )
                    if (
                        (n in imported or isinstance(f, ast.Attribute))
                        and n not in out
                        and not n.startswith("assert")
                    ):
                        via_module = (
                            isinstance(f, ast.Attribute) and getattr(f.value, "id", None) in modules
                        )
                        if isinstance(f, ast.Name) or via_module or n in _methods(files):
                            out.append(n)
    return out


def _methods(files: Mapping[str, str]) -> set[str]:
    """Public method names defined by classes of the project's non-test modules."""
    names = set()
    for path, text in files.items():
        if not path.endswith(".py") or "test" in path.split("/")[-1]:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names |= {
                    f.name
                    for f in node.body
                    if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")
                }
    return names


def _words(test_id: str) -> str:
    name = test_id.split("::")[-1]
    base, _, params = name.partition("[")
    text = base.removeprefix("test_").removeprefix("test").replace("_", " ").strip() or base
    return f"{text} (case {params.rstrip(']')})" if params else text


def _how(failure: str) -> str:
    """How a failure looks to a user: an exception, or a wrong result."""
    detail = failure.split(":", 1)[1].strip() if ":" in failure else failure
    kind = detail.split(":", 1)[0].strip()
    if (
        not failure
        or kind.startswith("AssertionError")
        or kind in ("assert", "Failed")
        or "DID NOT RAISE" in detail
    ):
        if "DID NOT RAISE" in detail:
            return "it no longer raises an error for invalid input."
        return "it gives a wrong result."
    if kind.isidentifier():
        return f"it raises {kind} unexpectedly."
    return "it gives a wrong result."


def issue_text(
    project: str, files: Mapping[str, str], fail_to_pass: Sequence[str], failures: Mapping[str, str]
) -> str:
    """A user's bug report for the FAIL_TO_PASS tests (see the module docstring)."""
    names: list[str] = []
    for t in fail_to_pass:
        names += [n for n in _called_names(files, t) if n not in names]
    shown = ", ".join(f"`{n}()`" for n in names[:3]) or f"`{project}`"
    s = "" if len(names[:3]) > 1 else "s"  # "`a()`, `b()` misbehave" / "`a()` misbehaves"
    lines = [
        f"Bug report: {shown} misbehave{s} in {project}",
        "",
        f"After the latest changes, {shown} no longer behave{s} as documented:",
        "",
    ]
    for t in list(fail_to_pass)[:_MAX_CASES]:
        lines.append(f"- {_words(t)}: {_how(failures.get(t, ''))}")
    if len(fail_to_pass) > _MAX_CASES:
        lines.append(f"- ... and {len(fail_to_pass) - _MAX_CASES} more cases.")
    lines += [
        "",
        "Please fix the library so that these cases work again (without changing its documented API).",
    ]
    return "\n".join(lines)
