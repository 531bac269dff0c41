"""WebShop-v0 and WebQA-v0 in text mode: sites, oracles, rewards, bad actions, anchors, servers."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import agentgym
from agentgym.envs.web import server as site_server
from agentgym.envs.web.aria import NumberedBox, annotate
from agentgym.envs.web.env import WebQAEnv, WebShopEnv
from agentgym.envs.web.page import parse_page
from agentgym.envs.web.reward import shop_reward
from agentgym.envs.web.shop_data import build_catalogue
from agentgym.envs.web.tasks import ShopTasks, WikiTasks
from agentgym.envs.web.wiki_data import build_world
from agentgym.errors import DependencyUnavailableError
from agentgym.suites import get_suite
from agentgym.tools import ToolCall

VAL_TASKS = 50


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


@pytest.fixture(scope="module")
def shop() -> Iterator[WebShopEnv]:
    env = agentgym.make("WebShop-v0", split="val")
    assert isinstance(env, WebShopEnv)
    yield env
    env.close()


@pytest.fixture(scope="module")
def wiki() -> Iterator[WebQAEnv]:
    env = agentgym.make("WebQA-v0", split="val")
    assert isinstance(env, WebQAEnv)
    yield env
    env.close()


def play(env: Any, index: int, policy: str = "oracle", **options: Any) -> tuple[float, dict[str, Any], list[str]]:
    env.reset(options={"task_index": index, **options})
    total, done, actions = 0.0, False, []
    while not done:
        action = env.scripted_action(policy)
        actions.append(action)
        _, reward, terminated, truncated, info = env.step(action)
        assert info["action_valid"], (action, info)
        assert abs(reward - sum(info["reward_parts"].values())) < 1e-9
        total += reward
        done = terminated or truncated
    return total, info, actions


# ----------------------------------------------------------------------
# The catalogue and the site
# ----------------------------------------------------------------------
def test_catalogue_has_near_duplicates_stock_and_split_attributes() -> None:
    products = build_catalogue(0)
    assert len(products) >= 1000 and len({p.pid for p in products}) == len(products)
    assert len({p.category for p in products}) >= 8
    families: dict[int, list[Any]] = {}
    for p in products:
        families.setdefault(p.family, []).append(p)
    one_attr = 0
    for fam in families.values():
        base = fam[0]
        for other in fam[1:]:
            assert other.title == base.title and other.ptype == base.ptype
            diff = set(base.attributes) ^ set(other.attributes)
            assert diff or other.price > base.price * 1.5, "a twin must differ in an attribute or cost much more"
            one_attr += len(set(base.attributes) - set(other.attributes)) <= 1 and len(set(other.attributes) - set(base.attributes)) <= 1 and bool(diff)
    assert one_attr > 300
    assert sum(bool(p.out_of_stock) for p in products) > len(products) // 2
    assert all(any(p.in_stock(dict(zip(p.options, c, strict=True))) for c in _combos(p)) for p in products)


def _combos(p: Any) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for vals in p.options.values():
        combos = [c + (v,) for c in combos for v in vals]
    return combos


def test_attributes_only_on_sub_pages(shop: WebShopEnv) -> None:
    shop.reset(options={"task_index": 0})
    p = next(p for p in build_catalogue(0) if p.flags and p.flags[0] not in p.title.lower())
    base = f"{shop.base_url}/s/{shop.sid}/item/{p.pid}"
    main, desc, feats = (httpx.get(base + s, trust_env=False).text for s in ("", "/description", "/features"))
    for flag in p.flags:
        assert flag in feats and flag not in main and flag not in desc
    for value in p.enums.values():
        assert value in desc
    assert p.title in main and f"{p.price:.2f}" in main


def test_search_is_ranked_and_paginated(shop: WebShopEnv) -> None:
    shop.reset(options={"task_index": 0})
    title = build_catalogue(0)[10].title
    obs, *_ = shop.step(C("search", query=title))
    page = shop.client.page
    first = [e.label for e in page.elements.values() if e.kind == "link" and "/item/" in (e.href or "")]
    assert len(first) == 10 and first[0] == title  # exact title ranks first
    assert "Page 1 of" in obs
    nxt = next(e for e in page.elements.values() if e.label == "Next >")
    obs2, *_ = shop.step(C("click", element=nxt.id))
    second = [e.label for e in shop.client.page.elements.values() if e.kind == "link" and "/item/" in (e.href or "")]
    assert "Page 2 of" in obs2 and second and second != first
    obs3, *_, info = shop.step(C("search", query="zzzqqq"))
    assert "No products match" in obs3 and info["action_valid"]


# ----------------------------------------------------------------------
# Tasks, oracle, rewards
# ----------------------------------------------------------------------
def test_splits_are_disjoint() -> None:
    for gen in (ShopTasks(0), WikiTasks(0)):
        keys = {s: {gen.content_key(t) for t in gen.tasks(s, 40, gen.difficulties[-1])} for s in ("train", "val", "test")}
        assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]


def test_shop_oracle_scores_one_on_val_tasks(shop: WebShopEnv) -> None:
    for i in range(VAL_TASKS):
        total, info, _ = play(shop, i)
        assert total == pytest.approx(1.0), (i, info)
        m = info["metrics"]
        assert m["success"] == 1.0 and m["purchased"] == 1.0 and m["r_att"] == m["r_option"] == m["r_price"] == 1.0
        assert set(info["reward_parts"]) == {"attributes", "options", "price"}


def test_goal_singles_out_the_gold_among_its_family() -> None:
    products = build_catalogue(0)
    by_pid = {p.pid: p for p in products}
    gen = ShopTasks(0)
    for i in range(100):
        t = gen.task("val", i)
        goal, gold = t.meta["goal"], by_pid[t.meta["gold"]["pid"]]
        assert 1 <= len(goal["attributes"]) and set(goal["attributes"]) <= set(gold.attributes)
        assert gold.price <= goal["price_max"] and gold.in_stock(goal["options"])
        for twin in (p for p in products if p.family == gold.family and p.pid != gold.pid):
            order = {"ptype": twin.ptype, "category": twin.category, "attributes": twin.attributes,
                     "options": goal["options"], "price": twin.price}
            parts, _ = shop_reward(goal, order)
            if not set(goal["attributes"]) <= set(twin.attributes) or twin.price > goal["price_max"]:
                assert sum(parts.values()) < 1.0


def test_near_duplicate_and_wrong_options_score_less(shop: WebShopEnv) -> None:
    products = build_catalogue(0)
    by_pid = {p.pid: p for p in products}
    for index in range(200):
        task = shop.task_at(index)
        gold, goal = by_pid[task.meta["gold"]["pid"]], task.meta["goal"]
        twins = [p for p in products if p.family == gold.family and p.pid != gold.pid
                 and not set(goal["attributes"]) <= set(p.attributes)]
        if twins:
            break
    total, info = _buy(shop, index, twins[0].pid, goal["options"])
    assert total < 1.0 and info["metrics"]["r_att"] < 1.0 and info["metrics"]["success"] == 0.0
    # The gold product with other options than the goal's: the options part drops.
    other = {a: next(v for v in gold.options[a] if v != goal["options"][a]) for a in goal["options"] if len(gold.options[a]) > 1}
    total, info = _buy(shop, index, gold.pid, {**goal["options"], **other})
    assert info["reward_parts"]["attributes"] > 0 and info["metrics"]["r_att"] == 1.0
    assert info["metrics"]["r_option"] < 1.0 and total < 1.0


def _buy(env: WebShopEnv, index: int, pid: str, options: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Open ``pid``, choose ``options`` (or the first in-stock ones) and buy."""
    env.reset(options={"task_index": index})
    env.client.open(f"{env.base_url}/s/{env.sid}/item/{pid}")
    p = next(q for q in build_catalogue(0) if q.pid == pid)
    if not p.in_stock(options):
        options = dict(zip(p.options, next(c for c in _combos(p) if p.in_stock(dict(zip(p.options, c, strict=True)))), strict=True))
    for axis, value in options.items():
        el = next(e for e in env.client.page.elements.values() if e.name == f"opt_{axis}")
        env.step(C("select_option", element=el.id, value=value))
    obs, reward, terminated, _, info = env.step(C("buy"))
    assert terminated, obs
    return reward, info


def test_out_of_stock_and_missing_options_are_refused(shop: WebShopEnv) -> None:
    p = next(p for p in build_catalogue(0) if p.out_of_stock)
    shop.reset(options={"task_index": 0})
    shop.client.open(f"{shop.base_url}/s/{shop.sid}/item/{p.pid}")
    obs, reward, terminated, _, info = shop.step(C("buy"))
    assert not terminated and "Choose a" in obs and info["action_valid"]
    for axis, value in zip(p.options, p.out_of_stock[0], strict=True):
        el = next(e for e in shop.client.page.elements.values() if e.name == f"opt_{axis}")
        shop.step(C("select_option", element=el.id, value=value))
    obs, reward, terminated, _, info = shop.step(C("buy"))
    assert not terminated and "out of stock" in obs and reward == 0.0
    # The refused choice is still selected on the re-rendered page.
    assert all(f"opt_{a}={v}" in info["anchor"] for a, v in zip(p.options, p.out_of_stock[0], strict=True))


def test_first_result_baseline_is_worse_than_the_oracle(shop: WebShopEnv) -> None:
    totals = [play(shop, i, "first_result")[0] for i in range(10)]
    assert sum(totals) / len(totals) < 0.9


# ----------------------------------------------------------------------
# The wiki
# ----------------------------------------------------------------------
@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_wiki_oracle_exact_match_on_val_tasks(wiki: WebQAEnv, difficulty: str) -> None:
    hops = 2 if difficulty == "easy" else 3
    for i in range(VAL_TASKS // 2):
        total, info, actions = play(wiki, i, difficulty=difficulty)
        assert total == pytest.approx(1.0) and info["metrics"]["exact_match"] == 1.0, (i, actions)
        assert len(wiki.task.meta["path"]) == hops
        assert sum('"click"' in a for a in actions) >= hops  # read every article of the chain


def test_wiki_answers_need_more_than_the_first_article(wiki: WebQAEnv) -> None:
    world = build_world(0)
    articles = {a["slug"]: a for a in world["articles"]}
    gen = WikiTasks(0)
    for difficulty in ("easy", "hard"):
        for t in gen.tasks("val", 30, difficulty):
            first = articles[t.meta["path"][0]]
            text = " ".join([v for _, v in first["infobox"]] + [p for _, ps in first["body"] for p in ps])
            assert t.answer not in text, (t.prompt, t.answer)


def test_wiki_partial_answer_gets_f1(wiki: WebQAEnv) -> None:
    index = next(i for i in range(50) if " " in wiki.task_at(i, difficulty="hard").answer)
    wiki.reset(options={"task_index": index, "difficulty": "hard"})
    word = wiki.task.answer.split()[-1]
    obs, reward, terminated, _, info = wiki.step(C("answer", text=word))
    assert terminated and 0.0 < reward < 1.0 and info["reward_parts"]["exact_match"] == 0.0
    assert info["metrics"]["success"] == 0.0 and 0 < info["metrics"]["f1"] < 1


def test_wiki_scroll_and_back(wiki: WebQAEnv) -> None:
    env = WebQAEnv(split="val", viewport_lines=6)
    try:
        env.reset(options={"task_index": 0})
        obs, *_ = env.step(C("search", query="company"))
        assert "scroll down for more" in obs and "[lines 1-6 of" in obs
        obs2, *_, info = env.step(C("scroll", direction="down"))
        assert "[lines 2-7 of" in obs2 and "top=1" in info["anchor"]
        env.step(C("scroll", direction="up"))
        obs4, *_, info = env.step(C("scroll", direction="up"))
        assert "already at the top" in obs4 and info["action_valid"]
        obs5, *_, info = env.step(C("back"))
        assert "Page: /w/" in obs5 and "top=0" in info["anchor"]
    finally:
        env.close()


# ----------------------------------------------------------------------
# Bad actions, anchors, pages that fail
# ----------------------------------------------------------------------
def test_bad_element_actions_are_invalid_not_exceptions(shop: WebShopEnv) -> None:
    shop.reset(options={"task_index": 0})
    cases = [
        (C("click", element=999), "no_such_element"),
        (C("click", element=0), "no_such_element"),
        (C("click", element=-3), "no_such_element"),
        (C("type", element=3, text="x"), "wrong_element"),  # a link
        (C("select_option", element=2, value="x"), "wrong_element"),
        (C("buy"), "not_product_page"),
        (C("back"), "no_history"),
        (C("search", query="   "), "invalid_action"),
        ('click(element="abc")', "bad_arguments"),
    ]
    obs, *_, info = shop.step(C("click", element=1))  # the search box: focusing it is allowed
    assert info["action_valid"] and "focused" in obs
    for action, kind in cases:
        obs, reward, terminated, truncated, info = shop.step(action)
        assert obs.startswith("Error") and not info["action_valid"], (action, obs)
        assert info["error"] == kind or kind in ("invalid_action", "bad_arguments"), (action, info["error"])
        assert reward == -shop.invalid_action_penalty and not terminated
    pid = build_catalogue(0)[0].pid
    shop.client.open(f"{shop.base_url}/s/{shop.sid}/item/{pid}")
    sel = next(e for e in shop.client.page.elements.values() if e.kind == "select")
    obs, *_, info = shop.step(C("select_option", element=sel.id, value="no such colour"))
    assert not info["action_valid"] and "its options are" in obs


def test_anchor_is_route_query_and_form_state_not_text(shop: WebShopEnv) -> None:
    shop.reset(options={"task_index": 3})
    pid = shop.task.meta["gold"]["pid"]
    _, _, _, _, a = shop.step(C("search", query="boots  "))
    shop.reset(options={"task_index": 3})
    _, _, _, _, b = shop.step(C("search", query="boots"))
    assert a["anchor"] == b["anchor"] and "/search?" in a["anchor"] and "Results" not in a["anchor"]
    shop.client.open(f"{shop.base_url}/s/{shop.sid}/item/{pid}")
    axis, value = next(iter(shop.task.meta["gold"]["options"].items()))
    el = next(e for e in shop.client.page.elements.values() if e.name == f"opt_{axis}")
    *_, c = shop.step(C("select_option", element=el.id, value=value))
    assert f"/item/{pid}" in c["anchor"] and f"opt_{axis}={value}" in c["anchor"] and shop.sid not in c["anchor"]


def test_missing_page_and_dead_server() -> None:
    env = WebShopEnv(split="val")
    try:
        env.reset(options={"task_index": 0})
        env.client.open(f"{env.base_url}/s/{env.sid}/item/NOPE")
        assert env.client.page.status == 404 and "no such product" in env.client.page.text()
        srv = env._res["server"]
        srv.proc.kill()
        srv.proc.wait()
        obs, reward, terminated, truncated, info = env.step(C("search", query="boots"))
        assert obs.startswith("Error: the page") and info["action_valid"] and not terminated
        assert env.load_errors == 1
        obs, info = env.reset(options={"task_index": 0})  # the next reset brings a fresh server
        assert "Page: /" in obs and env._res["server"].running
    finally:
        env.close()


def test_a_page_that_times_out_is_an_error_observation() -> None:
    env = WebQAEnv(split="val", timeout_s=1.0)
    try:
        env.reset(options={"task_index": 0})
        proc = env._res["server"].proc
        os.kill(proc.pid, signal.SIGSTOP)  # the server hangs: it accepts nothing, answers nothing
        try:
            obs, reward, terminated, truncated, info = env.step(C("search", query="university"))
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert obs.startswith("Error: the page /w/search timed out") and info["action_valid"]
        assert reward == 0.0 and not terminated and env.load_errors == 1
        obs, *_, info = env.step(C("search", query="university"))  # the server is back
        assert obs.startswith("Page: /w/search?q=university") and env.load_errors == 1
    finally:
        env.close()


def test_browser_mode_without_a_browser_is_a_dependency_error_with_the_fix() -> None:
    for make in (lambda: WebShopEnv(mode="browser", chromium="/nonexistent/chromium"),
                 lambda: agentgym.make("MiniWoB-v0", task="click-test", chromium="/nonexistent/chromium")):
        with pytest.raises(DependencyUnavailableError, match=r"apt-get install chromium.*pip install 'agentgym\[web\]'"):
            make()


def test_miniwob_is_registered_and_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """MiniWoB-v0 is always registered; without its pages or a browser, make() raises
    DependencyUnavailableError (the registry-wide contract test skips it with the message)."""
    assert "agentgym/MiniWoB-v0" in {info.id for info in agentgym.list_envs()}
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "miniwob" else real(name, *a))
    with pytest.raises(DependencyUnavailableError, match="pip install --no-deps miniwob"):
        agentgym.make("MiniWoB-v0", task="click-test")


def test_aria_numbers_go_to_the_node_with_the_elements_role_and_box() -> None:
    snap = "\n".join([
        '- list [box=8,8,600,19]:',
        '  - listitem [box=48,8,300,19]:',  # the same box as its link: the link takes the number
        '    - link "A" [box=48,8,300,19]:',
        '      - /url: /a',
        '- paragraph [box=8,40,600,19]: Lorem ipsum dolor',  # a clickable span merged into this text
        "- 'tab \"Tab #1\"' [box=8,70,50,19]",
        '- button "Below" [box=8,900,50,19]',
    ])
    els = [NumberedBox(1, "link", "A", (48, 8, 300, 19)), NumberedBox(2, "clickable", "ipsum", (60, 40, 40, 19)),
           NumberedBox(3, "clickable", "Tab #1", (8, 70, 50, 19)), NumberedBox(4, "button", "Below", (8, 900, 50, 19)),
           NumberedBox(5, "clickable", "nowhere", (8, 120, 50, 19))]
    out = annotate(snap, els, viewport_height=600)
    assert out.splitlines() == [
        "- list:", "  - listitem:", '    - link "A" [1]', "- paragraph: Lorem [2] ipsum dolor",
        '- tab "Tab #1" [3]', '- [5] clickable "nowhere"',
    ]
    below = annotate(snap, els, viewport_height=1000)
    assert '- button "Below" [4]' in below


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_one_server_for_many_envs_stopped_with_the_last(tmp_path: Any) -> None:
    # A database of their own, so no other test's env holds the same server.
    a, b = WebShopEnv(split="val", data_dir=tmp_path), WebShopEnv(split="test", data_dir=tmp_path)
    a.reset(seed=0)
    b.reset(seed=1)
    assert a.base_url == b.base_url and a.sid != b.sid
    srv = a._res["server"]
    port, proc = srv.port, srv.proc
    a.close()
    assert srv.running and _port_open(port)
    b.close()
    assert proc.poll() is not None and not _port_open(port)
    assert srv not in site_server.running_servers()


def test_parse_page_forms_and_hidden_elements() -> None:
    html = ('<form action="/f" method="post"><input type="hidden" name="k" value="v">'
            '<input type="checkbox" name="c" value="1" aria-label="agree">'
            '<select name="s"><option value="a">A</option><option value="b" selected>B</option></select>'
            '<textarea name="t">hi</textarea><button name="go" value="1">Go</button></form>'
            '<div style="display: none"><a href="/x">hidden</a></div><script>var a = "<a href=/y>";</script>'
            '<a href="/z">Z</a>')
    page = parse_page(html, "http://h:1/p")
    shown = page.text()
    assert "hidden" not in shown and "/y" not in shown and '[6] link "Z"' in shown
    assert page.elements[4].visible and not page.elements[5].visible
    assert page.elements[2].value == "b" and page.elements[3].value == "hi"
    assert page.form_fields(0) == [("k", "v"), ("s", "b"), ("t", "hi")]
    page.elements[1].checked = True
    assert ("c", "1") in page.form_fields(0)


def test_registered_with_a_suite() -> None:
    suite = get_suite("web-v0")
    assert {e.env_id.split("/")[-1] for e in suite.entries} == {"WebShop-v0", "WebQA-v0"}
