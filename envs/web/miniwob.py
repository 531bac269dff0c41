"""MiniWoB++ in browser mode (``agentgym/MiniWoB-v0``, the task as ``task=``).

The task pages are the ones the ``miniwob`` package on PyPI ships (MIT; install
it with ``pip install --no-deps miniwob``, ``scripts/setup.sh`` does), served
as static files by a loopback server and driven by the same Playwright layer
as the shop and the wiki. An episode loads the page, seeds its random number
generator with the task's page seed (``Math.seedrandom``), lifts the page's
own time limit (LLM turns are slow) and starts the episode
(``core.startEpisodeReal()``); after every action it reads the page's own
reward variables (``WOB_DONE_GLOBAL``, ``WOB_RAW_REWARD_GLOBAL``): the grading
is MiniWoB++'s JavaScript, not ours.

Observation: the task's instruction (``core.getUtterance()``) and the aria
snapshot of the task area (``#area``, see :mod:`~agentgym.envs.web.aria`); form
controls and every element of the task area with its own text are numbered
(``- button "Submit" [7]``; a clickable text without a node of its own is marked
in its parent's text: ``- text: [1] Ut in id risus [2] ultricies``). Tools: ``click``, ``type``,
``select_option``, ``scroll``. Reward part ``task``: the page's raw reward
(1 for success, -1 for failure, partial on the "soft" tasks; weight 1,
``reward_weights=``; :data:`~agentgym.envs.web.reward.MINIWOB_REWARD`, ``env.reward``);
success = a positive page reward; ``invalid_action``. Truncation: ``max_turns`` (10).
Scripted solvers exist for the tasks in :data:`SOLVERS` (``oracle``).

Needs Chromium, Playwright and the ``miniwob`` package: where one is missing,
``make("MiniWoB-v0")`` raises :class:`~agentgym.errors.DependencyUnavailableError`
saying how to install it (the env stays registered; the registry-wide contract
test skips it with that message).

Change log: v0 — first version.
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from agentgym import Task
from agentgym.envs.web.client import PageLoadError
from agentgym.envs.web.env import WebEnv
from agentgym.envs.web.page import Element
from agentgym.envs.web.reward import MINIWOB_REWARD
from agentgym.errors import ConfigError, DependencyUnavailableError, did_you_mean
from agentgym.tasks import TaskGenerator
from agentgym.tools import ToolCall

__all__ = ["MiniWoBEnv", "TASKS", "SOLVERS", "miniwob_html_dir"]

TASKS: tuple[str, ...] = (
    "choose-list", "click-button", "click-button-sequence", "click-checkboxes", "click-checkboxes-large",
    "click-checkboxes-soft", "click-checkboxes-transfer", "click-collapsible", "click-collapsible-2",
    "click-link", "click-option", "click-tab", "click-tab-2", "click-tab-2-easy",
    "click-test", "click-test-2", "click-widget", "enter-password", "enter-text", "enter-text-2", "focus-text",
    "focus-text-2", "login-user", "multi-layouts", "multi-orderings", "navigate-tree", "search-engine",
    "use-autocomplete",
)
"""The MiniWoB++ tasks registered here: solvable with click, type and select_option, each
checked to load with an instruction and numbered elements (click-dialog and
click-dialog-2 are left out: their dialog's controls are not numbered yet)."""
RELOAD_EVERY = 50
"""Episodes a loaded task page runs before it is loaded afresh."""


def miniwob_html_dir() -> Path:
    """The ``html`` folder of the installed ``miniwob`` package."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyUnavailableError("MiniWoB-v0 needs the miniwob package's task pages: pip install "
                                         "--no-deps miniwob (scripts/setup.sh does it).")
    html = Path(next(iter(spec.submodule_search_locations))) / "html"
    if not (html / "miniwob").is_dir():
        raise DependencyUnavailableError(f"the miniwob package at {html.parent} has no html/miniwob folder; "
                                         "reinstall it: pip install --no-deps --force-reinstall miniwob.")
    return html


class MiniWoBTasks(TaskGenerator):
    """A task is (MiniWoB task, page seed); the page makes the problem from the seed."""

    family = "miniwob"

    def __init__(self, seed: int = 0, task: str = "click-button") -> None:
        super().__init__(seed)
        self.page_task = task

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        page_seed = int(rng.integers(2**31))
        return Task(task_id, f"MiniWoB++ task {self.page_task} (page seed {page_seed}).",
                    "(graded by the task page's own reward)", {"task": self.page_task, "page_seed": page_seed})

    def content_key(self, task: Task) -> str:
        return f"{task.meta['task']}/{task.meta['page_seed']}"


class MiniWoBEnv(WebEnv):
    """One MiniWoB++ task in Chromium (see the module docstring).

    Args:
        task: The MiniWoB++ task name (one of :data:`TASKS`).
        **kwargs: :class:`~agentgym.envs.web.env.WebEnv` arguments; ``mode`` must be ``"browser"``.
    """

    family = "miniwob"
    site = "miniwob"
    instructions = (
        "You operate a small web page to do the task it states. Each observation shows the task and the "
        "page, with its buttons, links, inputs and clickable texts numbered like [12]. Use click(element), "
        "type(element, text), select_option(element, value) and scroll(direction). The episode ends when "
        "the page says the task is done."
    )
    default_max_turns = 10
    base_reward = MINIWOB_REWARD
    scripted_policies = {"oracle": "agentgym.envs.web.miniwob:solve"}
    search = None  # type: ignore[assignment]  # no site search on a task page
    back = None  # type: ignore[assignment]

    def __init__(self, *, task: str = "click-button", mode: str = "browser", timeout_s: float = 30.0,
                 **kwargs: Any) -> None:
        if task not in TASKS:
            raise ConfigError(f"unknown MiniWoB task {task!r}.{did_you_mean(task, TASKS)} Registered: {', '.join(TASKS)}.")
        if mode != "browser":
            raise ConfigError("MiniWoB-v0 runs in mode='browser' only: its task pages are scripts.")
        miniwob_html_dir()  # DependencyUnavailableError (with the fix) without the task pages
        self.page_task = task
        self.episodes_on_page = 0
        super().__init__(mode="browser", timeout_s=timeout_s, **kwargs)  # ... or without a browser

    def make_generator(self, seed: int) -> MiniWoBTasks:
        return MiniWoBTasks(seed, self.page_task)

    def site_db(self) -> Path:
        return miniwob_html_dir()

    def client_options(self) -> dict[str, Any]:
        # The observation's tree is the task area's: the instruction is shown once, above it.
        return {"navigation": False, "extra_root": "#area", "root": "#wrap", "aria_root": "#area"}

    def on_reset(self, task: Task) -> str:
        self._ensure_resources()
        self.sid = ""
        self.top = 0
        self.pages_loaded = self.load_errors = 0
        self.page_reward = 0.0
        self.utterance = ""
        note = self._navigate(lambda: self._start(task))
        if note:  # the page did not load: every action is refused until the next reset
            self.client.page = None
            return f"Task: (the task page did not load)\n\n{note}"
        return f"Task: {self.utterance}\n\n{self.observe()}"

    def _start(self, task: Task) -> None:
        from playwright.sync_api import Error as PlaywrightError

        client: Any = self.client
        url = f"{self.base_url}/miniwob/{task.meta['task']}.html"
        # Like MiniWoB++'s own driver: the loaded page runs episode after episode (a stopped
        # episode, a new seed, startEpisodeReal), reloaded every RELOAD_EVERY episodes.
        if client.page is None or client.pg.url != url or self.episodes_on_page >= RELOAD_EVERY:
            client.new_episode()
            client.open(url)
            self.episodes_on_page = 0
        self.episodes_on_page += 1
        try:
            client.pg.evaluate("(s) => { if (!WOB_DONE_GLOBAL) core.endEpisode(0); Math.seedrandom(s); "
                               "core.EPISODE_MAX_TIME = 3600 * 1000; core.startEpisodeReal(); }",
                               str(task.meta["page_seed"]))
            deadline = time.monotonic() + self.timeout_s
            while not client.pg.evaluate("() => WOB_TASK_READY") and time.monotonic() < deadline:
                time.sleep(0.02)
            client._snapshot()
            self.utterance = client.pg.evaluate("() => core.getUtterance()")
        except PlaywrightError as e:
            raise PageLoadError(f"the task page failed ({str(e).splitlines()[0][:160]})") from e

    def after_action(self, loaded: bool) -> str | None:
        if not self.utterance:
            return None
        return self._read_reward()

    def _read_reward(self) -> str | None:
        client: Any = self.client
        done, raw, reason = client.pg.evaluate("() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL, WOB_REWARD_REASON]")
        if not done:
            return None
        return self.end_with(float(raw), reason)

    def end_with(self, page_reward: float, reason: str | None = None) -> str:
        """End the episode with the page's raw reward (reward part ``task``); the note shown."""
        self.page_reward = page_reward
        self.reward.apply(self, page_reward)
        self.finish(success=page_reward > 0)
        why = f" ({reason})" if reason else ""
        return f"The page ended the episode with reward {page_reward:g}{why}."

    def episode_metrics(self) -> dict[str, float]:
        return {**super().episode_metrics(), "page_reward": self.page_reward}


# ----------------------------------------------------------------------
# Scripted solvers: they read the instruction and the numbered page, as an agent would.
# ----------------------------------------------------------------------
def _els(env: MiniWoBEnv, kind: str | None = None) -> list[Element]:
    page = env.client.page
    return [e for e in page.elements.values() if e.visible and e.id > 0 and (kind is None or e.kind == kind)] if page else []


def _click(el: Element) -> str:
    return ToolCall("click", {"element": el.id}).render()


def _button(env: MiniWoBEnv, label: str | None = None) -> Element:
    buttons = _els(env, "button")
    return next(b for b in buttons if label is None or b.label.lower() == label.lower())


def _quoted(text: str) -> list[str]:
    return re.findall(r'"([^"]*)"', text)


def _fill_then(env: MiniWoBEnv, values: list[str], button: str | None) -> str:
    boxes = _els(env, "textbox")
    for box, value in zip(boxes, values, strict=False):
        if box.value != value:
            return ToolCall("type", {"element": box.id, "text": value}).render()
    return _click(_button(env, button))


def _check_then(env: MiniWoBEnv, wanted: set[str]) -> str:
    for box in _els(env, "checkbox") + _els(env, "radio"):
        if (box.label in wanted) != box.checked:
            return _click(box)
    return _click(_button(env, "Submit"))


def _select_from(utterance: str) -> set[str]:
    m = re.match(r"Select (.*) and click Submit\.", utterance)
    names = m.group(1) if m else ""
    return set() if names == "nothing" else {n.strip() for n in names.split(",") if n.strip()}


SOLVERS: dict[str, Any] = {
    "click-test": lambda env, u: _click(_button(env)),
    "click-button": lambda env, u: _click(_button(env, _quoted(u)[0])),
    "click-link": lambda env, u: _click(next(e for e in _els(env, "clickable") if e.label == _quoted(u)[0])),
    "enter-text": lambda env, u: _fill_then(env, _quoted(u)[:1], "Submit"),
    "login-user": lambda env, u: _fill_then(env, _quoted(u)[:2], "Login"),
    "enter-password": lambda env, u: _fill_then(env, [_quoted(u)[0]] * 2, "Submit"),
    "focus-text": lambda env, u: _click(_els(env, "textbox")[0]),
    "click-checkboxes": lambda env, u: _check_then(env, _select_from(u)),
    "click-option": lambda env, u: _check_then(env, _select_from(u)),
    "choose-list": lambda env, u: _choose(env, u),
    "click-tab": lambda env, u: _click(next(e for e in _els(env, "link") if e.label == u.removeprefix("Click on ").rstrip("."))),
}
"""Task -> solver(env, utterance) -> the next action."""


def _choose(env: MiniWoBEnv, utterance: str) -> str:
    want = re.match(r"Select (.*) from the list and click Submit\.", utterance)
    sel = _els(env, "select")[0]
    target = want.group(1) if want else ""
    if sel.value != target:
        return ToolCall("select_option", {"element": sel.id, "value": target}).render()
    return _click(_button(env, "Submit"))


def solve(env: MiniWoBEnv) -> str:
    """The ``oracle`` scripted policy: the task's solver."""
    solver = SOLVERS.get(env.page_task)
    if solver is None:
        raise ConfigError(f"no scripted solver for MiniWoB task {env.page_task!r}; solvers: {', '.join(SOLVERS)}.")
    if not env.utterance or env.client.page is None:  # the page did not load: nothing to solve
        return ToolCall("scroll", {"direction": "down"}).render()
    return solver(env, env.utterance)
