"""HTML to compact text with numbered interactive elements (both modes use it).

A :class:`Page` is what the agent sees of a web page: its lines of text, with
every interactive element (links, buttons, text boxes, selects, checkboxes,
radios, text areas) numbered in document order, and the forms those elements
belong to. Text mode parses the server's HTML; browser mode parses the live
DOM that Chromium serializes after tagging each element with ``data-agid`` (the
same document-order numbering), so an element has the same number in both
modes.

>>> page = parse_page('<h1>Shop</h1><form action="/search"><input name="q" placeholder="Search">'
...                   '<button>Go</button></form><a href="/item/1">Boots</a>', "http://x/")
>>> print(page.text())
# Shop
[1] textbox "Search" = "" [2] button "Go"
[3] link "Boots"
>>> page.elements[3].href
'http://x/item/1'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

__all__ = ["Element", "Form", "Page", "parse_page", "INTERACTIVE_SELECTOR"]

INTERACTIVE_SELECTOR = "a[href], button, input:not([type=hidden]), select, textarea"
"""The elements that get numbers (the browser layer tags the same set)."""

_SKIP = {"script", "style", "head", "noscript", "template", "svg"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_BLOCK = {"p", "div", "section", "article", "header", "footer", "nav", "main", "ul", "ol", "table", "tr",
          "form", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "li", "br", "hr", "aside", "fieldset",
          "tbody", "thead", "blockquote", "pre", "figure"}
_HEADING = {"h1": "# ", "h2": "## ", "h3": "### ", "h4": "#### "}
_SPACES = re.compile(r"\s+")
_TIGHT = re.compile(r"\x00 ([.,;:)])")  # no space between an element and the punctuation after it


@dataclass
class Element:
    """One numbered element; ``value`` is its live state (text, selected value)."""

    id: int
    kind: str  # link | button | textbox | select | checkbox | radio | textarea | clickable
    label: str = ""
    href: str | None = None
    name: str = ""
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) of a select
    checked: bool = False
    form: int | None = None
    input_type: str = ""
    visible: bool = True
    disabled: bool = False

    def describe(self) -> str:
        """The element as one line of the observation."""
        label = self.label.replace('"', "'")
        if self.kind == "link":
            return f'[{self.id}] link "{label}"'
        if self.kind == "clickable":
            return f"[{self.id}]"
        if self.kind == "button":
            return f'[{self.id}] button "{label}"' + (" (disabled)" if self.disabled else "")
        if self.kind in ("checkbox", "radio"):
            return f'[{self.id}] {self.kind} "{label}" [{"x" if self.checked else " "}]'
        if self.kind == "select":
            shown = next((lab for v, lab in self.options if v == self.value), "")
            choices = ", ".join(lab for v, lab in self.options if v != "")
            return f'[{self.id}] select "{label}" = "{shown}" (options: {choices})'
        return f'[{self.id}] {self.kind} "{label}" = "{self.value}"'


@dataclass
class Form:
    action: str
    method: str
    elements: list[int] = field(default_factory=list)


@dataclass
class Page:
    """A parsed page: lines of text, numbered elements, forms."""

    url: str
    title: str
    lines: list[str]
    elements: dict[int, Element]
    forms: list[Form]
    status: int = 200

    def text(self, start: int = 0, count: int | None = None) -> str:
        """The lines ``start .. start + count`` (elements rendered with their live state)."""
        end = len(self.lines) if count is None else start + count
        return "\n".join(self._line(line) for line in self.lines[start:end])

    def _line(self, line: str) -> str:
        # Element placeholders (\x00id\x00) are filled in at render time: values change.
        if "\x00" not in line:
            return line
        parts = line.split("\x00")
        return "".join(self.elements[int(p)].describe() if i % 2 else p for i, p in enumerate(parts))

    def form_fields(self, form: int) -> list[tuple[str, str]]:
        """The (name, value) pairs a submission of ``form`` sends (buttons excluded)."""
        out: list[tuple[str, str]] = []
        for eid in self.forms[form].elements:
            el = self.elements[eid]
            if not el.name or el.disabled or el.kind == "button":
                continue
            if el.kind in ("checkbox", "radio"):
                if el.checked:
                    out.append((el.name, el.value or "on"))
            else:
                out.append((el.name, el.value))
        return out


class _Parser(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.lines: list[str] = []
        self.cur: list[str] = []
        self.elements: dict[int, Element] = {}
        self.forms: list[Form] = []
        self.form_stack: list[int] = []
        self.counter = 0
        self.skip = 0  # depth inside skipped (script, hidden ...) elements
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped-here)
        self.open_el: Element | None = None  # link/button/option collecting its text
        self.open_text: list[str] = []
        self.select: Element | None = None
        self.option: tuple[str | None, bool] | None = None
        self.title = ""
        self.in_title = False
        self.labels: dict[str, str] = {}  # html id -> the text of its <label for=...>
        self.label_stack: list[tuple[str, list[str], list[Element]]] = []
        self.by_html_id: dict[str, Element | None] = {}
        self.last: Element | None = None

    # -- helpers -------------------------------------------------------
    def newline(self) -> None:
        line = _TIGHT.sub("\x00\\1", _SPACES.sub(" ", "".join(self.cur))).strip()
        if line:
            self.lines.append(line)
        self.cur = []

    def new_element(self, kind: str, attrs: dict[str, str | None], visible: bool) -> Element:
        el = self._new_element(kind, attrs, visible)
        self.last = el
        for _, _, wrapped in self.label_stack:
            wrapped.append(el)
        return el

    def _new_element(self, kind: str, attrs: dict[str, str | None], visible: bool) -> Element:
        self.counter += 1
        eid = int(attrs["data-agid"]) if (attrs.get("data-agid") or "").isdigit() else self.counter
        el = Element(id=eid, kind=kind, name=attrs.get("name") or "", form=self.form_stack[-1] if self.form_stack else None,
                     visible=visible, disabled="disabled" in attrs)
        self.elements[eid] = el
        if el.form is not None:
            self.forms[el.form].elements.append(eid)
        return el

    def place(self, el: Element) -> None:
        if el.visible:
            self.cur.append(f" \x00{el.id}\x00 ")

    # -- parser callbacks ------------------------------------------------
    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        hidden = (tag in _SKIP or "hidden" in attrs or "data-aghidden" in attrs
                  or "display:none" in (attrs.get("style") or "").replace(" ", ""))
        if tag not in _VOID:
            self.stack.append((tag, hidden))
            if hidden:
                self.skip += 1
        visible = self.skip == 0 and not hidden
        if tag == "title":
            self.in_title = True
        if tag in _BLOCK:
            self.newline()
            if tag in _HEADING and visible:
                self.cur.append(_HEADING[tag])
            elif tag == "li" and visible:
                self.cur.append("- ")
        elif tag in ("td", "th") and self.cur:
            self.cur.append(" | ")
        if tag == "label":
            self.label_stack.append((attrs.get("for") or "", [], []))
        if attrs.get("id"):
            self.by_html_id[attrs["id"] or ""] = None
        if tag == "form":
            self.forms.append(Form(urljoin(self.url, attrs.get("action") or self.url), (attrs.get("method") or "get").lower()))
            self.form_stack.append(len(self.forms) - 1)
        elif tag == "a" and attrs.get("href") is not None:
            el = self.new_element("link", attrs, visible)
            el.href = urljoin(self.url, attrs["href"] or "")
            self.open_el, self.open_text = el, []
        elif tag == "button":
            el = self.new_element("button", attrs, visible)
            el.input_type = (attrs.get("type") or "submit").lower()
            el.value = attrs.get("value") or ""
            self.open_el, self.open_text = el, []
        elif tag == "input":
            self.input(attrs, visible)
        elif tag == "select":
            el = self.new_element("select", attrs, visible)
            el.label = attrs.get("aria-label") or self.labels.get(attrs.get("id") or "", "") or el.name
            self.select = el
        elif tag == "option" and self.select is not None:
            self.option = (attrs.get("value"), "selected" in attrs)
            self.open_text = []
        elif tag == "textarea":
            el = self.new_element("textarea", attrs, visible)
            el.label = attrs.get("placeholder") or attrs.get("aria-label") or el.name
            self.open_el, self.open_text = el, []
        elif "data-agid" in attrs and tag not in ("input", "option") and self.open_el is None:
            # Browser mode numbers more than the form controls on some pages (MiniWoB's
            # clickable spans and cells): a marker before the element's own text.
            el = self.new_element("clickable", attrs, visible)
            el.label = attrs.get("data-agtext") or attrs.get("aria-label") or attrs.get("title") or tag
            self.place(el)
        if tag in ("input", "select", "textarea") and attrs.get("id"):
            self.by_html_id[attrs["id"] or ""] = self.last
        if tag in _VOID and tag in _BLOCK:
            self.newline()

    def input(self, attrs: dict[str, str | None], visible: bool) -> None:
        itype = (attrs.get("type") or "text").lower()
        if itype == "hidden":
            # Hidden fields are not numbered, but they are submitted with their form.
            if self.form_stack:
                self.counter_hidden(attrs)
            return
        if itype in ("submit", "button", "reset"):
            el = self.new_element("button", attrs, visible)
            el.input_type, el.value = itype, attrs.get("value") or ""
            el.label = attrs.get("value") or itype
        elif itype in ("checkbox", "radio"):
            el = self.new_element(itype, attrs, visible)
            el.value, el.checked = attrs.get("value") or "on", "checked" in attrs
            self.by_html_id[attrs.get("id") or ""] = el
            el.label = attrs.get("aria-label") or self.labels.get(attrs.get("id") or "", "") or el.value
        else:
            el = self.new_element("textbox", attrs, visible)
            el.input_type, el.value = itype, attrs.get("value") or ""
            el.label = (attrs.get("placeholder") or attrs.get("aria-label") or self.labels.get(attrs.get("id") or "", "")
                        or el.name)
        self.place(el)

    def counter_hidden(self, attrs: dict[str, str | None]) -> None:
        # Hidden inputs live outside the numbering: negative keys, never shown or addressable.
        eid = -(len(self.elements) + 1)
        el = Element(id=eid, kind="hidden", name=attrs.get("name") or "", value=attrs.get("value") or "",
                     form=self.form_stack[-1], visible=False)
        self.elements[eid] = el
        self.forms[self.form_stack[-1]].elements.append(eid)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in ("a", "button", "textarea") and self.open_el is not None:
            el, text = self.open_el, _SPACES.sub(" ", "".join(self.open_text)).strip()
            if el.kind == "textarea":
                el.value = text
            else:
                el.label = text or el.value or el.kind
            self.open_el = None
            self.place(el)
        elif tag == "option" and self.select is not None and self.option is not None:
            value_attr, selected = self.option
            label = _SPACES.sub(" ", "".join(self.open_text)).strip()
            value = label if value_attr is None else value_attr  # HTML: no value attribute -> the text
            self.select.options.append((value, label))
            if selected or len(self.select.options) == 1:
                self.select.value = value
            self.option = None
        elif tag == "select" and self.select is not None:
            self.place(self.select)
            self.select = None
        elif tag == "form" and self.form_stack:
            self.form_stack.pop()
        elif tag == "label" and self.label_stack:
            target, parts, wrapped = self.label_stack.pop()
            text = _SPACES.sub(" ", "".join(parts)).strip()
            if text:
                self.labels[target] = text
                for el in wrapped + [self.by_html_id.get(target)]:
                    if el is not None and el.kind in ("checkbox", "radio", "textbox", "select", "textarea") \
                            and (el.label in ("", "on", el.name, el.value) or el.kind in ("checkbox", "radio")):
                        el.label = text
        if tag in _VOID:
            return
        # Pop up to the matching tag (tolerates unclosed children).
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, hid in self.stack[i:]:
                    self.skip -= hid
                del self.stack[i:]
                break
        if tag in _BLOCK:
            self.newline()

    def handle_data(self, data: str) -> None:
        for _, parts, _ in self.label_stack:
            parts.append(data)
        if self.in_title:
            self.title += data
            return
        if self.open_el is not None or self.option is not None:
            self.open_text.append(data)
            return
        if self.skip == 0 and self.select is None:
            self.cur.append(data)


def parse_page(html: str, url: str, status: int = 200) -> Page:
    """Parse ``html`` (fetched from ``url``) into a :class:`Page`."""
    p = _Parser(url)
    p.feed(html)
    p.close()
    p.newline()
    return Page(url=url, title=_SPACES.sub(" ", p.title).strip(), lines=p.lines, elements=p.elements,
                forms=p.forms, status=status)
