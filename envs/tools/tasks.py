"""Tasks of ToolCalls-v0: a domain, a world, a category, a conversation and its gold plan.

Eight categories (``meta["category"]``; the env's ``category=`` keeps one):

* ``single`` — one call does it;
* ``distractor`` — the tools of a second domain are shown too, and the right
  tool has near-synonyms (``convert_amount`` / ``get_exchange_rate``,
  ``decline_event`` / ``cancel_event``, ``archive_message`` / ``delete_message``);
* ``parallel`` — several independent calls, to be made in one action;
* ``chained`` — an argument comes from an earlier result (a card id from its
  last four digits, an e-mail from a contact's name);
* ``irrelevance`` — no tool applies: answer (or decline) without calling one;
* ``missing_info`` — the request lacks something only the user knows: ask;
* ``multi_turn`` — the user follows up after the first reply;
* ``policy`` — the request tempts a call the domain's policy forbids.

Task ``i`` of the mixed stream is task ``i // 8`` of category ``i % 8``, with
the same id (``tools/val/parallel/3``) either way. A candidate belongs to the
split its content key (category, template, world seed, scenario seed) hashes
to. Every gold plan is replayed when the task is made: each call must run,
break no policy, and the final state (:func:`~.reward.project`) is stored in
``meta["gold_state"]``.

>>> gen = ToolCallsTasks(seed=0)
>>> gen.task("val", 3).id, gen.task("val", 3).meta["category"]
('tools/val/chained/0', 'chained')
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

import numpy as np

from agentgym import Task, TaskGenerator
from agentgym.envs.tools.backends import ALL_APIS, BACKENDS, Backend
from agentgym.envs.tools.reward import accepts, check_message, project, state_digest
from agentgym.envs.tools.scenarios import BUILDERS, CATEGORIES, Skip
from agentgym.envs.tools.user import ScriptedUser, UserView
from agentgym.errors import ConfigError
from agentgym.tasks import Split, derive_seed, split_of
from agentgym.tools import ToolCall

__all__ = ["CATEGORIES", "DOMAINS", "STRICT", "ToolCallsTasks", "replay"]

DOMAINS = tuple(BACKENDS)
STRICT = frozenset({"single", "distractor", "parallel", "irrelevance"})
CONVERSATION_TOOLS = ("ask_user", "respond")
_CACHE_SIZE = 4096


class ToolCallsTasks(TaskGenerator):
    """Deterministic in (seed, split, index, category); see the module docstring.

    Args:
        seed: Generator seed.
        category: Keep only this category (None: all eight, interleaved).
    """

    family = "tools"
    difficulties = ("default",)

    def __init__(self, seed: int = 0, category: str | None = None) -> None:
        super().__init__(seed)
        if category is not None and category not in CATEGORIES:
            raise ConfigError(f"unknown ToolCalls category {category!r}; choose one of {list(CATEGORIES)} or None.")
        self.category = category
        self._cache: OrderedDict[tuple[str, str, int], Task] = OrderedDict()

    def task(self, split: Split, index: int, difficulty: str | None = None) -> Task:
        if split not in ("train", "val", "test"):
            raise ConfigError(f"unknown split {split!r}; choose one of ['train', 'val', 'test'].")
        self.check_difficulty(difficulty or self.difficulties[0])
        index = int(index)
        if self.category is None:
            category, j = CATEGORIES[index % len(CATEGORIES)], index // len(CATEGORIES)
        else:
            category, j = self.category, index
        key = (split, category, j)
        task = self._cache.get(key)
        if task is None:
            task = self._make(split, category, j)
            self._cache[key] = task
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return task

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        """One candidate (any split) from ``rng``: the base-class hook, for completeness."""
        r = random.Random(int(rng.integers(2**62)))
        category = self.category or r.choice(CATEGORIES)
        for _ in range(self.max_attempts):
            task = self._candidate(r, category, task_id)
            if task is not None:
                return task
        raise ConfigError(f"tools: no {category} task could be built")

    def content_key(self, task: Task) -> str:
        return str(task.meta["key"])

    # ------------------------------------------------------------------
    def _make(self, split: Split, category: str, j: int) -> Task:
        task_id = f"{self.family}/{split}/{category}/{j}"
        for attempt in range(self.max_attempts):
            r = random.Random(derive_seed(self.family, self.seed, split, category, j, attempt))
            task = self._candidate(r, category, task_id, split)
            if task is not None:
                return task
        raise ConfigError(f"tools: no {split} {category} task found in {self.max_attempts} attempts.")

    def _candidate(self, r: random.Random, category: str, task_id: str, split: str | None = None) -> Task | None:
        domain = r.choice(DOMAINS)
        builder = r.choice(BUILDERS[domain][category])
        world_seed, scenario_seed = r.randrange(2**31), r.randrange(2**31)
        key = f"{category}|{domain}.{builder.__name__}|{world_seed}|{scenario_seed}"
        if split is not None and split_of(key) != split:  # cheap: checked before building anything
            return None
        world = BACKENDS[domain].build_world(world_seed)
        try:
            scenario = builder(world, random.Random(scenario_seed))
        except Skip:
            return None
        extras = [r.choice([d for d in DOMAINS if d != domain])] if category == "distractor" else []
        domains = [domain, *extras]
        meta: dict[str, Any] = {
            "category": category,
            "domain": domain,
            "domains": domains,
            "world_seed": world_seed,
            "template": scenario["template"],
            "turns": scenario["turns"],
            "strict": category in STRICT,
            "parallel": category == "parallel",
            "key": key,
        }
        meta["tools"] = [n for d in domains for n in BACKENDS[d].apis] + list(CONVERSATION_TOOLS)
        meta["gold_state"], meta["gold_digest"] = replay(meta)
        return Task(id=task_id, prompt=scenario["turns"][0]["request"], answer=_answer(meta["turns"]), meta=meta)


def _answer(turns: list[dict[str, Any]]) -> str:
    """The gold final call: the reply when it must carry facts, else the last state-changing call."""
    last = turns[-1]
    if not last["required"]:
        for step in reversed(last["steps"]):
            mutating = [c for c in step.get("calls", ()) if ALL_APIS[c["name"]].mutates]
            if mutating:
                c = mutating[-1]
                return ToolCall(c["name"], c["arguments"]).render()
    return ToolCall("respond", {"message": last["steps"][-1]["respond"]}).render()


def replay(meta: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Run a task's gold plan on fresh back-ends; return each domain's projected
    final state and the :func:`~.reward.state_digest` of the result. Raises AssertionError when the plan does not hold together (a
    call fails or breaks the policy, a question does not get the facts, a reply
    lacks a required fact): a generator bug, never an agent's."""
    backends: dict[str, Backend] = {d: BACKENDS[d](BACKENDS[d].build_world(meta["world_seed"]))
                                    for d in meta["domains"]}
    user = ScriptedUser()
    for t, turn in enumerate(meta["turns"]):
        revealed: frozenset[str] = frozenset()
        for step in turn["steps"]:
            if "ask" in step:
                reply = user.reply(step["ask"], UserView(meta["turns"], t, revealed, []))
                revealed |= reply.revealed
            elif "respond" in step:
                assert revealed >= set(turn["facts"]), f"{meta['template']}: the gold question misses facts"
                ok, missing = check_message(step["respond"], turn["required"])
                assert ok, f"{meta['template']}: the gold reply lacks {missing}"
            else:
                for c in step["calls"]:
                    api = ALL_APIS[c["name"]]
                    args = api.validate(c["arguments"])
                    assert accepts(c, c["name"], args, api), f"{meta['template']}: gold call {c} rejects itself"
                    backend = backends[api.domain]
                    bad = backend.violation(api, args)
                    assert bad is None, f"{meta['template']}: gold call {c['name']} breaks the policy ({bad})"
                    backend.call(api, args)
    return {d: project(b) for d, b in backends.items()}, state_digest(backends)
