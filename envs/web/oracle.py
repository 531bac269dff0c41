"""Scripted policies of the web envs; they read the page like an agent does
(element numbers from the observation) and know the gold answer.

* ``shop_oracle``: searches the gold product's title, pages through the results
  to its link, selects the goal's options and buys. Reward 1.
* ``shop_first_result``: searches the instruction, opens the first result,
  takes the first value of every option and buys: a weak baseline.
* ``wiki_oracle``: searches the first article of the question's chain, follows
  the links along the chain and answers. Exact match.
"""

from __future__ import annotations

from agentgym.envs.web.env import WebEnv, WebQAEnv, WebShopEnv
from agentgym.envs.web.page import Element
from agentgym.tools import ToolCall


def _call(name: str, **args: object) -> str:
    return ToolCall(name, dict(args)).render()


def _link_to(env: WebEnv, path_end: str) -> Element | None:
    page = env.client.page
    if page is None:
        return None
    return next((e for e in page.elements.values()
                 if e.kind == "link" and e.visible and (e.href or "").split("?")[0].endswith(path_end)), None)


def _link_text(env: WebEnv, text: str) -> Element | None:
    page = env.client.page
    return next((e for e in page.elements.values() if e.kind == "link" and e.label == text), None) if page else None


def shop_oracle(env: WebShopEnv) -> str:
    assert env.task is not None
    gold = env.task.meta["gold"]
    pid, options = gold["pid"], gold["options"]
    path = env.display_url().split("?")[0]
    page = env.client.page
    if path == f"/item/{pid}" and page is not None:
        for axis, value in options.items():
            el = next((e for e in page.elements.values() if e.kind == "select" and e.name == f"opt_{axis}"), None)
            if el is not None and el.value != value:
                return _call("select_option", element=el.id, value=value)
        return _call("buy")
    link = _link_to(env, f"/item/{pid}")
    if link is not None:
        return _call("click", element=link.id)
    if path == "/search" and (nxt := _link_text(env, "Next >")) is not None:
        return _call("click", element=nxt.id)
    return _call("search", query=env.task.answer.split("(", 1)[1].split(")", 1)[0])


def shop_first_result(env: WebShopEnv) -> str:
    assert env.task is not None
    path = env.display_url().split("?")[0]
    page = env.client.page
    if path.startswith("/item/") and page is not None:
        for el in page.elements.values():
            if el.kind == "select" and not el.value and len(el.options) > 1:
                return _call("select_option", element=el.id, value=el.options[1][1])
        return _call("buy")
    if path == "/search" and page is not None:
        first = next((e for e in page.elements.values() if e.kind == "link" and "/item/" in (e.href or "")), None)
        if first is not None:
            return _call("click", element=first.id)
    return _call("search", query=env.task.prompt)


def wiki_oracle(env: WebQAEnv) -> str:
    assert env.task is not None
    slugs, titles = env.task.meta["path"], env.task.meta["titles"]
    path = env.display_url().split("?")[0]
    if path.startswith("/w/wiki/"):
        here = path.removeprefix("/w/wiki/")
        if here == slugs[-1]:
            return _call("answer", text=env.task.answer)
        if here in slugs:
            nxt = slugs[slugs.index(here) + 1]
            link = _link_to(env, f"/w/wiki/{nxt}")
            if link is not None:
                return _call("click", element=link.id)
            return _call("search", query=titles[slugs.index(here) + 1])
    link = _link_to(env, f"/w/wiki/{slugs[0]}")
    if link is not None:
        return _call("click", element=link.id)
    return _call("search", query=titles[0])
