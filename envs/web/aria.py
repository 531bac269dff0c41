"""Browser mode's observation: the page's ARIA snapshot with our element numbers.

Chromium's accessibility tree, as Playwright renders it
(``locator.aria_snapshot(boxes=True)``: one YAML line per node, ``- role "name"
[state] [box=x,y,w,h]``), is what the agent reads in browser mode. The element
references in it are the numbers the tools take, the same ``data-agid``
numbers text mode shows, so an agent's actions, the oracle's and the rewards are
the same in both modes. A node gets the number of the numbered DOM element that
has its role and exactly its bounding box (both are read in one layout, rounded
as Playwright rounds them); a numbered element that has no node of its own (a
clickable ``<span>`` of a MiniWoB page merges into its parent's text) is marked
where its text is, else listed after the tree. Only nodes that intersect the
viewport are shown (and their ancestors), so ``scroll`` moves the real page.
Link targets (``/url:``) are left out: the agent clicks by number.

>>> snap = '''- heading "Shop" [level=1] [box=8,8,600,38]
... - textbox "Search" [box=8,60,180,21]
... - paragraph [box=8,100,600,19]:
...   - text: See
...   - link "Boots" [box=40,100,45,19]:
...     - /url: /item/1
... - link "Far away" [box=8,2000,58,19]'''
>>> els = [NumberedBox(1, "textbox", "Search", (8, 60, 180, 21)),
...        NumberedBox(2, "link", "Boots", (40, 100, 45, 19)),
...        NumberedBox(3, "link", "Far away", (8, 2000, 58, 19))]
>>> print(annotate(snap, els, viewport_height=720))
- heading "Shop" [level=1]
- textbox "Search" [1]
- paragraph:
  - text: See
  - link "Boots" [2]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NumberedBox", "annotate", "ROLES"]

ROLES: dict[str, frozenset[str]] = {
    "link": frozenset({"link"}),
    "button": frozenset({"button"}),
    "textbox": frozenset({"textbox", "searchbox", "spinbutton", "combobox", "slider"}),
    "textarea": frozenset({"textbox"}),
    "select": frozenset({"combobox", "listbox"}),
    "checkbox": frozenset({"checkbox", "switch"}),
    "radio": frozenset({"radio"}),
}
"""Our element kinds -> the ARIA roles their node may have (``clickable``: any role)."""

Box = tuple[int, int, int, int]
_BOX = re.compile(r" \[box=(-?\d+),(-?\d+),(-?\d+),(-?\d+)\]")
_LINE = re.compile(r"^( *)- (.*)$")


@dataclass(frozen=True)
class NumberedBox:
    """A numbered DOM element as the browser saw it: number, kind, label, bounding box."""

    id: int
    kind: str
    label: str
    box: Box


@dataclass
class _Node:
    depth: int
    text: str  # the line without its box
    role: str
    box: Box | None
    number: int | None = None
    keep: bool = False


def _parse(snapshot: str) -> list[_Node]:
    nodes: list[_Node] = []
    for raw in snapshot.splitlines():
        m = _LINE.match(raw)
        if m is None:  # a continuation line (never seen from Playwright; kept with its node)
            if nodes:
                nodes[-1].text += " " + raw.strip()
            continue
        depth, body = len(m.group(1)) // 2, m.group(2)
        b = _BOX.search(body)
        box = tuple(int(v) for v in b.groups()) if b else None
        if b:
            body = body[: b.start()] + body[b.end():]
        role = re.split(r"[ :]", body, maxsplit=1)[0]
        nodes.append(_Node(depth, body, role, box if box and box[2] > 0 and box[3] > 0 else None))  # type: ignore[arg-type]
    return nodes


def _match(nodes: list[_Node], elements: list[NumberedBox]) -> list[NumberedBox]:
    """Give nodes their numbers; return the elements no node took."""
    free: dict[Box, list[NumberedBox]] = {}
    for el in elements:
        free.setdefault(el.box, []).append(el)
    left = {el.id for el in elements}
    for strict in (True, False):  # first the element's own role, then any node with its box
        for node in nodes:
            if node.box is None or node.number is not None or node.role in ("text", "/url", "/placeholder"):
                continue
            for el in free.get(node.box, []):
                roles = ROLES.get(el.kind)
                if el.id in left and (not strict or roles is None or node.role in roles):
                    node.number = el.id
                    left.discard(el.id)
                    break
    return [el for el in elements if el.id in left]


def _mark_in_text(nodes: list[_Node], el: NumberedBox, start: tuple[int, int]) -> tuple[int, int] | None:
    """Mark ``el`` where its label first appears in a line's text after ``start`` (line,
    offset: just after the previous mark, so marks stay in document order)."""
    label = el.label.strip()
    if not label:
        return None
    for i in range(start[0], len(nodes)):
        node = nodes[i]
        if node.role in ("/url", "/placeholder"):
            continue
        head, sep, tail = _split_value(node.text)
        if not sep:
            continue
        skip = max(0, start[1] - len(head) - len(sep)) if i == start[0] else 0
        k = tail.find(label, skip)
        if k >= 0:
            mark = f"[{el.id}] "
            node.text = f"{head}{sep}{tail[:k]}{mark}{tail[k:]}"
            return i, len(head) + len(sep) + k + len(mark) + len(label)
    return None


def annotate(snapshot: str, elements: list[NumberedBox], *, viewport_height: int) -> str:
    """The snapshot with element numbers in place of boxes, cut to the viewport.

    Args:
        snapshot: Playwright's ``aria_snapshot(boxes=True)`` of the page (or of its task area).
        elements: The page's visible numbered elements with their boxes, in document order.
        viewport_height: The viewport's height in CSS pixels (boxes are relative to it).
    """
    nodes = _parse(snapshot)
    unplaced = _match(nodes, elements)
    # Elements without a node of their own: marked at their text (in document order), else listed.
    pos: tuple[int, int] = (0, 0)
    listed = []
    for el in unplaced:
        at = _mark_in_text(nodes, el, pos)
        if at is None:
            listed.append(el)
        else:
            pos = at

    def shown(box: Box | None) -> bool | None:
        return None if box is None else box[1] < viewport_height and box[1] + box[3] > 0

    # Keep nodes in the viewport, their ancestors, and box-less lines (text, options, the
    # link's /url) that follow a kept node at a shallower or equal depth.
    stack: list[_Node] = []
    last_boxed: list[tuple[int, bool]] = []  # (depth, shown) of the boxed lines above
    for node in nodes:
        while stack and stack[-1].depth >= node.depth:
            stack.pop()
        vis = shown(node.box)
        if vis is None:
            while last_boxed and last_boxed[-1][0] > node.depth:
                last_boxed.pop()
            vis = last_boxed[-1][1] if last_boxed else True
        else:
            while last_boxed and last_boxed[-1][0] >= node.depth:
                last_boxed.pop()
            last_boxed.append((node.depth, vis))
        if vis:
            node.keep = True
            for parent in stack:
                parent.keep = True
        stack.append(node)
    has_child = [False] * len(nodes)
    for i, node in enumerate(nodes):
        if node.keep and node.role != "/url":
            for j in range(i - 1, -1, -1):  # the parent: the nearest line above that is shallower
                if nodes[j].depth < node.depth:
                    has_child[j] = True
                    break
    lines = []
    for i, node in enumerate(nodes):
        if not node.keep or node.role == "/url":
            continue
        head, sep, tail = _split_value(node.text)
        if len(head) > 1 and head[0] == head[-1] == "'":  # YAML quotes a key holding '#', ': ' ...
            head = head[1:-1].replace("''", "'")
        if node.number is not None:  # after the role, name and states, before any ": value"
            head = f"{head} [{node.number}]"
        if sep and not tail.strip() and not has_child[i]:
            sep = ""  # its only children were left out
        lines.append("  " * node.depth + "- " + head + sep + tail)
    for el in listed:
        if shown(el.box):
            lines.append(f'- [{el.id}] {el.kind} "{el.label}"')
    return "\n".join(lines)


def _split_value(text: str) -> tuple[str, str, str]:
    """``link "a: b" [checked]: value`` -> (key, ":", " value"); the key may quote colons."""
    in_quote, escaped = False, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            in_quote = not in_quote
        elif ch == ":" and not in_quote:
            return text[:i], ":", text[i + 1:]
    return text, "", ""
