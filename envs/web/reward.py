"""Rewards of the web envs.

**Shop** (WebShop's formula, Yao et al. 2022): a purchase scores

    r = r_type * (|goal attributes matched| + |goal options matched| + [price <= ceiling])
                 / (|goal attributes| + |goal options| + 1)

where ``r_type`` is 1 for the goal's product type, 0.5 for another type of the
same department and 0.1 otherwise (WebShop keeps a small floor for a wrong
type). Reward parts ``attributes``, ``options`` and ``price`` are the three
terms of the sum, each multiplied by ``r_type`` and divided by the same
denominator, so they add up to ``r``.

**Wiki**: SQuAD-style answer normalization (lower case, no punctuation, no
articles, collapsed spaces), then ``exact_match`` (0/1) and token ``f1``;
reward parts are both, weighted (``0.5`` / ``0.5`` by default), so a perfect
answer scores 1.

>>> parts, m = shop_reward({"ptype": "sandals", "category": "shoes", "attributes": ["leather", "non slip"],
...     "options": {"color": "black"}, "price_max": 50.0},
...     {"ptype": "sandals", "category": "shoes", "attributes": ["leather"], "options": {"color": "black"},
...      "price": 40.0})
>>> round(sum(parts.values()), 4), m["r_type"]
(0.75, 1.0)
>>> round(token_f1("the Blue river", "Blue River delta"), 3), exact_match("The  blue river!", "blue river")
(0.8, 1.0)
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping
from typing import Any

from agentgym.errors import ConfigError

__all__ = ["shop_reward", "normalize_answer", "exact_match", "token_f1", "wiki_parts", "WIKI_WEIGHTS"]

WIKI_WEIGHTS = {"exact_match": 0.5, "f1": 0.5}


def _norm(s: str) -> str:
    return " ".join(str(s).lower().split())


def shop_reward(goal: Mapping[str, Any], order: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(reward parts, metrics) of buying ``order`` for ``goal`` (see the module docstring)."""
    if _norm(order["ptype"]) == _norm(goal["ptype"]):
        r_type = 1.0
    elif _norm(order["category"]) == _norm(goal["category"]):
        r_type = 0.5
    else:
        r_type = 0.1
    have = {_norm(a) for a in order["attributes"]}
    attrs = sum(_norm(a) in have for a in goal["attributes"])
    chosen = {_norm(k): _norm(v) for k, v in order["options"].items()}
    opts = sum(chosen.get(_norm(k)) == _norm(v) for k, v in goal["options"].items())
    price_ok = float(order["price"] <= goal["price_max"])
    denom = len(goal["attributes"]) + len(goal["options"]) + 1
    parts = {"attributes": r_type * attrs / denom, "options": r_type * opts / denom, "price": r_type * price_ok / denom}
    metrics = {
        "r_type": r_type,
        "r_att": attrs / len(goal["attributes"]) if goal["attributes"] else 1.0,
        "r_option": opts / len(goal["options"]) if goal["options"] else 1.0,
        "r_price": price_ok,
    }
    return parts, metrics


_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """Lower case, punctuation and articles removed, spaces collapsed."""
    return " ".join(_ARTICLES.sub(" ", _PUNCT.sub(" ", str(s).lower())).split())


def exact_match(pred: str, gold: str) -> float:
    return float(normalize_answer(pred) == normalize_answer(gold))


def token_f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def check_wiki_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(WIKI_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in out:
            raise ConfigError(f"unknown wiki reward part {k!r}; choose from {sorted(out)}.")
        out[k] = float(v)
    return out


def wiki_parts(pred: str, gold: str, weights: Mapping[str, float] = WIKI_WEIGHTS) -> dict[str, float]:
    """Reward parts of answering ``pred`` when the answer is ``gold``."""
    return {"exact_match": weights["exact_match"] * exact_match(pred, gold),
            "f1": weights["f1"] * token_f1(pred, gold)}
