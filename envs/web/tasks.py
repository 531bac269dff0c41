"""Task generators of the web envs: shop purchases and wiki multi-hop questions.

**Shop** (WebShop-style instructions): a gold product is drawn from the
catalogue; the goal names its product type, 2–3 of its attributes — always one
that tells it apart from each near-duplicate of its family, unless the price
ceiling already does — one in-stock choice of every option axis, and a price
ceiling above the gold price (below the family's overpriced twin). Every
product that matches the goal scores 1, not only the gold one.

**Wiki**: a question template is instantiated on the generated world (see
:mod:`~agentgym.envs.web.wiki_data`); the answer needs two or three articles.

Both sites are fixed per ``site_seed`` (one catalogue, one encyclopedia) and
tasks go to splits by the hash of their content (gold product and goal, or
question), so the splits are disjoint.

>>> t = ShopTasks(0).task("val", 0)
>>> t.meta["goal"]["price_max"] > 0 and t.answer.startswith("buy ")
True
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from agentgym.envs.web.shop_data import Product, build_catalogue
from agentgym.envs.web.wiki_data import QUESTION_KINDS, build_world, make_question
from agentgym.tasks import Task, TaskGenerator

__all__ = ["ShopTasks", "WikiTasks"]

_SHOP_TEMPLATES = (
    "i am looking for {ptype} ({attrs}) with {opts}, and price lower than {price} dollars",
    "i need {attrs} {ptype} with {opts}, and price lower than {price} dollars",
    "find me {ptype} with {attrs}; i want {opts}. my budget is lower than {price} dollars",
)


@lru_cache(maxsize=4)
def _catalogue(seed: int) -> tuple[list[Product], dict[int, list[Product]]]:
    products = build_catalogue(seed)
    families: dict[int, list[Product]] = {}
    for p in products:
        families.setdefault(p.family, []).append(p)
    return products, families


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class ShopTasks(TaskGenerator):
    """Purchases in the shop of catalogue ``site_seed`` (see the module docstring)."""

    family = "web_shop"

    def __init__(self, seed: int = 0, site_seed: int = 0) -> None:
        super().__init__(seed)
        self.site_seed = site_seed

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        products, families = _catalogue(self.site_seed)
        gold = products[int(rng.integers(len(products)))]
        siblings = [p for p in families[gold.family] if p.pid != gold.pid]
        ceiling = float(np.ceil(gold.price * rng.uniform(1.05, 1.35)))
        required: list[str] = []
        for s in siblings:
            diff = [a for a in gold.attributes if a not in s.attributes]
            if s.price <= ceiling and diff and not set(diff) & set(required):
                required.append(diff[int(rng.integers(len(diff)))])
        others = [a for a in gold.attributes if a not in required]
        want = max(len(required), int(rng.integers(2, 4)))
        extra = [others[i] for i in rng.permutation(len(others))[: max(0, want - len(required))]]
        attrs = [a for a in gold.attributes if a in required or a in extra]
        combos = [c for c in _combos(gold) if gold.in_stock(dict(zip(gold.options, c, strict=True)))]
        choice = dict(zip(gold.options, combos[int(rng.integers(len(combos)))], strict=True))
        goal = {"ptype": gold.ptype, "category": gold.category, "attributes": attrs, "options": choice,
                "price_max": ceiling}
        opts = _join([f"{k}: {v}" for k, v in choice.items()])
        template = _SHOP_TEMPLATES[int(rng.integers(len(_SHOP_TEMPLATES)))]
        prompt = template.format(ptype=gold.ptype, attrs=_join(attrs), opts=opts, price=f"{ceiling:.2f}")
        answer = f"buy {gold.pid} ({gold.title}) with {opts}"
        return Task(task_id, prompt, answer, {"goal": goal, "gold": {"pid": gold.pid, "options": choice},
                                              "site_seed": self.site_seed})

    def content_key(self, task: Task) -> str:
        return json.dumps([task.meta["gold"], task.meta["goal"]], sort_keys=True)


def _combos(p: Product) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for vals in p.options.values():
        combos = [c + (v,) for c in combos for v in vals]
    return combos


class WikiTasks(TaskGenerator):
    """Multi-hop questions about the encyclopedia of ``site_seed``.

    Difficulties: ``easy`` (two articles) and ``hard`` (three)."""

    family = "web_wiki"
    difficulties = ("easy", "hard")

    def __init__(self, seed: int = 0, site_seed: int = 0) -> None:
        super().__init__(seed)
        self.site_seed = site_seed

    def generate(self, rng: np.random.Generator, difficulty: str, task_id: str) -> Task:
        world = build_world(self.site_seed)
        kinds = [k for k, hops in QUESTION_KINDS.items() if (hops == 2) == (difficulty == "easy")]
        while True:
            q = make_question(world, kinds[int(rng.integers(len(kinds)))], rng)
            if q is not None:
                break
        return Task(task_id, q["question"], q["answer"], {"path": q["path"], "titles": q["titles"], "kind": q["kind"],
                                                           "site_seed": self.site_seed})

    def content_key(self, task: Task) -> str:
        return task.prompt
