"""Rewards of the web envs, as :class:`agentgym.rewards.Reward` s of outcome parts.

**Shop** (WebShop's formula, Yao et al. 2022): a purchase scores

    r = r_type * (|goal attributes matched| + |goal options matched| + [price <= ceiling])
                 / (|goal attributes| + |goal options| + 1)

where ``r_type`` is 1 for the goal's product type, 0.5 for another type of the
same department and 0.1 otherwise (WebShop keeps a small floor for a wrong
type). Reward parts (:data:`SHOP_REWARD`, scored on a :class:`ShopGrade`)
``attributes``, ``options`` and ``price`` are the three terms of the sum, each
multiplied by ``r_type`` and divided by the same denominator, so with their
default weights (1 each) they add up to ``r``; always reported, 0.0 included.

**Wiki**: SQuAD-style answer normalization (lower case, no punctuation, no
articles, collapsed spaces), then ``exact_match`` (0/1) and token ``f1``;
reward parts (:func:`wiki_reward`, scored on a :class:`WikiAnswer`) are both,
weighted (``0.5`` / ``0.5`` by default, always reported), so a perfect answer
scores 1. With an answer judge, a third part ``answer_judge``: the judge's
verdict on the answer against ``Task.answer``, unavailable (never 0 or 1) when
the judge could not give one.

**MiniWoB** (:data:`MINIWOB_REWARD`): one part, ``task``, the task page's own
raw reward (1 success, -1 failure, partial on the "soft" tasks).

Every web env adds ``invalid_action`` (the base class's penalty) and takes
``reward_weights=`` for its parts; ``env.reward`` is its Reward with those
weights.

>>> parts, m = shop_reward({"ptype": "sandals", "category": "shoes", "attributes": ["leather", "non slip"],
...     "options": {"color": "black"}, "price_max": 50.0},
...     {"ptype": "sandals", "category": "shoes", "attributes": ["leather"], "options": {"color": "black"},
...      "price": 40.0})
>>> round(sum(parts.values()), 4), m["r_type"]
(0.75, 1.0)
>>> round(token_f1("the Blue river", "Blue River delta"), 3), exact_match("The  blue river!", "blue river")
(0.8, 1.0)
>>> wiki_reward().score(WikiAnswer("Blue River", "the blue river")).parts
{'exact_match': 0.5, 'f1': 0.5}
>>> SHOP_REWARD.names, wiki_reward(judge_weight=1.0).names, MINIWOB_REWARD.names
(['attributes', 'options', 'price'], ['exact_match', 'f1', 'answer_judge'], ['task'])
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentgym.errors import ConfigError
from agentgym.rewards import Part, Reward, Unavailable

__all__ = ["ShopGrade", "SHOP_REWARD", "grade_purchase", "shop_reward", "normalize_answer", "exact_match",
           "token_f1", "WikiAnswer", "wiki_reward", "wiki_parts", "WIKI_WEIGHTS", "MINIWOB_REWARD", "weighted"]

WIKI_WEIGHTS = {"exact_match": 0.5, "f1": 0.5}


def _norm(s: str) -> str:
    return " ".join(str(s).lower().split())


@dataclass(frozen=True)
class ShopGrade:
    """A purchase graded against the goal: what the shop's parts are scored on."""

    r_type: float  # 1 the goal's product type, 0.5 its department, 0.1 otherwise
    attributes: int  # goal attributes the product has
    options: int  # goal options chosen
    price_ok: float  # 1.0 when the price is within the ceiling
    n_attributes: int
    n_options: int

    @property
    def denom(self) -> int:
        return self.n_attributes + self.n_options + 1

    @property
    def score(self) -> float:
        """WebShop's ``r`` (the parts' sum with their default weights)."""
        return sum(SHOP_REWARD.score(self).parts.values())

    def metrics(self) -> dict[str, float]:
        """``r_type``, ``r_att``, ``r_option``, ``r_price`` (WebShop's names)."""
        return {
            "r_type": self.r_type,
            "r_att": self.attributes / self.n_attributes if self.n_attributes else 1.0,
            "r_option": self.options / self.n_options if self.n_options else 1.0,
            "r_price": self.price_ok,
        }


#: WebShop-v0's reward with the default weights (see the module docstring).
SHOP_REWARD = Reward([
    Part("attributes", lambda g: g.r_type * g.attributes / g.denom, keep_zero_weight=True,
         doc="r_type x goal attributes the product has / (attributes + options + 1)"),
    Part("options", lambda g: g.r_type * g.options / g.denom, keep_zero_weight=True,
         doc="r_type x goal options chosen / (attributes + options + 1)"),
    Part("price", lambda g: g.r_type * g.price_ok / g.denom, keep_zero_weight=True,
         doc="r_type x [price <= ceiling] / (attributes + options + 1)"),
])


def grade_purchase(goal: Mapping[str, Any], order: Mapping[str, Any]) -> ShopGrade:
    """Grade buying ``order`` (product type, department, attributes, chosen
    options, price) for ``goal`` (see the module docstring)."""
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
    return ShopGrade(r_type, attrs, opts, price_ok, len(goal["attributes"]), len(goal["options"]))


def shop_reward(goal: Mapping[str, Any], order: Mapping[str, Any],
                reward: Reward = SHOP_REWARD) -> tuple[dict[str, float], dict[str, float]]:
    """(reward parts, metrics) of buying ``order`` for ``goal`` (see the module docstring)."""
    grade = grade_purchase(goal, order)
    return reward.score(grade).parts, grade.metrics()


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


@dataclass(frozen=True)
class WikiAnswer:
    """What the wiki's parts are scored on: the agent's answer, ``Task.answer``,
    and the answer judge's value (a number, or :class:`~agentgym.rewards.Unavailable`)."""

    answer: str
    reference: str
    judged: float | Unavailable = Unavailable("no answer judge")


def wiki_reward(weights: Mapping[str, float] = WIKI_WEIGHTS, judge_weight: float | None = None) -> Reward:
    """WebQA-v0's reward: ``exact_match`` and ``f1`` weighted by ``weights``, and
    with ``judge_weight`` (not None) the ``answer_judge`` part (weight 0: the judge
    only monitors, the part is not reported)."""
    parts = [
        Part("exact_match", lambda a: exact_match(a.answer, a.reference), weight=weights["exact_match"],
             keep_zero_weight=True, doc="the normalized answer equals the normalized Task.answer"),
        Part("f1", lambda a: token_f1(a.answer, a.reference), weight=weights["f1"], keep_zero_weight=True,
             doc="token F1 of the normalized answer against the normalized Task.answer"),
    ]
    if judge_weight is not None:
        parts.append(Part("answer_judge", lambda a: a.judged, weight=judge_weight,
                          doc="LLM judge: the answer against Task.answer (unavailable when it cannot say)"))
    return Reward(parts)


def check_wiki_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """:data:`WIKI_WEIGHTS` updated with ``weights``; unknown names raise with the valid ones."""
    out = dict(WIKI_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in out:
            hint = {"answer_judge": " (its weight is answer_judge_weight=)",
                    "invalid_action": " (the invalid-action penalty is invalid_action_penalty=)"}.get(k, "")
            raise ConfigError(f"unknown WebQA-v0 reward part {k!r}{hint}; choose from {sorted(out)}.")
        out[k] = float(v)
    return out


def wiki_parts(pred: str, gold: str, weights: Mapping[str, float] = WIKI_WEIGHTS) -> dict[str, float]:
    """Reward parts of answering ``pred`` when the answer is ``gold``."""
    return wiki_reward(weights).score(WikiAnswer(pred, gold)).parts


#: MiniWoB-v0's reward: scored on the page's raw reward (a float).
MINIWOB_REWARD = Reward([Part("task", float, keep_zero_weight=True, doc="the task page's own raw reward")])


def weighted(reward: Reward, weights: Mapping[str, float] | None, env: str) -> Reward:
    """``reward`` with ``weights``; an unknown part name raises :class:`ConfigError`
    naming ``env``'s parts (``invalid_action``'s is ``invalid_action_penalty=``)."""
    unknown = sorted(set(weights or {}) - set(reward.names))
    if unknown:
        hint = " (the invalid-action penalty is invalid_action_penalty=)" if "invalid_action" in unknown else ""
        raise ConfigError(f"unknown {env} reward part(s) {unknown}{hint}; choose from {reward.names}.")
    return reward.with_weights(weights)
