"""Web environments: a shop (``WebShop-v0``) and a wiki (``WebQA-v0``) served on loopback.

* ``shop_data.py`` — the generated catalogue (products, attributes, options, stock) in SQLite + FTS5.
* ``wiki_data.py`` — the generated encyclopedia (linked articles, infoboxes) and its questions.
* ``sites.py``     — the Starlette apps and the server process; ``templates/`` their HTML.
* ``server.py``    — one shared server process per site, started and stopped with the envs.
* ``page.py``      — HTML to compact text with numbered elements (both modes).
* ``client.py``    — text mode (httpx); ``browser.py`` — browser mode (Playwright + Chromium).
* ``tasks.py``, ``reward.py``, ``oracle.py`` — instructions/questions, WebShop reward and answer F1, experts.
* ``env.py``       — the environments and their tools.
"""
