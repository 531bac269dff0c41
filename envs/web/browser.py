"""Browser mode: the same pages in a real Chromium, driven by Playwright.

:class:`BrowserClient` has :class:`~agentgym.envs.web.client.TextClient`'s
methods. After every action it takes the page's accessibility (ARIA) snapshot
with Playwright (``aria_snapshot(boxes=True)``), numbers the DOM's interactive
elements in document order (``data-agid``, the same numbering the text
renderer uses) and reads their boxes; :mod:`~agentgym.envs.web.aria` puts each
number on the snapshot node with that element's role and box. The observation
is that snapshot, cut to the viewport (``scroll`` scrolls the real page). The
live DOM, its state copied into attributes (typed text, checked boxes, selected
options), is also parsed with the text renderer into :attr:`page`: the element
table the tools, the oracles and the anchor read, the same as text mode's, so an
element has the same number, and an episode the same actions, anchors and
rewards, in both modes.

Isolation: Chromium runs with background networking off and a resolver that
resolves nothing but loopback, and every request of the page that is not to
the site's own origin is aborted by a route handler (and recorded in
:attr:`BrowserClient.blocked`). One Chromium per thread is shared by all the
clients of that thread, each in its own browser context; a Chromium that died
is relaunched when the next client is made (the env makes one at reset).
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

from agentgym.envs.web.aria import NumberedBox, annotate
from agentgym.envs.web.client import ClientBase, PageLoadError
from agentgym.envs.web.page import INTERACTIVE_SELECTOR, parse_page
from agentgym.errors import DependencyUnavailableError, InvalidActionError

__all__ = ["BrowserClient", "browser_available", "CHROMIUM_ARGS"]

CHROMIUM_ARGS = (
    "--no-sandbox",  # we may run as root; the site is ours and every other origin is blocked
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-quic", "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
_SNAPSHOT_JS = r"""(o) => {
  // Number the elements on the live page (locators find them by data-agid), then copy the
  // live state (typed text, checked boxes, selected options, visibility) into a clone,
  // so the page's own scripts never see attributes change.
  const live = Array.from(document.querySelectorAll('*'));
  const extraRoot = o.extraRoot ? document.querySelector(o.extraRoot) : null;
  const clone = document.documentElement.cloneNode(true);
  const copies = [clone, ...clone.querySelectorAll('*')];  // the same order as live (html first)
  let n = 0;
  live.forEach((el, k) => {
    const c = copies[k];
    const extra = extraRoot !== null && el !== extraRoot && extraRoot.contains(el)
      && Array.from(el.childNodes).some(t => t.nodeType === 3 && t.textContent.trim());
    if (el.matches(o.selector) || extra) { const id = String(++n); el.setAttribute('data-agid', id); c.setAttribute('data-agid', id); }
    else if (el.hasAttribute('data-agid')) { el.removeAttribute('data-agid'); c.removeAttribute('data-agid'); }
    if (extra && !el.matches(o.selector)) {  // a clickable text: its own words are its label
      c.setAttribute('data-agtext', Array.from(el.childNodes).filter(t => t.nodeType === 3).map(t => t.textContent).join(' ').replace(/\s+/g, ' ').trim().slice(0, 80));
    }
    if (o.visibility && el.checkVisibility && !el.checkVisibility()
        && (!el.parentElement || el.parentElement.checkVisibility())) c.setAttribute('data-aghidden', '');
    if (el.tagName === 'INPUT') {
      if (el.type === 'checkbox' || el.type === 'radio') { if (el.checked) c.setAttribute('checked', ''); else c.removeAttribute('checked'); }
      else { c.setAttribute('value', el.value); }
    } else if (el.tagName === 'TEXTAREA') { c.textContent = el.value; }
    else if (el.tagName === 'OPTION') { if (el.selected) c.setAttribute('selected', ''); else c.removeAttribute('selected'); }
  });
  const root = o.root ? clone.querySelector(o.root) : null;
  // The numbered elements' boxes, rounded as Playwright rounds the aria snapshot's boxes.
  const boxes = Array.from(document.querySelectorAll('[data-agid]')).map(el => {
    const r = el.getBoundingClientRect();
    return [+el.getAttribute('data-agid'), Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)];
  });
  const h = document.scrollingElement || document.documentElement;
  return {html: (root || clone).outerHTML, boxes, scrollY: Math.round(window.scrollY),
          innerHeight: window.innerHeight, scrollHeight: h.scrollHeight};
}"""


def browser_available(executable: str = "/usr/bin/chromium") -> str | None:
    """``None`` if browser mode can run here, else the reason it cannot."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install 'agentgym[web]')"
    if not (os.path.exists(executable) or shutil.which(executable)):
        return f"no Chromium at {executable} (apt-get install chromium)"
    return None


def _same_document(href: str, current: str) -> bool:
    """A link that only changes the fragment (``#tab-2``) does not load a page."""
    return href.split("#")[0] == current.split("#")[0] and "#" in href


class _Chromium:
    """One Playwright + Chromium per thread, shared by that thread's clients."""

    _local = threading.local()

    @classmethod
    def acquire(cls, executable: str) -> Any:
        state = getattr(cls._local, "state", None)
        if state is None:
            from playwright.sync_api import sync_playwright

            state = cls._local.state = {"pw": sync_playwright().start(), "browser": None, "refs": 0}
        browser = state["browser"]
        if browser is None or not browser.is_connected():
            if browser is not None:
                try:
                    browser.close()
                except Exception:  # noqa: BLE001 (it is already gone)
                    pass
            state["browser"] = state["pw"].chromium.launch(executable_path=executable, headless=True,
                                                           args=list(CHROMIUM_ARGS))
        state["refs"] += 1
        return state["browser"]

    @classmethod
    def release(cls) -> None:
        state = getattr(cls._local, "state", None)
        if state is None:
            return
        state["refs"] -= 1
        if state["refs"] <= 0:
            cls._local.state = None
            try:
                if state["browser"] is not None:
                    state["browser"].close()
            finally:
                state["pw"].stop()

    @classmethod
    def current(cls) -> Any:
        state = getattr(cls._local, "state", None)
        return state["browser"] if state else None


# Clients let go by garbage collection, per thread, closed at that thread's next safe point.
# A finalizer may run inside Playwright's own event loop (any allocation can trigger GC
# there), where a synchronous Playwright call waits for that very loop: a deadlock.
_DEFERRED: dict[int, list[BrowserClient]] = {}
_DEFERRED_LOCK = threading.Lock()


def _close_deferred() -> None:
    """Close the clients garbage collection left to this thread (outside any Playwright call)."""
    with _DEFERRED_LOCK:
        pending = _DEFERRED.pop(threading.get_ident(), [])
    for client in pending:
        client.close()


class BrowserClient(ClientBase):
    """Pages in Chromium (see the module docstring)."""

    mode = "browser"

    def __init__(self, origin: str, timeout_s: float = 10.0, executable: str = "/usr/bin/chromium", *,
                 navigation: bool = True, extra_root: str | None = None, root: str | None = None,
                 aria_root: str | None = None, viewport_height: int = 720) -> None:
        reason = browser_available(executable)
        if reason:
            raise DependencyUnavailableError(f"mode='browser' cannot run: {reason}.")
        super().__init__(origin)
        self.timeout_ms = timeout_s * 1000
        self.blocked: list[str] = []
        self.history: list[str] = []
        self.status = 200
        # Pages whose scripts are the task (MiniWoB): clicks never wait for a navigation, generic
        # elements with text under ``extra_root`` are numbered too, hidden ones are left out,
        # only ``root`` is rendered and only ``aria_root``'s aria snapshot is shown.
        self.navigation = navigation
        self.snapshot_options = {"selector": INTERACTIVE_SELECTOR, "extraRoot": extra_root, "root": root,
                                 "visibility": extra_root is not None}
        self.aria_root = aria_root or root or "body"
        self.aria = ""  # the page's aria snapshot with boxes (see :mod:`~agentgym.envs.web.aria`)
        self.boxes: dict[int, tuple[int, int, int, int]] = {}
        self.scroll_y, self.viewport_height, self.page_height = 0, int(viewport_height), 0
        _close_deferred()
        self._thread = threading.get_ident()
        browser = _Chromium.acquire(executable)
        self._released = False
        self.context = browser.new_context(service_workers="block", java_script_enabled=True,
                                           viewport={"width": 1280, "height": int(viewport_height)})
        self.context.route("**/*", self._route)
        self.context.set_default_timeout(self.timeout_ms)
        self.pg = self.context.new_page()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.origin + "/") or url == self.origin:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    # -- state ---------------------------------------------------------------
    def healthy(self) -> bool:
        browser = _Chromium.current()
        return browser is not None and browser.is_connected() and not self.pg.is_closed()

    def new_episode(self) -> None:
        super().new_episode()
        self.history.clear()
        try:
            self.pg.close()
            self.pg = self.context.new_page()  # a fresh tab: an empty history
        except Exception as e:  # noqa: BLE001 (playwright raises its own Error on a dead browser)
            raise PageLoadError(f"the browser failed ({type(e).__name__})") from e

    def _snapshot(self) -> None:
        # The aria tree first, then the numbering and boxes: one layout, no script runs between
        # two synchronous evaluations of a static page (a MiniWoB page's timers may, rarely).
        self.aria = self.pg.locator(self.aria_root).first.aria_snapshot(boxes=True)
        snap = self.pg.evaluate(_SNAPSHOT_JS, self.snapshot_options)
        self.page = parse_page(snap["html"], self.pg.url, self.status)
        self.boxes = {int(b[0]): (int(b[1]), int(b[2]), int(b[3]), int(b[4])) for b in snap["boxes"]}
        self.scroll_y, self.viewport_height = int(snap["scrollY"]), int(snap["innerHeight"])
        self.page_height = int(snap["scrollHeight"])

    def aria_text(self) -> str:
        """The observation: the aria snapshot with element numbers, cut to the viewport."""
        if self.page is None:
            return ""
        els = [NumberedBox(e.id, e.kind, e.label, self.boxes[e.id]) for e in self.page.elements.values()
               if e.visible and e.id > 0 and e.id in self.boxes]
        return annotate(self.aria, els, viewport_height=self.viewport_height)

    def scroll(self, direction: str) -> bool:
        """Scroll the real page by 80% of the viewport; ``False`` if it could not move."""
        before = self.scroll_y
        sign = 1 if direction == "down" else -1
        self._run(lambda: self.pg.evaluate("(s) => window.scrollBy(0, s * Math.round(window.innerHeight * 0.8))",
                                           sign), False)
        return self.scroll_y != before

    def _run(self, fn: Any, navigates: bool) -> None:
        """Run a Playwright action (waiting for the navigation it starts), then snapshot."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            if navigates:
                with self.pg.expect_navigation(wait_until="load") as nav:
                    fn()
                response = nav.value
                self.status = response.status if response is not None else 200
                self.history.append(self.pg.url)
                self.loads += 1
            else:
                fn()
            self._snapshot()
        except PlaywrightError as e:
            msg = str(e).splitlines()[0][:160]
            if navigates:  # stop a load that timed out: committing later, it would abort the next one
                try:  # through CDP: a page script (window.stop) would wait for the pending load
                    cdp = self.context.new_cdp_session(self.pg)
                    cdp.send("Page.stopLoading")
                    cdp.detach()
                except PlaywrightError:
                    pass  # the browser is gone: the next reset relaunches it
            raise PageLoadError(f"the page did not load ({msg})") from e

    # -- navigation ------------------------------------------------------
    def open(self, url: str) -> None:
        self.check_url(url)
        self._run(lambda: self.pg.goto(url, wait_until="load"), navigates=True)

    def back(self) -> None:
        if len(self.history) < 2:
            raise InvalidActionError("There is no previous page to go back to.", kind="no_history")
        self.history.pop()
        self.history.pop()  # _run appends the page we land on
        self._run(lambda: self.pg.go_back(wait_until="load"), navigates=True)

    # -- element actions ---------------------------------------------------
    def _loc(self, eid: int) -> Any:
        from playwright.sync_api import Error as PlaywrightError

        loc = self.pg.locator(f'[data-agid="{int(eid)}"]')
        try:
            count = loc.count()
        except PlaywrightError as e:
            raise PageLoadError(f"the browser failed ({str(e).splitlines()[0][:160]})") from e
        if count == 0:  # the page's script removed it since the observation: a click on nothing
            raise InvalidActionError(f"Element [{eid}] is no longer on the page.", kind="no_such_element")
        return loc

    def click(self, eid: int) -> str | None:
        el = self.element(eid, None, "click")
        navigates = False
        if el.kind == "link":
            self.check_url(el.href or "")
            navigates = self.navigation and not _same_document(el.href or "", self.pg.url)
        elif el.kind == "button" and el.form is not None and el.input_type == "submit":
            navigates = self.navigation
        loc = self._loc(eid)
        self._run(loc.click, navigates)
        return f"Element [{eid}] is focused." if el.kind in ("textbox", "textarea", "select") else None

    def fill(self, eid: int, text: str, submit: bool = False) -> None:
        el = self.element(eid, ("textbox", "textarea"), "type into")
        if submit and el.form is None:
            raise InvalidActionError(f"Element [{eid}] is not in a form; there is nothing to submit.",
                                     kind="wrong_element")
        loc = self._loc(eid)
        self._run(lambda: loc.fill(text), False)
        if submit:
            self._run(lambda: loc.press("Enter"), True)

    def select(self, eid: int, value: str) -> None:
        el = self.element(eid, ("select",), "select an option of")
        v = self.option_value(el, value)
        loc = self._loc(eid)
        self._run(lambda: loc.select_option(value=v), False)

    def screenshot(self) -> bytes:
        return self.pg.screenshot(type="png")

    def close_later(self) -> None:
        """Close at the owning thread's next safe point (for finalizers: see ``_DEFERRED``)."""
        if not self._released:
            with _DEFERRED_LOCK:
                _DEFERRED.setdefault(self._thread, []).append(self)

    def close(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            self.context.close()
        except Exception:  # noqa: BLE001 (a dead browser)
            pass
        _Chromium.release()
