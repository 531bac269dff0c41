"""The web environments: ``agentgym/WebShop-v0`` and ``agentgym/WebQA-v0``.

Both browse a real site served on loopback by a shared server process (see
:mod:`~agentgym.envs.web.server`), in one of two modes over the same HTML:

* ``mode="text"`` (default): pages fetched with ``httpx`` and rendered to
  compact text with numbered elements (:mod:`~agentgym.envs.web.page`).
* ``mode="browser"``: Chromium driven by Playwright; the observation is the
  page's accessibility snapshot (Playwright's ARIA snapshot, one line per node:
  ``- link "Next >" [14]``) cut to the real viewport, with the element numbers
  text mode shows on the nodes they belong to (:mod:`~agentgym.envs.web.aria`),
  so the tools take the same numbers and an episode has the same actions,
  anchors and rewards in both modes; ``scroll`` scrolls the page itself. Every
  request that is not to the site's loopback origin is blocked;
  ``screenshot=True`` adds a PNG of the viewport to ``info["screenshot"]``.
  It needs Chromium and Playwright: without them ``make`` raises
  :class:`~agentgym.errors.DependencyUnavailableError` with the fix.

Tools (both sites): ``search(query)``, ``click(element)``,
``type(element, text, submit=False)``, ``select_option(element, value)``,
``back()``, ``scroll(direction)``; the shop adds ``buy()`` (the product page's
Buy Now button), the wiki ``answer(text)``.

**WebShop-v0**: buy the product an instruction describes (type, attributes,
options, price ceiling). Reward parts (WebShop's formula, see
:mod:`~agentgym.envs.web.reward`): ``attributes``, ``options``, ``price``
(weight 1 each, ``reward_weights=`` to change them), and ``invalid_action``.
Terminated by a purchase; success = WebShop's score 1 (whatever the weights).
Metrics: ``r_type``, ``r_att``, ``r_option``, ``r_price``, ``purchased``,
``pages_loaded``, ``load_errors``.

**WebQA-v0**: answer a multi-hop question about a generated encyclopedia.
Reward parts: ``exact_match`` and ``f1`` (0.5 each by default,
``reward_weights=``), with ``answer_judge=`` the judged ``answer_judge``
(unavailable when the judge cannot answer: left out of ``reward_parts``, named
in ``info["reward_unavailable"]`` and counted in the ``reward_unavailable``
metric), and ``invalid_action``. Terminated by ``answer``; success = exact match.
Metrics: ``exact_match``, ``f1``, ``pages_loaded``, ``load_errors``; with a
judge ``judge_pass`` and ``reward_unavailable``.

The parts are an :class:`agentgym.rewards.Reward`: ``env.reward`` (with the
env's weights) lists them.

Truncation: ``max_turns`` (30 shop, 20 wiki). State key: the page's route and
sorted query parameters, its form state (the shop's selected options), and the
scroll position (text mode: the first line shown; browser mode: ``scrollY`` in
pixels), never the page text.

Change log: v0 — first version.

>>> env = WebShopEnv(split="val")
>>> obs, info = env.reset(seed=0)
>>> obs.startswith("Instruction:")
True
>>> env.close()
"""

from __future__ import annotations

import base64
import uuid
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from agentgym import AgentEnv, Task, tool
from agentgym.envs.web import server as site_server
from agentgym.envs.web.client import ClientBase, PageLoadError, TextClient
from agentgym.envs.web.reward import (
    SHOP_REWARD,
    WikiAnswer,
    check_wiki_weights,
    grade_purchase,
    weighted,
    wiki_reward,
)
from agentgym.envs.web.shop_data import shop_db
from agentgym.envs.web.tasks import ShopTasks, WikiTasks
from agentgym.envs.web.wiki_data import wiki_db
from agentgym.errors import ConfigError, DependencyUnavailableError, InvalidActionError
from agentgym.rewards import FinalAnswerJudge, Reward, RewardReporting, Unavailable

__all__ = ["WebEnv", "WebShopEnv", "WebQAEnv"]

Mode = Literal["text", "browser"]
_COMMON = (
    "You browse a web site through tools. Each observation shows the page: its text, with every link, "
    "button, text box and select numbered like [12]. Use click(element) on links and buttons, "
    "type(element, text, submit) on text boxes, select_option(element, value) on selects, search(query) to "
    "search the site, back() to return to the previous page and scroll(direction) on long pages."
)


def _release(resources: dict[str, Any], from_gc: bool = False) -> None:
    """Close the client and let go of the server (close(), and garbage collection with
    ``from_gc``: a browser client is then closed later, see ``browser._DEFERRED``)."""
    client, srv, api = resources.pop("client", None), resources.pop("server", None), resources.pop("api", None)
    if api is not None:
        api.close()
    if client is not None:
        try:
            if from_gc and hasattr(client, "close_later"):
                client.close_later()
            else:
                client.close()
        except Exception:  # noqa: BLE001 (best effort at shutdown; a dead browser may raise anything)
            pass
    if srv is not None:
        site_server.release(srv)


class WebEnv(AgentEnv):
    """Shared machinery of the web envs (see the module docstring).

    Args:
        mode: ``"text"`` (httpx) or ``"browser"`` (Playwright + Chromium).
        site_seed: Which generated site (catalogue or encyclopedia) to serve.
        viewport_lines: Text mode: lines of page text shown at once (``scroll`` moves them).
        viewport_height: Browser mode: the viewport's height in CSS pixels (1280 wide).
        timeout_s: Time limit of one page load.
        screenshot: Browser mode: add the page's PNG (base64) to ``info["screenshot"]``.
        data_dir: Where the site databases are built (default ``$AGENTGYM_CACHE_DIR/web``).
        chromium: Browser mode: the Chromium executable.
        reward_weights: Weights of the env's reward parts (names: ``env.reward.names``).
        **kwargs: :class:`~agentgym.AgentEnv` arguments.
    """

    site: ClassVar[str] = ""
    base_reward: ClassVar[Reward]
    """The env's reward with its default weights (``env.reward`` has the env's)."""

    def __init__(self, *, mode: Mode = "text", site_seed: int = 0, viewport_lines: int = 40,
                 viewport_height: int = 900, timeout_s: float = 10.0, screenshot: bool = False,
                 data_dir: str | Path | None = None, chromium: str = "/usr/bin/chromium",
                 reward_weights: Mapping[str, float] | None = None, **kwargs: Any) -> None:
        self.reward = self.build_reward(reward_weights)
        if mode not in ("text", "browser"):
            raise ConfigError(f"mode must be 'text' or 'browser', got {mode!r}.")
        if viewport_lines < 5:
            raise ConfigError(f"viewport_lines must be >= 5, got {viewport_lines}.")
        if not 200 <= viewport_height <= 4000:
            raise ConfigError(f"viewport_height must be in [200, 4000] pixels, got {viewport_height}.")
        if not 0 < timeout_s <= 120:
            raise ConfigError(f"timeout_s must be in (0, 120], got {timeout_s}.")
        if mode == "browser":
            from agentgym.envs.web.browser import browser_available  # imports no playwright

            reason = browser_available(chromium)
            if reason:
                raise DependencyUnavailableError(
                    f"mode='browser' cannot run here: {reason}. Browser mode needs Debian's Chromium "
                    "(apt-get install chromium) and Playwright (pip install 'agentgym[web]'); "
                    "`playwright install` is not needed.")
        self.mode: Mode = mode
        self.site_seed = int(site_seed)
        self.viewport_lines = int(viewport_lines)
        self.viewport_height = int(viewport_height)
        self.timeout_s = float(timeout_s)
        self.screenshot = bool(screenshot)
        self.data_dir = data_dir
        self.chromium = chromium
        self._res: dict[str, Any] = {}
        weakref.finalize(self, _release, self._res, True)
        super().__init__(**kwargs)

    # -- hooks of the two sites ---------------------------------------------
    def build_reward(self, weights: Mapping[str, float] | None) -> Reward:
        """``env.reward``: :attr:`base_reward` with ``weights`` (unknown names raise)."""
        return weighted(self.base_reward, weights, type(self).__name__)

    def site_db(self) -> Path:
        raise NotImplementedError

    def start_path(self) -> str:
        raise NotImplementedError

    def search_path(self, query: str) -> str:
        raise NotImplementedError

    def intro(self, task: Task) -> str:
        raise NotImplementedError

    def after_action(self, loaded: bool) -> str | None:
        """Called after every page action (``loaded``: a new page came); may end the
        episode; returns a note that replaces the page in the observation."""
        return None

    def client_options(self) -> dict[str, Any]:
        """Extra keyword arguments of the browser-mode client."""
        return {}

    # -- resources -------------------------------------------------------
    @property
    def client(self) -> ClientBase:
        return self._res["client"]

    @property
    def base_url(self) -> str:
        return self._res["server"].base_url

    def _ensure_resources(self) -> None:
        srv = self._res.get("server")
        if srv is None or not srv.running:
            if srv is not None:  # it died: start a fresh one (and a client for it)
                _release(self._res)
            self._res["server"] = site_server.acquire(self.site, self.site_db())
        client = self._res.get("client")
        if client is not None and (client.origin != self.base_url or not client.healthy()):
            client.close()
            client = None
        if client is None:
            if self.mode == "text":
                client = TextClient(self.base_url, self.timeout_s)
            else:
                from agentgym.envs.web.browser import BrowserClient

                client = BrowserClient(self.base_url, self.timeout_s, executable=self.chromium,
                                       viewport_height=self.viewport_height, **self.client_options())
            self._res["client"] = client

    def close(self) -> None:
        _release(self._res)
        super().close()

    # -- episode ---------------------------------------------------------
    def on_reset(self, task: Task) -> str:
        self._ensure_resources()
        self.sid = uuid.uuid4().hex[:16]
        self.client.new_episode()
        self.top = 0
        self.pages_loaded = self.load_errors = 0
        note = self._navigate(lambda: self.client.open(self.base_url + self.start_path()))
        return f"{self.intro(task)}\n\n{note or self.observe()}"

    def _navigate(self, action: Any) -> str | None:
        """Run a client action; returns an error note if the page did not load."""
        loads = self.client.loads
        try:
            note = action()
            loaded = self.client.loads != loads
            if loaded:
                self.pages_loaded += 1
                self.top = 0
            note = self.after_action(loaded) or note
        except PageLoadError as e:
            self.load_errors += 1
            return f"Error: {e}. The page did not change; try again."
        return note if isinstance(note, str) else None

    def observe(self, note: str | None = None) -> str:
        page = self.client.page
        if page is None:
            return "No page is open."
        head = f"Page: {self.display_url()}" + (f" (HTTP {page.status})" if page.status >= 400 else "")
        if self.mode == "browser":
            client: Any = self.client
            parts = [note, head, client.aria_text()] if note else [head, client.aria_text()]
            y, h, total = client.scroll_y, client.viewport_height, client.page_height
            if total > h:
                more = "; scroll down for more" if y + h < total else ""
                parts.append(f"[pixels {y}-{min(total, y + h)} of {total}{more}]")
            return "\n".join(parts)
        n = len(page.lines)
        body = page.text(self.top, self.viewport_lines)
        parts = [note, head, body] if note else [head, body]
        if n > self.viewport_lines:
            end = min(n, self.top + self.viewport_lines)
            more = "; scroll down for more" if end < n else ""
            parts.append(f"[lines {self.top + 1}-{end} of {n}{more}]")
        return "\n".join(parts)

    def display_url(self) -> str:
        page = self.client.page
        if page is None:
            return ""
        u = urlsplit(page.url)
        path = u.path.removeprefix(f"/s/{self.sid}") or "/"
        return path + (f"?{u.query}" if u.query else "")

    def state_key(self) -> str:
        if self.task is None or "client" not in self._res or self.client.page is None:
            return self._last_obs
        page = self.client.page
        u = urlsplit(self.display_url())
        query = "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(u.query)))
        form = ";".join(f"{e.name}={'1' if e.checked else '0'}" if e.kind in ("checkbox", "radio") else f"{e.name}={e.value}"
                        for e in page.elements.values() if e.id > 0 and e.kind not in ("link", "button") and e.name)
        top = self.client.scroll_y if self.mode == "browser" else self.top  # type: ignore[attr-defined]
        return f"{self.task.id}|{u.path}?{query}|{form}|top={top}"

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        if self.screenshot and self.mode == "browser" and "client" in self._res:
            info["screenshot"] = base64.b64encode(self.client.screenshot()).decode()
        return obs, reward, terminated, truncated, info

    def episode_metrics(self) -> dict[str, float]:
        return {"pages_loaded": float(self.pages_loaded), "load_errors": float(self.load_errors)}

    # -- tools -------------------------------------------------------------
    @tool
    def search(self, query: str) -> str:
        """Search the site and show the first page of results.

        Args:
            query: What to search for, in a few words.
        """
        if not query.strip():
            raise InvalidActionError("The search query is empty.")
        note = self._navigate(lambda: self.client.open(self.base_url + self.search_path(query.strip()[:200])))
        return note if self._terminated else self.observe(note)

    @tool
    def click(self, element: int) -> str:
        """Click a link, a button, a checkbox or a radio button.

        Args:
            element: The element's number, as shown in brackets, e.g. 12 for [12].
        """
        note = self._navigate(lambda: self.client.click(element))
        return note if self._terminated else self.observe(note)

    @tool
    def type(self, element: int, text: str, submit: bool = False) -> str:
        """Type text into a text box (replacing what it holds).

        Args:
            element: The text box's number.
            text: The text to type.
            submit: Press Enter afterwards (submits the box's form).
        """
        note = self._navigate(lambda: self.client.fill(element, text, submit))
        return note if self._terminated else self.observe(note)

    @tool
    def select_option(self, element: int, value: str) -> str:
        """Choose an option of a select (a drop-down list).

        Args:
            element: The select's number.
            value: The option to choose, as shown in its options.
        """
        note = self._navigate(lambda: self.client.select(element, value))
        return note if self._terminated else self.observe(note)

    @tool
    def back(self) -> str:
        """Go back to the previous page."""
        note = self._navigate(self.client.back)
        return note if self._terminated else self.observe(note)

    @tool
    def scroll(self, direction: Literal["up", "down"]) -> str:
        """Scroll the page to see more of it.

        Args:
            direction: "down" or "up".
        """
        if self.client.page is None:
            raise InvalidActionError("No page is open.")
        if self.mode == "browser":  # the real page scrolls; the observation shows its viewport
            client: Any = self.client
            moved: list[bool] = []
            note = self._navigate(lambda: moved.append(client.scroll(direction)))
            if note is None and not moved[0]:
                note = f"You are already at the {'bottom' if direction == 'down' else 'top'} of the page."
            return note if self._terminated else self.observe(note)
        n, step = len(self.client.page.lines), max(1, self.viewport_lines - 5)
        top = min(max(0, n - self.viewport_lines), self.top + step) if direction == "down" else max(0, self.top - step)
        note = None if top != self.top else f"You are already at the {'bottom' if direction == 'down' else 'top'} of the page."
        self.top = top
        return self.observe(note)


# ----------------------------------------------------------------------
# WebShop-v0
# ----------------------------------------------------------------------
class WebShopEnv(WebEnv):
    """Buy what the instruction describes in a generated shop (see the module docstring)."""

    family = "web_shop"
    site = "shop"
    instructions = (
        "You shop online for a customer. Find the product that matches the instruction: its type, every "
        "attribute (some are told only on a product's Description or Features page), the options to choose "
        "(select each one on the product page), and a price below the ceiling. Then call buy() on that "
        "product's page; buying ends the episode. " + _COMMON
    )
    default_max_turns = 30
    base_reward = SHOP_REWARD
    scripted_policies = {"oracle": "agentgym.envs.web.oracle:shop_oracle",
                         "first_result": "agentgym.envs.web.oracle:shop_first_result"}

    def make_generator(self, seed: int) -> ShopTasks:
        return ShopTasks(seed, site_seed=self.site_seed)

    def site_db(self) -> Path:
        return shop_db(self.site_seed, self.data_dir)

    def start_path(self) -> str:
        return f"/s/{self.sid}/"

    def search_path(self, query: str) -> str:
        return f"/s/{self.sid}/search?q={quote(query)}"

    def intro(self, task: Task) -> str:
        return f"Instruction: {task.prompt}"

    def on_reset(self, task: Task) -> str:
        self.purchase: dict[str, Any] | None = None
        self.grade: dict[str, float] = {}
        return super().on_reset(task)

    def after_action(self, loaded: bool) -> str | None:
        if not loaded or self.purchase is not None or urlsplit(self.client.page.url).path != f"/s/{self.sid}/done":
            return None
        try:
            if "api" not in self._res:  # one client per env: making one costs an SSL context (~10 ms+)
                self._res["api"] = httpx.Client(timeout=self.timeout_s, trust_env=False)
            r = self._res["api"].get(f"{self.base_url}/api/s/{self.sid}/order")
            order = r.json()["order"]
        except (httpx.HTTPError, ValueError, KeyError) as e:
            raise PageLoadError(f"the order could not be read back ({type(e).__name__})") from e
        if order is None:
            return None
        assert self.task is not None
        self.purchase = order
        grade = grade_purchase(self.task.meta["goal"], order)
        self.grade = grade.metrics()
        self.reward.apply(self, grade)
        total = grade.score  # WebShop's r, whatever the weights
        self.finish(success=total >= 1.0 - 1e-9)
        opts = ", ".join(f"{k}: {v}" for k, v in order["options"].items())
        return f"You bought {order['title']} ({order['pid']}){' with ' + opts if opts else ''} for ${order['price']:.2f}. Score: {total:.3f}."

    @tool
    def buy(self) -> str:
        """Buy the product on this page with the options selected now (press its Buy Now button)."""
        page = self.client.page
        button = next((e for e in page.elements.values() if e.kind == "button" and e.label == "Buy Now"), None) if page else None
        if button is None:
            raise InvalidActionError("There is no Buy Now button here; open a product page first.", kind="not_product_page")
        note = self._navigate(lambda: self.client.click(button.id))
        return note if self._terminated else self.observe(note)

    def episode_metrics(self) -> dict[str, float]:
        m = super().episode_metrics()
        m.update({"r_type": 0.0, "r_att": 0.0, "r_option": 0.0, "r_price": 0.0}, **self.grade)
        m["purchased"] = float(self.purchase is not None)
        return m


# ----------------------------------------------------------------------
# WebQA-v0
# ----------------------------------------------------------------------
class WebQAEnv(RewardReporting, WebEnv):
    """Answer multi-hop questions from a generated encyclopedia (see the module docstring).

    Args:
        reward_weights: Weights of ``exact_match`` and ``f1`` (0.5 each).
        answer_judge: Also judge the answer against the reference with an LLM
            judge (:class:`agentgym.rewards.FinalAnswerJudge`: an ``LLMJudge``,
            a ``JudgeEnsemble`` or a backend spec such as ``"hf:smollm2-135m"``):
            reward part ``answer_judge``, episode metrics ``judge_pass`` (its
            verdict, compared with ``success`` by the trainer and ``agentgym
            eval``) and ``reward_unavailable`` (a judge that cannot answer
            leaves the part unavailable: ``info["reward_unavailable"]``, and the
            trainer masks the episode).
        answer_judge_weight: The judged part's weight (0: report ``judge_pass`` only).
    """

    family = "web_wiki"
    site = "wiki"
    instructions = (
        "You answer a question by reading an online encyclopedia. The answer needs facts from two or three "
        "articles: follow the links between them. When you know it, call answer(text) with the answer alone "
        "(a name, a year ...); answering ends the episode. " + _COMMON
    )
    default_max_turns = 20
    base_reward = wiki_reward()
    scripted_policies = {"oracle": "agentgym.envs.web.oracle:wiki_oracle"}

    def __init__(self, *, answer_judge: Any = None, answer_judge_weight: float = 1.0, **kwargs: Any) -> None:
        self.answer_judge = None if answer_judge is None else FinalAnswerJudge(answer_judge, weight=answer_judge_weight)
        # The metric reward_unavailable exists when a judged part counts in the reward.
        self.reports_unavailable = self.answer_judge is not None and bool(self.answer_judge.weight)
        super().__init__(**kwargs)

    def build_reward(self, weights: Mapping[str, float] | None) -> Reward:
        self.weights = check_wiki_weights(weights)
        return wiki_reward(self.weights, None if self.answer_judge is None else self.answer_judge.weight)

    def make_generator(self, seed: int) -> WikiTasks:
        return WikiTasks(seed, site_seed=self.site_seed)

    def site_db(self) -> Path:
        return wiki_db(self.site_seed, self.data_dir)

    def start_path(self) -> str:
        return "/w/"

    def search_path(self, query: str) -> str:
        return f"/w/search?q={quote(query)}"

    def intro(self, task: Task) -> str:
        return f"Question: {task.prompt}"

    def on_reset(self, task: Task) -> str:
        self.scores: dict[str, float] = {"exact_match": 0.0, "f1": 0.0}
        if self.answer_judge is not None:
            self.answer_judge.reset()
        return super().on_reset(task)

    @tool
    def answer(self, text: str) -> str:
        """Give your final answer to the question; this ends the episode.

        Args:
            text: The answer alone, e.g. a name or a year.
        """
        assert self.task is not None
        if not text.strip():
            raise InvalidActionError("The answer is empty.")
        judged: float | Unavailable = Unavailable("no answer judge")
        if self.answer_judge is not None:  # judged even at weight 0: judge_pass monitors the verifier
            self.answer_judge.score(self.task.prompt, text, self.task.answer)
            judged = self.answer_judge.verdict.as_part()
        scored = self.reward.apply(self, WikiAnswer(text, self.task.answer, judged))
        self.scores = {"exact_match": scored.raw["exact_match"], "f1": scored.raw["f1"]}
        self.finish(success=self.scores["exact_match"] == 1.0)
        verdict = "correct" if self.scores["exact_match"] else f"not exactly right (token F1 {self.scores['f1']:.2f})"
        return f"Your answer {text.strip()!r} is {verdict}."

    def episode_metrics(self) -> dict[str, float]:
        judged = self.answer_judge.metrics() if self.answer_judge is not None else {}
        judged.pop("reward_unavailable", None)  # counted by RewardReporting (unavailable_metrics)
        return {**super().episode_metrics(), **self.scores, **judged, **self.unavailable_metrics()}
