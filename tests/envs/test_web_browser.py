"""WebShop-v0 / WebQA-v0 in browser mode (Playwright + Debian's Chromium): the same
episodes as text mode, nothing leaves loopback, crashes recovered, nothing leaked."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import threading
from typing import Any

import psutil
import pytest

from agentgym.envs.web.browser import browser_available
from agentgym.envs.web.env import WebEnv, WebQAEnv, WebShopEnv
from agentgym.testing import run_scripted_episode
from agentgym.tools import ToolCall

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(browser_available() is not None, reason=f"browser mode unavailable: {browser_available()}"),
]


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


def _chromium_pids() -> set[int]:
    me = psutil.Process(os.getpid())
    return {p.pid for p in me.children(recursive=True) if "chrom" in p.name().lower()}


def _transcripts(cls: type[WebEnv], indices: range, **kwargs: Any) -> dict[str, list[list[tuple]]]:
    out: dict[str, list[list[tuple]]] = {}
    for mode in ("text", "browser"):
        env = cls(split="val", mode=mode, **kwargs)
        try:
            out[mode] = [run_scripted_episode(env, 0, options={"task_index": i}) for i in indices]
        finally:
            env.close()
    return out


def _without_observations(transcript: list[tuple]) -> list[Any]:
    """Actions, rewards, terminated, truncated, anchors, validity and metrics: all but the page text."""
    first, *steps, metrics = transcript
    return [first[1], *[(a, r, term, trunc, anchor, valid) for a, _, r, term, trunc, anchor, valid in steps], metrics]


def _check_agree(runs: dict[str, list[list[tuple]]]) -> None:
    for text, browser in zip(runs["text"], runs["browser"], strict=True):
        # The same actions (the oracle reads element numbers), anchors and rewards, step by step.
        assert _without_observations(text) == _without_observations(browser)
        assert text[-1]["success"] == 1.0 and text[-1]["return"] == pytest.approx(1.0)
        # Browser observations are the aria snapshot (``- textbox "Search ..." [1]``), text mode's
        # the rendered HTML (``[1] textbox "Search ..." = ""``): both number the search box 1.
        for (_, b_obs, *_), (_, t_obs, *_) in zip(browser[1:-1], text[1:-1], strict=True):
            if "Page: " in t_obs:
                assert re.search(r'^ *- textbox "Search[^"]*" \[1\]', b_obs, re.M) and "[1] textbox" not in b_obs
                assert "[1] textbox" in t_obs


def test_shop_oracle_same_episodes_in_both_modes() -> None:
    _check_agree(_transcripts(WebShopEnv, range(8)))


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_wiki_oracle_same_episodes_in_both_modes(difficulty: str) -> None:
    _check_agree(_transcripts(WebQAEnv, range(4), difficulty=difficulty))


@pytest.mark.slow
def test_every_suite_val_task_in_both_modes() -> None:
    _check_agree(_transcripts(WebShopEnv, range(50)))
    for difficulty in ("easy", "hard"):
        _check_agree(_transcripts(WebQAEnv, range(25), difficulty=difficulty))


class _Decoy:
    """A loopback listener that counts the connections it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()


def test_no_request_leaves_the_site_origin() -> None:
    env = WebShopEnv(split="val", mode="browser")
    decoy = _Decoy()
    try:
        env.reset(options={"task_index": 0})
        client = env.client
        port = env._res["server"].port
        urls = ["http://example.com/x.png", "https://93.184.216.34/", f"http://127.0.0.1:{decoy.port}/steal",
                f"http://localhost:{port}/s/{env.sid}/", "http://[::1]:81/"]
        results = client.pg.evaluate(
            """async (urls) => {
                 const out = [];
                 for (const u of urls) { try { await fetch(u, {mode: 'no-cors'}); out.push('ok'); }
                                         catch (e) { out.push('blocked'); } }
                 return out; }""", urls)
        assert results == ["blocked"] * len(urls)
        client.pg.evaluate("""(u) => { const i = new Image(); i.src = u; document.body.appendChild(i);
                              document.body.insertAdjacentHTML('beforeend', '<a href="' + u + '">away</a>'); }""",
                           urls[0])
        client.pg.wait_for_timeout(200)
        assert set(urls) <= set(client.blocked) and decoy.hits == 0
        # A same-origin request still works.
        ok = client.pg.evaluate("async (u) => (await fetch(u)).status", f"{env.base_url}/s/{env.sid}/")
        assert ok == 200
        # Clicking an off-site link is an invalid action; the page stays.
        client._snapshot()
        away = next(e for e in client.page.elements.values() if e.label == "away")
        obs, reward, *_, info = env.step(C("click", element=away.id))
        assert not info["action_valid"] and info["error"] == "off_site" and "leads off this site" in obs
        # Navigating the top frame off site by script is blocked too.
        client.pg.evaluate("() => { location.href = 'http://example.org/'; }")
        client.pg.wait_for_timeout(300)
        assert "http://example.org/" in client.blocked and "example.org" not in client.pg.url  # aborted
    finally:
        decoy.close()
        env.close()


def test_chromium_crash_is_recovered_at_reset() -> None:
    env = WebQAEnv(split="val", mode="browser")
    try:
        env.reset(options={"task_index": 0})
        for pid in _chromium_pids():
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass
        obs, reward, terminated, truncated, info = env.step(C("search", query="university"))
        assert obs.startswith("Error:") and not terminated and reward == 0.0
        transcript = run_scripted_episode(env, 0, options={"task_index": 0})  # reset relaunches Chromium
        assert transcript[-1]["success"] == 1.0
    finally:
        env.close()


def test_servers_and_browsers_shut_down_with_their_envs() -> None:
    before = _chromium_pids()
    shop, wiki = WebShopEnv(split="val", mode="browser"), WebQAEnv(split="val", mode="browser")
    run_scripted_episode(shop, 0)
    run_scripted_episode(wiki, 0)
    procs = [e._res["server"].proc for e in (shop, wiki)]
    ports = [e._res["server"].port for e in (shop, wiki)]
    assert _chromium_pids() - before
    shop.close()
    wiki.close()
    assert all(p.poll() is not None for p in procs)
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    psutil.wait_procs([psutil.Process(p) for p in _chromium_pids() - before if psutil.pid_exists(p)], timeout=5)
    assert not (_chromium_pids() - before)
    me = psutil.Process(os.getpid())
    assert not [p for p in me.children(recursive=True) if "node" in p.name().lower() or "playwright" in " ".join(p.cmdline())]


def test_screenshot_on_request() -> None:
    env = WebShopEnv(split="val", mode="browser", screenshot=True)
    try:
        env.reset(options={"task_index": 0})
        *_, info = env.step(C("search", query="boots"))
        png = base64.b64decode(info["screenshot"])
        assert png.startswith(b"\x89PNG") and len(png) > 1000
    finally:
        env.close()


def test_an_env_dropped_without_close_is_closed_later_never_inside_playwright() -> None:
    """Garbage collection may finalize an env inside Playwright's own event loop, where a
    synchronous close waits on that loop for ever (it hung the suite). A dropped env's
    browser context is queued and closed at the thread's next safe point instead."""
    from agentgym.envs.web import browser
    from agentgym.envs.web.env import _release

    env = WebShopEnv(split="val", mode="browser")
    env.reset(options={"task_index": 0})
    client = env._res["client"]
    _release(env._res, True)  # what the env's finalizer runs
    assert not client._released and client in browser._DEFERRED[client._thread]  # queued, not closed here
    other = WebShopEnv(split="val", mode="browser")
    try:
        other.reset(options={"task_index": 0})  # a new client: the safe point
        assert client._released and threading.get_ident() not in browser._DEFERRED
    finally:
        other.close()


def test_scroll_moves_the_real_page_and_the_observation_shows_its_viewport() -> None:
    env = WebQAEnv(split="val", mode="browser", viewport_height=300)
    try:
        env.reset(options={"task_index": 0})
        obs, *_, info = env.step(C("search", query="company"))
        assert re.search(r"\[pixels 0-300 of \d+; scroll down for more\]", obs) and "top=0" in info["anchor"]
        assert 'textbox "Search the wiki" [1]' in obs
        last_top = [int(n) for n in re.findall(r"\[(\d+)\]", obs)][-1]
        obs2, *_, info2 = env.step(C("scroll", direction="down"))
        y = env.client.pg.evaluate("() => window.scrollY")
        assert info2["action_valid"] and y == 240 and "top=240" in info2["anchor"]  # 80% of the viewport
        assert "[pixels 240-540 of" in obs2 and 'textbox "Search the wiki" [1]' not in obs2  # scrolled away
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", obs2)]
        assert numbers and max(numbers) > last_top  # elements below the first screen came into view
        # An element out of view can still be clicked (Chromium scrolls it into view), as in text mode.
        while "scroll down for more" in obs2:
            obs2, *_ = env.step(C("scroll", direction="down"))
        obs3, *_, info3 = env.step(C("scroll", direction="down"))
        assert "already at the bottom" in obs3 and info3["action_valid"]
        for _ in range(20):
            obs4, *_, info4 = env.step(C("scroll", direction="up"))
            if "already at the top" in obs4:
                break
        assert "top=0" in info4["anchor"] and 'textbox "Search the wiki" [1]' in obs4
    finally:
        env.close()


def test_bad_element_actions_are_invalid_in_browser_mode() -> None:
    env = WebShopEnv(split="val", mode="browser")
    try:
        env.reset(options={"task_index": 0})
        cases = [
            (C("click", element=999), "no_such_element"),
            (C("click", element=0), "no_such_element"),
            (C("type", element=3, text="x"), "wrong_element"),  # a link
            (C("select_option", element=2, value="x"), "wrong_element"),  # a button
            ('click(element="abc")', "bad_arguments"),
            ("click(element=", "parse_error"),
        ]
        for action, kind in cases:
            obs, reward, terminated, truncated, info = env.step(action)
            assert obs.startswith("Error") and not info["action_valid"] and not terminated, (action, obs)
            assert info["error"] == kind or kind in ("bad_arguments", "parse_error"), (action, info["error"])
        # A click on nothing: the page's own script removed the element the observation showed.
        env.client.pg.evaluate("() => document.querySelector('[data-agid=\"3\"]').remove()")
        obs, reward, *_, info = env.step(C("click", element=3))
        assert not info["action_valid"] and info["error"] == "no_such_element" and "no longer on the page" in obs
        obs, *_, info = env.step(C("search", query="boots"))  # the env is still usable
        assert info["action_valid"] and "Page: /search?q=boots" in obs
    finally:
        env.close()


def test_a_page_that_errors_or_times_out_is_an_error_observation_in_browser_mode() -> None:
    env = WebShopEnv(split="val", mode="browser", timeout_s=1.0)
    try:
        env.reset(options={"task_index": 0})
        env.client.open(f"{env.base_url}/s/{env.sid}/item/NOPE")  # the site's own 404 page
        assert "(HTTP 404)" in env.observe() and "no such product" in env.observe()
        proc = env._res["server"].proc
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            obs, reward, terminated, truncated, info = env.step(C("search", query="boots"))
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert obs.startswith("Error: the page did not load") and "Timeout" in obs
        assert info["action_valid"] and reward == 0.0 and not terminated and env.load_errors == 1
        obs, *_, info = env.step(C("search", query="boots"))
        assert obs.startswith("Page: /search?q=boots") and info["action_valid"]
    finally:
        env.close()
