"""Bug injection by AST mutation: where a bug can go, and the text edit that puts it there.

Operators (``Mutation.operator``):

* ``binop``      — an arithmetic/bitwise operator swapped (``+``→``-``, ``*``→``+``, ``//``→``/`` …)
* ``compare``    — a comparison flipped or loosened (``<``→``<=``, ``==``→``!=``, ``in``→``not in`` …)
* ``boolop``     — ``and``↔``or``; ``not x``→``x``
* ``constant``   — an integer constant off by one (``n``→``n + 1``), ``True``↔``False``
* ``remove``     — a statement removed (replaced by ``pass``), an ``else`` branch removed
* ``swap_args``  — the first two positional arguments of a call swapped
* ``variable``   — a local variable read replaced by another local of the same function

Each mutation is a splice of the module's text (the node's source span
replaced by the unparsed mutated node), so the rest of the file keeps its
formatting and the diff stays one or two lines.

>>> src = "def clamp(x, lo, hi):\\n    return max(lo, min(x, hi))\\n"
>>> muts = list(mutations(src, "m.py"))
>>> sorted({m.operator for m in muts})
['swap_args', 'variable']
>>> print(muts[0].apply(src), end="")
def clamp(x, lo, hi):
    return max(min(x, hi), lo)
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import asdict, dataclass

__all__ = ["Mutation", "mutations", "edit_snippets", "MUTATOR_VERSION"]

MUTATOR_VERSION = 1  # bump when the candidate list for a given source changes

_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
          ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
          ast.LShift: ast.RShift, ast.RShift: ast.LShift}  # fmt: skip
_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
        ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}  # fmt: skip
_OP_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
            ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
            ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
            ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}  # fmt: skip


@dataclass(frozen=True)
class Mutation:
    """One candidate bug: replace ``source[start:end]`` (character offsets) of
    ``path`` with ``replacement``."""

    path: str
    operator: str
    description: str
    function: str  # the enclosing function ("" at module level)
    line: int
    start: int
    end: int
    replacement: str

    @property
    def key(self) -> str:
        return f"{self.path}:{self.start}-{self.end}:{self.operator}:{self.replacement}"

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]

    def to_dict(self) -> dict:
        return asdict(self)


def _offsets(source: str) -> list[int]:
    starts, pos = [0], 0
    for line in source.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def _indent(text: str, col: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * col + ln if ln else ln for ln in lines[1:]])


class _Finder(ast.NodeVisitor):
    def __init__(self, source: str, path: str) -> None:
        self.source, self.path = source, path
        self.line_starts = _offsets(source)
        self.func: list[tuple[str, set[str]]] = []
        self.out: list[Mutation] = []

    def span(self, node: ast.AST) -> tuple[int, int]:
        ls = self.line_starts

        # ast columns are UTF-8 byte offsets; convert through the line's bytes.
        def off(line: int, col: int) -> int:
            text = self.source[ls[line - 1] : ls[line]]
            return ls[line - 1] + len(text.encode()[:col].decode(errors="ignore"))

        return off(node.lineno, node.col_offset), off(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def add(self, node: ast.AST, new: ast.AST | str, operator: str, description: str) -> None:
        start, end = self.span(node)
        col = node.col_offset  # type: ignore[attr-defined]
        text = new if isinstance(new, str) else _indent(ast.unparse(new), col)
        if text == self.source[start:end]:
            return
        candidate = self.source[:start] + text + self.source[end:]
        try:
            ast.parse(candidate)
        except SyntaxError:
            return
        fn = self.func[-1][0] if self.func else ""
        self.out.append(
            Mutation(self.path, operator, description, fn, node.lineno, start, end, text)
        )  # type: ignore[attr-defined]

    # -- scopes -------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        names = {a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
        names.discard("self")
        names.discard("cls")
        self.func.append((node.name, names))
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
        ):
            body = body[1:]  # the docstring is not code
        if len(body) > 1:
            for stmt in body[:-1]:
                if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Expr, ast.If, ast.For)):
                    self.add(stmt, "pass", "remove", f"a statement removed in {node.name}()")
        for stmt in body:
            self.visit(stmt)
        self.func.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    # -- expressions --------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> None:
        new_op = _BINOP.get(type(node.op))
        if new_op is not None and self.func:
            m = copy.deepcopy(node)
            m.op = new_op()
            self.add(node, m, "binop", f"'{_OP_TEXT[type(node.op)]}' became '{_OP_TEXT[new_op]}'")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if self.func:
            for i, op in enumerate(node.ops):
                new_op = _CMP.get(type(op))
                if new_op is not None:
                    m = copy.deepcopy(node)
                    m.ops[i] = new_op()
                    self.add(
                        node, m, "compare", f"'{_OP_TEXT[type(op)]}' became '{_OP_TEXT[new_op]}'"
                    )
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        if self.func:
            m = copy.deepcopy(node)
            m.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            self.add(node, m, "boolop", f"'{old}' became '{new}'")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if self.func and isinstance(node.op, ast.Not):
            self.add(node, node.operand, "boolop", "a 'not' was dropped")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not self.func:
            return
        v = node.value
        if isinstance(v, bool):
            self.add(node, ast.Constant(not v), "constant", f"{v} became {not v}")
        elif isinstance(v, int) and abs(v) < 10_000:
            self.add(
                node,
                ast.Constant(v + 1),
                "constant",
                f"the constant {v} became {v + 1} (off by one)",
            )
            if v > 0:
                self.add(
                    node,
                    ast.Constant(v - 1),
                    "constant",
                    f"the constant {v} became {v - 1} (off by one)",
                )

    def visit_Call(self, node: ast.Call) -> None:
        args = node.args
        if self.func and len(args) >= 2 and not any(isinstance(a, ast.Starred) for a in args[:2]):
            if ast.dump(args[0]) != ast.dump(args[1]):
                m = copy.deepcopy(node)
                m.args[0], m.args[1] = m.args[1], m.args[0]
                self.add(node, m, "swap_args", "the first two arguments of a call were swapped")
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if (
            self.func
            and node.orelse
            and not (len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If))
        ):
            m = copy.deepcopy(node)
            m.orelse = []
            self.add(node, m, "remove", "an else branch was removed")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if self.func and isinstance(node.ctx, ast.Load):
            names = sorted(self.func[-1][1])
            if node.id in names and len(names) > 1:
                other = names[(names.index(node.id) + 1) % len(names)]
                self.add(
                    node,
                    other,
                    "variable",
                    f"the variable '{node.id}' was read instead as '{other}'",
                )


def mutations(source: str, path: str) -> Iterator[Mutation]:
    """Every candidate mutation of a module, in source order (deterministic)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return iter(())
    finder = _Finder(source, path)
    finder.visit(tree)
    return iter(sorted(finder.out, key=lambda m: (m.start, m.end, m.operator, m.replacement)))


def edit_snippets(
    before: str, after: str, start: int, end_before: int, end_after: int
) -> tuple[str, str]:
    """Whole-line snippets ``(old, new)`` around a splice, widened until each
    occurs exactly once in its own file: ``before.replace(old, new) == after``."""
    lb, la = before.splitlines(keepends=True), after.splitlines(keepends=True)
    first = before.count("\n", 0, start)
    last_b = before.count("\n", 0, max(start, end_before - 1))
    last_a = after.count("\n", 0, max(start, end_after - 1))
    lo, hi_b, hi_a = first, last_b + 1, last_a + 1
    while True:
        old, new = "".join(lb[lo:hi_b]), "".join(la[lo:hi_a])
        if before.count(old) == 1 and after.count(new) == 1 and old.strip() and new.strip():
            return old, new
        if lo == 0 and hi_b >= len(lb) and hi_a >= len(la):
            return before, after
        lo = max(0, lo - 1)
        hi_b, hi_a = min(len(lb), hi_b + 1), min(len(la), hi_a + 1)
