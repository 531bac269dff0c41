"""The web sites: Starlette apps for the shop and the wiki, and their server process.

Run as a process (what :mod:`~agentgym.envs.web.server` does)::

    python -m agentgym.envs.web.sites --site shop --db ~/.cache/agentgym/web/shop-v1-0.sqlite --port 8123

Shop routes (``sid`` is the episode's session; many sessions share a server):
``/s/{sid}/`` home, ``/s/{sid}/search?q=&page=`` ranked results (SQLite FTS5
BM25, 10 per page), ``/s/{sid}/item/{pid}`` product page (options form, Buy
Now), ``.../description`` and ``.../features`` sub-pages, ``POST /s/{sid}/buy``
(303 to the confirmation page; an incomplete or out-of-stock choice re-renders
the product page with the reason). ``/api/s/{sid}/order`` is the env's JSON
view of the session's order (the grader reads it; nothing links to it).

Wiki routes: ``/w/`` home, ``/w/search?q=&page=``, ``/w/wiki/{slug}``.

MiniWoB++: the ``miniwob`` package's task pages as static files (``/miniwob/{task}.html``).

Both: ``/healthz``. Unknown pages are 404 pages, bad parameters 400 pages.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from agentgym.envs.web.shop_data import CATEGORIES, product_from_row

__all__ = ["shop_app", "wiki_app", "fts_query", "main", "PAGE_SIZE"]

PAGE_SIZE = 10
MAX_SESSIONS = 100_000
_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(["html"]), auto_reload=False)
_WORD = re.compile(r"[A-Za-z0-9]+")


def fts_query(text: str) -> str:
    """An FTS5 query matching any word of ``text`` (ranked by BM25), or ``""``.

    >>> fts_query('leather "boots", size 10!')
    '"leather" OR "boots" OR "size" OR "10"'
    """
    words = _WORD.findall(text.lower())[:32]
    return " OR ".join(f'"{w}"' for w in words)


def _html(name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(_TEMPLATES.get_template(name).render(**ctx), status_code=status_code,
                        headers={"cache-control": "no-store"})


def _error(status: int, message: str, home: str) -> HTMLResponse:
    return _html("error.html", status, status=status, message=message, home=home)


def _page_number(request: Request) -> int | None:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else None


def _connect(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    return con


# ----------------------------------------------------------------------
# Shop
# ----------------------------------------------------------------------
def shop_app(db: Path | str) -> Starlette:
    """The shop over catalogue database ``db`` (see :mod:`~agentgym.envs.web.shop_data`)."""
    con = _connect(Path(db))
    n_products = con.execute("SELECT count(*) FROM products").fetchone()[0]
    categories = [c.name for c in CATEGORIES]
    orders: OrderedDict[str, dict[str, Any]] = OrderedDict()
    lock = threading.Lock()

    def product(pid: str):  # noqa: ANN202 (Product | None)
        row = con.execute("SELECT pid, category, ptype, brand, title, price, rating, description, family, data "
                          "FROM products WHERE pid = ?", (pid,)).fetchone()
        return product_from_row(row) if row else None

    def root(request: Request) -> str:
        return f"/s/{request.path_params['sid']}"

    async def home(request: Request) -> Response:
        return _html("shop_home.html", root=root(request), n_products=n_products, categories=categories)

    async def search(request: Request) -> Response:
        query = request.query_params.get("q", "").strip()[:200]
        page = _page_number(request)
        if page is None:
            return _error(400, "The page number must be a positive whole number.", root(request) + "/")
        match = fts_query(query)
        total, results = 0, []
        if match:
            total = con.execute("SELECT count(*) FROM products_fts WHERE products_fts MATCH ?", (match,)).fetchone()[0]
            rows = con.execute(
                "SELECT f.pid, p.title, p.price, p.rating FROM products_fts f JOIN products p ON p.pid = f.pid "
                "WHERE products_fts MATCH ? ORDER BY bm25(products_fts, 0, 4.0, 2.0, 1.0, 1.0), f.pid "
                "LIMIT ? OFFSET ?", (match, PAGE_SIZE, (page - 1) * PAGE_SIZE)).fetchall()
            results = [{"pid": r[0], "title": r[1], "price": r[2], "rating": r[3]} for r in rows]
        pages = max(1, -(-total // PAGE_SIZE))
        return _html("shop_search.html", root=root(request), query=query, page=page, pages=pages, total=total,
                     results=results)

    async def item(request: Request) -> Response:
        p = product(request.path_params["pid"])
        if p is None:
            return _error(404, "There is no such product.", root(request) + "/")
        section = request.path_params.get("section")
        if section is not None:
            if section not in ("description", "features"):
                return _error(404, "There is no such page.", root(request) + "/")
            return _html("shop_detail.html", root=root(request), p=p, section=section.title())
        chosen = {a: request.query_params.get(a, "") for a in p.options}
        return _html("shop_item.html", root=root(request), p=p, chosen=chosen, error=None)

    async def buy(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        p = product(form.get("pid", ""))
        if p is None:
            return _error(404, "There is no such product.", root(request) + "/")
        chosen = {a: form.get(f"opt_{a}", "") for a in p.options}
        for axis, value in chosen.items():
            if value and value not in p.options[axis]:
                return _error(400, f"{value!r} is not a {axis} of this product.", root(request) + "/")
        missing = [a for a, v in chosen.items() if not v]
        error = None
        if missing:
            error = f"Choose a {' and a '.join(missing)} before buying."
        elif not p.in_stock(chosen):
            error = f"Sorry, {' / '.join(chosen.values())} is out of stock. Choose other options."
        if error:
            return _html("shop_item.html", root=root(request), p=p, chosen=chosen, error=error)
        sid = request.path_params["sid"]
        order = {"pid": p.pid, "title": p.title, "price": p.price, "options": chosen, "category": p.category,
                 "ptype": p.ptype, "attributes": list(p.attributes)}
        with lock:
            orders[sid] = order
            orders.move_to_end(sid)
            while len(orders) > MAX_SESSIONS:
                orders.popitem(last=False)
        return RedirectResponse(f"{root(request)}/done", status_code=303)

    async def done(request: Request) -> Response:
        order = orders.get(request.path_params["sid"])
        if order is None:
            return _error(404, "You have not ordered anything yet.", root(request) + "/")
        return _html("shop_done.html", root=root(request), order=order)

    async def api_order(request: Request) -> Response:
        return JSONResponse({"order": orders.get(request.path_params["sid"])})

    async def api_forget(request: Request) -> Response:
        with lock:
            orders.pop(request.path_params["sid"], None)
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/healthz", _healthz),
        Route("/s/{sid}/", home),
        Route("/s/{sid}/search", search),
        Route("/s/{sid}/item/{pid}", item),
        Route("/s/{sid}/item/{pid}/{section}", item),
        Route("/s/{sid}/buy", buy, methods=["POST"]),
        Route("/s/{sid}/done", done),
        Route("/api/s/{sid}/order", api_order),
        Route("/api/s/{sid}/forget", api_forget, methods=["POST"]),
    ], exception_handlers={404: _not_found, 405: _not_found})


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return _error(status, "There is no such page.", "/")


# ----------------------------------------------------------------------
# Wiki
# ----------------------------------------------------------------------
_LINK = re.compile(r"\[\[([a-z0-9_]+)\|([^\]]+)\]\]")


def _linkify(text: str) -> str:
    """Article markup (``[[slug|text]]``) to HTML, escaping everything else."""
    from markupsafe import escape

    out, pos = [], 0
    for m in _LINK.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        out.append(f'<a href="/w/wiki/{m.group(1)}">{escape(m.group(2))}</a>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return "".join(out)


def wiki_app(db: Path | str) -> Starlette:
    """The wiki over article database ``db`` (see :mod:`~agentgym.envs.web.wiki_data`)."""
    con = _connect(Path(db))
    n_articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]

    async def home(request: Request) -> Response:
        return _html("wiki_home.html", n_articles=n_articles, query="")

    async def search(request: Request) -> Response:
        query = request.query_params.get("q", "").strip()[:200]
        page = _page_number(request)
        if page is None:
            return _error(400, "The page number must be a positive whole number.", "/w/")
        match = fts_query(query)
        total, results = 0, []
        if match:
            total = con.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", (match,)).fetchone()[0]
            rows = con.execute(
                "SELECT a.slug, a.title, a.summary FROM articles_fts f JOIN articles a ON a.slug = f.slug "
                "WHERE articles_fts MATCH ? ORDER BY bm25(articles_fts, 0, 5.0, 1.0), a.slug LIMIT ? OFFSET ?",
                (match, PAGE_SIZE, (page - 1) * PAGE_SIZE)).fetchall()
            results = [{"slug": r[0], "title": r[1], "summary": r[2]} for r in rows]
        pages = max(1, -(-total // PAGE_SIZE))
        return _html("wiki_search.html", query=query, page=page, pages=pages, total=total, results=results)

    async def article(request: Request) -> Response:
        row = con.execute("SELECT slug, title, kind, infobox, body FROM articles WHERE slug = ?",
                          (request.path_params["slug"],)).fetchone()
        if row is None:
            return _error(404, "There is no article with this name. Try the search.", "/w/")
        infobox = [(k, _linkify(v)) for k, v in json.loads(row[3])]
        body = [(_linkify(h), [_linkify(p) for p in ps]) for h, ps in json.loads(row[4])]
        return _html("wiki_article.html", title=row[1], kind=row[2], infobox=infobox, body=body, query="")

    return Starlette(routes=[
        Route("/healthz", _healthz),
        Route("/w/", home),
        Route("/w/search", search),
        Route("/w/wiki/{slug}", article),
    ], exception_handlers={404: _not_found, 405: _not_found})


# ----------------------------------------------------------------------
# MiniWoB++ task pages (static files of the ``miniwob`` package)
# ----------------------------------------------------------------------
def miniwob_app(html_dir: Path | str) -> Starlette:
    """The MiniWoB++ task pages under ``/miniwob/{task}.html`` (with their ``core``/``common`` scripts)."""
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    return Starlette(routes=[Route("/healthz", _healthz), Mount("/", StaticFiles(directory=str(html_dir)))])


# ----------------------------------------------------------------------
# The server process
# ----------------------------------------------------------------------
def _watch_parent() -> None:
    """Exit when stdin closes: the env process that started us is gone."""
    import os

    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", choices=["shop", "wiki", "miniwob"], required=True)
    ap.add_argument("--db", required=True, help="the site's SQLite database (MiniWoB: its html folder)")
    ap.add_argument("--fd", type=int, help="a listening socket inherited from the parent")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--watch-stdin", action="store_true", help="exit when stdin reaches EOF")
    args = ap.parse_args(argv)
    app = {"shop": shop_app, "wiki": wiki_app, "miniwob": miniwob_app}[args.site](args.db)
    if args.watch_stdin:
        threading.Thread(target=_watch_parent, daemon=True).start()
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                            lifespan="off")
    server = uvicorn.Server(config)
    if args.fd is not None:
        import socket

        server.run(sockets=[socket.socket(fileno=args.fd)])  # family and type read from the descriptor
    else:
        server.run()


if __name__ == "__main__":
    main()
