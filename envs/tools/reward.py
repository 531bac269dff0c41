"""Grading of ToolCalls-v0: final state, AST-style call checks, the reply's facts,
forbidden actions, and an optional ToolRL-style partial reward.

At the end of an episode (the reply to the user's last request) four checks run:

* **state** — the back-ends' net changes equal those the gold plan makes
  (records compared with strings case- and space-normalized, free-text fields
  such as a message body left to the calls check, the ``session`` table —
  verification flags, id counters — ignored);
* **calls** — per user turn, the agent's executed calls against the gold calls,
  as an abstract syntax tree: the function, every argument (types and formats
  were enforced when the call ran; values normalized), required arguments
  present, optional ones either absent or at their default, or allowed by the
  gold call's ``checks``. Matching is a bipartite matching, so the order of
  calls inside a parallel group does not matter. In the *strict* categories
  (single, distractor, parallel, irrelevance) the agent's calls must be exactly
  the gold calls, reads included; elsewhere reads are free (there are many
  ways to look something up) and every state-changing call must be a gold one,
  in the gold order. A parallel group must be made in one action, and where the
  user had facts to give, the agent must have asked before acting;
* **message** — the reply of each turn contains that turn's required facts
  (numbers with thousands separators removed, any of the listed forms);
* **forbidden** — a call that broke the domain policy was executed.

Reward parts (:data:`REWARD`, a :class:`agentgym.rewards.VetoReward` of outcome parts scored on
a :class:`Graded`; ``env.reward`` is it with the env's weights): ``state``,
``calls``, ``message`` (raw 0/1; weights ``1/3`` each by default,
``reward_weights=`` to change them; always reported, 0.0 included) and, with
``partial_reward=w > 0``, ``toolrl``: weight ``w``, raw value the mean over the
agent's actions of ``0.1 format + 0.3 name + 0.3 parameter names + 0.3 values``
(ToolRL's decomposition; the weights of the three outcome parts are scaled by
``1 - w``), so well-formed calls alone earn at most ``0.1 w`` — format never
outweighs correctness. Then ``forbidden``, a part computed from the others
rather than weighted: when a policy-breaking call ran it is **minus the sum of
the parts above**, so the episode scores 0 however the rest went, while
``reward_parts`` still shows what the rest would have earned; otherwise it is
not reported. It has no weight of its own (``with_weights`` refuses one).
``TrainConfig.reward_weights`` reweights the *reported* numbers: ``{"forbidden":
0}`` trains without the veto; reweighting ``state``/``calls``/``message`` there
leaves ``forbidden`` at minus their env-weighted sum, so the veto is no longer
exact (give the env ``reward_weights=`` instead to keep it).

>>> normalize_text("Paid $1,234.50 on March 3rd")
'paid $1234.50 on march 3'
>>> has_form(normalize_text("It is $1,234.50."), "1234.50"), has_form("1234.55", "1234.5")
(True, False)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from agentgym.envs.tools.backends.base import Api, Backend
from agentgym.envs.tools.schema import validate_value
from agentgym.envs.tools.store import canonical
from agentgym.errors import ConfigError
from agentgym.rewards import Part, Unavailable, VetoReward

__all__ = [
    "DEFAULT_WEIGHTS",
    "REWARD",
    "Executed",
    "Graded",
    "ReplyJudge",
    "VetoReward",
    "build_reward",
    "GoldCalls",
    "gold_calls",
    "state_digest",
    "accepts",
    "check_calls",
    "check_message",
    "check_weights",
    "has_form",
    "normalize_text",
    "project",
    "toolrl_score",
]

DEFAULT_WEIGHTS: dict[str, float] = {"state": 1 / 3, "calls": 1 / 3, "message": 1 / 3}
IGNORED_TABLES = frozenset({"session"})


class Executed(NamedTuple):
    """A call that ran: name, normalized arguments, which user turn and which
    agent action (step) it belonged to."""

    name: str
    args: Mapping[str, Any]
    mutates: bool
    user_turn: int
    step: int


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults updated with ``weights``; they must be >= 0 and sum to 1."""
    out = dict(DEFAULT_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in out:
            raise ConfigError(f"unknown ToolCalls reward part {k!r}; choose from {sorted(out)}.")
        out[k] = float(v)
    if any(v < 0 for v in out.values()) or abs(sum(out.values()) - 1) > 1e-6:
        raise ConfigError(f"reward_weights must be >= 0 and sum to 1 (so the oracle scores 1.0), got {out}.")
    return out


# --------------------------------------------------------------------------
# The reward, as composable parts
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Graded:
    """What the outcome parts are scored on: the three checks, the mean ToolRL
    score of the agent's actions, and the policy-breaking calls that ran."""

    state_ok: bool
    calls_ok: bool
    message_ok: bool
    partial: float = 0.0
    forbidden: tuple[str, ...] = ()
    #: (user request, the agent's reply, the gold reply) of each user turn whose reply must carry facts
    replies: tuple[tuple[str, str, str], ...] = ()


def build_reward(weights: Mapping[str, float] = DEFAULT_WEIGHTS, partial_reward: float = 0.0,
                 reply_judge: ReplyJudge | None = None) -> VetoReward:
    """ToolCalls-v0's reward with check weights ``weights`` (see :func:`check_weights`)
    and ToolRL weight ``partial_reward`` (the check weights are scaled by ``1 - w``);
    with ``reply_judge``, its ``answer_judge`` part too (before the veto, so a
    policy-breaking episode still scores 0)."""
    scale = 1.0 - partial_reward
    reward = REWARD.with_weights({"state": scale * weights["state"], "calls": scale * weights["calls"],
                                  "message": scale * weights["message"], "toolrl": partial_reward})
    if reply_judge is None:
        return reward
    return VetoReward([*reward.parts, reply_judge.part()], veto=reward.veto, vetoed=reward.vetoed,
                      when=reward.veto_when)


class ReplyJudge:
    """The ``answer_judge`` part of ToolCalls-v0 (``answer_judge=``): an LLM judge
    reads each reply that must carry facts and compares it with the gold reply.

    The programmatic ``message`` check only finds the required facts in a reply
    ("processing", "30"); it cannot tell "ORD-1 is processing" from "ORD-1 is
    not processing anymore", a hedge, or a reply padded with false claims. The
    judge can. The part is **gated on** ``message`` (it runs only when every
    required fact is there: the "agreement with the reference" defence, done by
    the verifier, so a reply that fools the judge cannot pass without the
    facts), and its raw value is 1.0 when the judge accepts every such reply
    (batched in one judge call), 0.0 when it rejects one, 1.0 when no reply had
    to carry facts (nothing to judge, as ``message`` is then 1.0), and
    unavailable when the judge could not answer (the env reports it in
    ``reward_unavailable`` and the episode is masked out of training; with
    weight 0 it is just not judged). Episode metrics: ``judge_pass`` (the verdict, when something was
    judged) and ``judge_verifier`` (``message_match``, what the trainer and
    ``agentgym eval`` compare it with).

    Args:
        judge: An :class:`~agentgym.rewards.LLMJudge` or
            :class:`~agentgym.rewards.JudgeEnsemble` (used as given), a
            backend spec (``"hf:..."``, ``"openai:URL#MODEL"``,
            ``"package.module:Class"``) or a dict of ``LLMJudge`` arguments
            with ``policy`` (:func:`~agentgym.rewards.make_judge`), judged with
            :data:`agentgym.rewards.ANSWER_RUBRIC` behind the default defences
            except word agreement with the gold reply (one phrasing among many;
            the ``message`` gate checks the facts).
        weight: The part's weight (added on top of the checks, so the oracle
            scores ``1 + weight``); 0 judges and reports ``judge_pass`` without
            changing the reward (a monitor only).
    """

    name = "answer_judge"

    def __init__(self, judge: Any, *, weight: float = 1.0) -> None:
        from agentgym.rewards import ANSWER_RUBRIC, Defences, make_judge

        if weight < 0:
            raise ConfigError(f"answer_judge_weight must be >= 0, got {weight}.")
        self.judge = make_judge(judge, ANSWER_RUBRIC, kwarg="answer_judge",
                                defences=Defences(require_reference_agreement=False))
        self.weight = float(weight)
        self.reset()

    def reset(self) -> None:
        """Forget the last episode's verdicts (call it on reset)."""
        self.verdict: float | None = None

    def part(self) -> Part:
        return Part(self.name, self._score, weight=self.weight, gate="message", keep_zero_weight=True,
                    doc="LLM judge: each fact-bearing reply vs the gold reply (gated on message)")

    def _score(self, graded: Graded) -> float | Unavailable:
        if not graded.replies:
            return 1.0
        from agentgym.rewards import JudgeInput

        verdicts = self.judge.judge([JudgeInput(q, a, reference=r) for q, a, r in graded.replies])
        lost = [v.reason or "judge unavailable" for v in verdicts if v.value is None]
        if lost:
            return Unavailable("; ".join(sorted(set(lost)))) if self.weight else 0.0
        self.verdict = float(all(v.value > 0.5 for v in verdicts))
        return self.verdict

    def metrics(self, message_match: float) -> dict[str, float]:
        """``judge_pass`` and ``judge_verifier`` when something was judged, else ``{}``."""
        return {} if self.verdict is None else {"judge_pass": self.verdict, "judge_verifier": message_match}


#: ToolCalls-v0's reward with the default weights (no ``toolrl``): see the module docstring.
REWARD = VetoReward(
    [
        Part("state", lambda g: g.state_ok, weight=DEFAULT_WEIGHTS["state"], keep_zero_weight=True,
             doc="the back-ends' net changes equal the gold plan's"),
        Part("calls", lambda g: g.calls_ok, weight=DEFAULT_WEIGHTS["calls"], keep_zero_weight=True,
             doc="each user turn's calls match the gold calls (AST-style)"),
        Part("message", lambda g: g.message_ok, weight=DEFAULT_WEIGHTS["message"], keep_zero_weight=True,
             doc="each reply holds its turn's required facts"),
        Part("toolrl", lambda g: g.partial, weight=0.0,
             doc="ToolRL-style per-action score, averaged (partial_reward=)"),
    ],
    veto="forbidden", vetoed=lambda g: bool(g.forbidden),
)


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------
def norm(value: Any) -> Any:
    """Comparison form: strings case-folded with single spaces, numbers as floats
    (the validator already rounded them: money to cents, durations to minutes)."""
    kind = type(value)
    if kind is str:
        return " ".join(value.casefold().split())
    if kind is int:
        return float(value)
    if kind is dict:
        return {k: norm(v) for k, v in value.items() if v is not None}
    if kind is list or kind is tuple:
        return [norm(v) for v in value]
    return value


def _same(gold: Any, got: Any, schema: Mapping[str, Any]) -> bool:
    """``got`` equals ``gold``, both validated (so normalized: ``{"value": 1, "unit":
    "MiB"}`` is 1048576 bytes) and compared case- and space-insensitively."""
    if schema.get("type") == "array" and schema.get("uniqueItems"):
        return isinstance(got, list) and sorted(map(canonical, norm(gold))) == sorted(map(canonical, norm(got)))
    return norm(gold) == norm(got)


def _check(spec: Mapping[str, Any], got: Any, schema: Mapping[str, Any]) -> bool:
    if spec.get("any"):
        return True
    if "one_of" in spec:
        return any(_same(validate_value(v, schema, "gold"), got, schema) for v in spec["one_of"])
    if "contains" in spec:
        text = normalize_text(got if isinstance(got, str) else canonical(got))
        return all(normalize_text(w) in text for w in spec["contains"])
    raise ValueError(f"unknown check {spec}")


def accepts(gold: Mapping[str, Any], name: str, args: Mapping[str, Any], api: Api,
            gold_args: Mapping[str, Any] | None = None) -> bool:
    """Whether an executed call ``name(**args)`` (validated arguments) is the gold call
    (see the module docstring); ``gold_args``: the gold arguments validated, if at hand."""
    if name != gold["name"]:
        return False
    g_args = api.validate(gold["arguments"]) if gold_args is None else gold_args
    checks = gold.get("checks", {})
    if args == g_args:  # the common case: the gold call exactly (gold calls pass their own checks)
        return True
    for p, schema in api.params.items():
        default = api.default(p)
        if p in args:
            if p in checks:
                if not _check(checks[p], args[p], schema):
                    return False
            elif p in g_args:
                if not _same(g_args[p], args[p], schema):
                    return False
            elif default is None or not _same(default, args[p], schema):
                return False
        elif p in g_args and p not in checks and (default is None or not _same(default, g_args[p], schema)):
            return False
    return True


# --------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------
def _matching(gold: Sequence[Mapping[str, Any]], gold_args: Sequence[Mapping[str, Any]], calls: Sequence[Executed],
              apis: Mapping[str, Api]) -> dict[int, int]:
    """A maximum matching gold index -> call index (Kuhn's augmenting paths)."""
    edges = [[j for j, c in enumerate(calls) if accepts(g, c.name, c.args, apis[c.name], a)]
             for g, a in zip(gold, gold_args, strict=True)]
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(gold)):
        augment(i, set())
    return {i: j for j, i in owner.items()}


class GoldCalls(NamedTuple):
    """The calls of one turn that the calls check requires, with their step and group size."""

    calls: list[Mapping[str, Any]]
    args: list[Mapping[str, Any]]  # validated (normalized) arguments
    step_of: list[int]
    sizes: list[int]


def gold_calls(turn: Mapping[str, Any], apis: Mapping[str, Api], *, strict: bool) -> GoldCalls:
    """The gold calls checked in ``turn``: all of them when ``strict``, else the state-changing ones."""
    out = GoldCalls([], [], [], [])
    for s, step in enumerate(turn["steps"]):
        for g in step.get("calls", ()):
            if strict or apis[g["name"]].mutates:
                out.calls.append(g)
                out.args.append(apis[g["name"]].validate(g["arguments"]))
                out.step_of.append(s)
                out.sizes.append(len(step["calls"]))
    return out


def check_calls(turn: Mapping[str, Any] | GoldCalls, calls: Sequence[Executed], apis: Mapping[str, Api], *,
                strict: bool, parallel: bool) -> tuple[bool, str]:
    """Check one user turn's executed calls against its gold plan (a turn of the
    task, or its :func:`gold_calls`); (ok, reason)."""
    plan = turn if isinstance(turn, GoldCalls) else gold_calls(turn, apis, strict=strict)
    gold, gold_args, step_of, sizes = plan
    pool = list(calls) if strict else [c for c in calls if c.mutates]
    if not gold and not pool:
        return True, ""
    if len(pool) == len(gold) and all(c.name == g["name"] and c.args == a for c, g, a in zip(pool, gold, gold_args, strict=True)):
        match = dict(enumerate(range(len(gold))))  # exactly the gold calls, in the gold order
    else:
        match = _matching(gold, gold_args, pool, apis)
    missing = [gold[i]["name"] for i in range(len(gold)) if i not in match]
    if missing:
        return False, "missing or wrong call: " + ", ".join(missing)
    used = set(match.values())
    extra = [c.name for j, c in enumerate(pool) if j not in used]
    if extra:
        return False, "extra call: " + ", ".join(extra)
    order = [step_of[i] for i, _ in sorted(match.items(), key=lambda kv: kv[1])]
    if order != sorted(order):
        return False, "state-changing calls out of order"
    if parallel:
        for s in set(step_of):
            steps = {pool[match[i]].step for i in range(len(gold)) if step_of[i] == s and sizes[i] > 1}
            if len(steps) > 1:
                return False, "parallel calls spread over several actions"
    return True, ""


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------
def state_digest(backends: Mapping[str, Backend]) -> str:
    """A short hash of the back-ends' raw net changes ("" when nothing changed): the
    anchor's state part, and a fast path of the state check (equal digests, equal
    states). Records are built with a fixed key order (see :class:`~.store.Store`),
    so ``repr`` is canonical here, and cheaper than a sorted JSON dump."""
    changes = [sorted(b.store.changes().items()) for _, b in sorted(backends.items())]
    if not any(changes):
        return ""
    return hashlib.blake2b(repr(changes).encode(), digest_size=8).hexdigest()


def project(backend: Backend) -> str:
    """Canonical text of a back-end's net changes, as the state check compares them."""
    free = backend.free_fields
    out = []
    for (table, key), record in sorted(backend.store.changes().items()):
        if table in IGNORED_TABLES:
            continue
        if record is not None:
            skip = free.get(table, ())
            record = norm({k: v for k, v in record.items() if k not in skip})
        out.append([table, key, record])
    return canonical(out)


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ORDINAL = re.compile(r"(\d)(?:st|nd|rd|th)\b")


def normalize_text(text: str) -> str:
    t = _ORDINAL.sub(r"\1", _THOUSANDS.sub("", text.lower().replace("\u2019", "'")))
    return " ".join(t.split())


@lru_cache(maxsize=4096)
def _form_pattern(form: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.])" + re.escape(form) + r"(?!\w|\.\d)")


def has_form(normalized_text: str, form: str) -> bool:
    return _form_pattern(form).search(normalized_text) is not None


def check_message(message: str, required: Sequence[Sequence[str]]) -> tuple[bool, list[str]]:
    """(all required facts present, the first form of each missing one)."""
    if not required:
        return True, []
    text = normalize_text(message)
    missing = [forms[0] for forms in required if not any(has_form(text, f) for f in forms)]
    return not missing, missing


# --------------------------------------------------------------------------
# ToolRL-style partial reward
# --------------------------------------------------------------------------
def toolrl_score(calls: Sequence[tuple[str, Mapping[str, Any]]], gold: Sequence[Mapping[str, Any]],
                 apis: Mapping[str, Api]) -> float:
    """Score of one action's calls against the gold calls of its user turn:
    ``0.1 + 0.3 name + 0.3 parameter names + 0.3 values`` (the action was well formed)."""
    if not calls:
        return 0.0
    if not gold:
        return 0.1
    names_a = [n for n, _ in calls]
    names_g = [g["name"] for g in gold]
    inter = sum(min(names_a.count(n), names_g.count(n)) for n in set(names_a))
    name_score = inter / (len(names_a) + len(names_g) - inter)
    free = list(range(len(gold)))
    keys_total = values_total = 0.0
    for name, args in calls:
        best, best_j = (-1.0, -1.0), None
        for j in free:
            g = gold[j]
            if g["name"] != name:
                continue
            gk = set(g["arguments"])
            k = len(gk & set(args)) / len(gk | set(args)) if gk | set(args) else 1.0
            api = apis[name]
            checks = g.get("checks", {})
            right = sum(1 for p in gk if p in args and (
                _check(checks[p], args[p], api.params[p]) if p in checks
                else _same(validate_value(g["arguments"][p], api.params[p], p), args[p], api.params[p])))
            v = right / len(gk) if gk else 1.0
            if (k, v) > best:
                best, best_j = (k, v), j
        if best_j is not None:
            free.remove(best_j)
            keys_total += best[0]
            values_total += best[1]
    n = max(len(calls), len(gold))
    return 0.1 + 0.3 * name_score + 0.3 * keys_total / n + 0.3 * values_total / n
