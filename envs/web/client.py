"""Text mode: a small browser made of ``httpx`` and the page parser.

:class:`TextClient` keeps the current :class:`~agentgym.envs.web.page.Page`, its
live form state and a history, and does what a browser does without
JavaScript: follows links, submits forms (GET or POST, with the clicked
button's value), toggles checkboxes and radios, goes back. Browser mode
(:mod:`~agentgym.envs.web.browser`) has the same methods over Chromium.

Agent mistakes (an unknown element number, typing into a link, leaving the
site) raise :class:`~agentgym.errors.InvalidActionError`; a page that cannot be
fetched (timeout, connection refused) raises :class:`PageLoadError`, which the
env turns into an error observation.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import httpx

from agentgym.envs.web.page import Element, Page, parse_page
from agentgym.errors import InvalidActionError

__all__ = ["ClientBase", "TextClient", "PageLoadError", "same_origin"]


class PageLoadError(Exception):
    """The page did not load (the message says why); not the agent's fault."""


def same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


class ClientBase:
    """What both modes share: the current page and element look-up."""

    mode = "base"

    def __init__(self, origin: str) -> None:
        self.origin = origin.rstrip("/")
        self.page: Page | None = None
        self.loads = 0  # pages loaded (navigations), so the env can tell a load from an in-page change

    def element(self, eid: int, kinds: tuple[str, ...] | None = None, verb: str = "use") -> Element:
        if self.page is None:
            raise InvalidActionError("No page is open.")
        el = self.page.elements.get(int(eid)) if int(eid) > 0 else None
        if el is None or not el.visible:
            n = sum(1 for e in self.page.elements.values() if e.visible and e.id > 0)
            raise InvalidActionError(f"There is no element [{eid}] on this page; the page has {n} numbered elements.",
                                     kind="no_such_element")
        if kinds is not None and el.kind not in kinds:
            hint = {"textbox": "type", "textarea": "type", "select": "select_option"}.get(el.kind, "click")
            raise InvalidActionError(f"Element [{eid}] is a {el.kind}; you cannot {verb} it (use {hint}).",
                                     kind="wrong_element")
        if el.disabled:
            raise InvalidActionError(f"Element [{eid}] is disabled.", kind="wrong_element")
        return el

    def new_episode(self) -> None:
        """Forget the page and the history (a new episode starts)."""
        self.page = None

    def healthy(self) -> bool:
        return True

    def screenshot(self) -> bytes:
        raise InvalidActionError("Screenshots need mode='browser'.")

    def close(self) -> None:
        pass

    def check_url(self, url: str) -> None:
        if not same_origin(url, self.origin):
            raise InvalidActionError(f"That link leads off this site ({urlsplit(url).netloc or url}); only this site "
                                     "can be visited.", kind="off_site")

    @staticmethod
    def option_value(el: Element, value: str) -> str:
        want = value.strip().lower()
        for v, label in el.options:
            if v and (v.lower() == want or label.strip().lower() == want):
                return v
        choices = ", ".join(label for v, label in el.options if v)
        raise InvalidActionError(f"Select [{el.id}] has no option {value!r}; its options are: {choices}.",
                                 kind="no_such_option")


class TextClient(ClientBase):
    """Pages over ``httpx``, parsed to text (see the module docstring)."""

    mode = "text"

    def __init__(self, origin: str, timeout_s: float = 10.0) -> None:
        super().__init__(origin)
        self.http = httpx.Client(timeout=timeout_s, follow_redirects=True, trust_env=False)
        self.history: list[str] = []

    def new_episode(self) -> None:
        super().new_episode()
        self.history.clear()

    # -- navigation ------------------------------------------------------
    def _load(self, method: str, url: str, data: list[tuple[str, str]] | None = None) -> None:
        self.check_url(url)
        try:
            if method == "post":
                r = self.http.post(url, content=urlencode(data or []),
                                   headers={"content-type": "application/x-www-form-urlencoded"})
            else:
                r = self.http.get(url)
        except httpx.TimeoutException as e:
            raise PageLoadError(f"the page {urlsplit(url).path} timed out") from e
        except httpx.HTTPError as e:
            raise PageLoadError(f"the page {urlsplit(url).path} could not be loaded ({type(e).__name__})") from e
        final = str(r.url)
        self.page = parse_page(r.text, final, r.status_code)
        self.loads += 1
        self.history.append(final)

    def open(self, url: str) -> None:
        self._load("get", url)

    def back(self) -> None:
        if len(self.history) < 2:
            raise InvalidActionError("There is no previous page to go back to.", kind="no_history")
        self.history.pop()
        self._load("get", self.history.pop())

    # -- element actions ---------------------------------------------------
    def click(self, eid: int) -> str | None:
        """Click; returns a note when nothing happens."""
        el = self.element(eid, None, "click")
        assert self.page is not None
        if el.kind in ("textbox", "textarea", "select", "clickable"):
            return f"Element [{eid}] is focused." if el.kind != "clickable" else None
        if el.kind == "link":
            self._load("get", el.href or self.page.url)
        elif el.kind == "checkbox":
            el.checked = not el.checked
        elif el.kind == "radio":
            for other in self.page.elements.values():
                if other.kind == "radio" and other.name == el.name and other.form == el.form:
                    other.checked = False
            el.checked = True
        elif el.form is not None and el.input_type == "submit":
            self.submit(el.form, el)
        else:
            return "The button did nothing (it is not a form button)."
        return None

    def fill(self, eid: int, text: str, submit: bool = False) -> None:
        el = self.element(eid, ("textbox", "textarea"), "type into")
        el.value = text
        if submit:
            if el.form is None:
                raise InvalidActionError(f"Element [{eid}] is not in a form; there is nothing to submit.",
                                         kind="wrong_element")
            self.submit(el.form, None)

    def select(self, eid: int, value: str) -> None:
        el = self.element(eid, ("select",), "select an option of")
        el.value = self.option_value(el, value)

    def submit(self, form: int, button: Element | None) -> None:
        assert self.page is not None
        f = self.page.forms[form]
        fields = self.page.form_fields(form)
        if button is not None and button.name:
            fields.append((button.name, button.value))
        if f.method == "post":
            self._load("post", f.action, fields)
        else:
            self._load("get", urlsplit(f.action)._replace(query=urlencode(fields), fragment="").geturl())

    def close(self) -> None:
        self.http.close()
