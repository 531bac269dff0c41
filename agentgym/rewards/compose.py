"""Composable rewards: named parts, weights, gates, per-turn and outcome parts.

A :class:`Reward` is an ordered list of :class:`Part` s. Each part computes a
raw value from a context (whatever the env passes: an outcome object, the env
itself, a dict) and contributes ``weight * raw`` under its name to
``info["reward_parts"]``; the step reward is the sum of those, as every env's
contract says. What a part may do:

* **when**: ``"turn"`` parts are scored by the env after a step's action (an
  ``ask``), ``"outcome"`` parts when the episode's outcome is known (a
  ``submit``); ``Reward.apply(env, ctx, when=...)`` scores only that kind.
* **gate**: the name of an earlier part of the same kind; this part is only
  computed (its function is not even called) when the gate's raw value holds
  (``> gate_threshold``). An execution-gated explanation judge never runs on a
  wrong query.
* **weight 0**: the part is skipped, unless ``keep_zero_weight`` (then it is
  reported as ``0.0``). ``omit_zero``: a raw value of 0 is not reported.
* **veto**: :class:`VetoReward` adds one part that cancels the others when a
  condition holds (a policy-breaking call ran): it is minus their sum, so the
  step scores 0 while ``reward_parts`` still show what the rest earned.
* **unavailable**: a function may return :class:`Unavailable` (a judge that
  timed out or answered garbage). The part is then *not* reported as any
  number: it is left out of ``reward_parts`` and recorded in
  ``Scored.unavailable`` (the env puts it in ``info["reward_unavailable"]`` and
  counts it in the ``reward_unavailable`` episode metric, see
  :mod:`agentgym.rewards.env`), and a part gated on it is unavailable too.

>>> r = Reward([Part("execution", lambda c: float(c["ok"]), keep_zero_weight=True),
...             Part("explanation", lambda c: c["judge"], weight=0.5, gate="execution")])
>>> r.score({"ok": True, "judge": 1.0}).parts
{'execution': 1.0, 'explanation': 0.5}
>>> r.score({"ok": False, "judge": 1.0}).parts
{'execution': 0.0}
>>> s = r.score({"ok": True, "judge": Unavailable("timeout")})
>>> s.parts, s.unavailable
({'execution': 1.0}, {'explanation': 'timeout'})
>>> r.with_weights({"explanation": 0.2}).score({"ok": True, "judge": 1.0}).parts
{'execution': 1.0, 'explanation': 0.2}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agentgym.errors import ConfigError

__all__ = ["Part", "Reward", "Scored", "Unavailable", "VetoReward", "When"]

When = Literal["turn", "outcome"]


@dataclass(frozen=True)
class Unavailable:
    """A part's value that could not be computed, and why (never a silent 0 or 1)."""

    reason: str


@dataclass(frozen=True)
class Part:
    """One named reward part. ``fn(ctx)`` returns a number (a bool counts as
    0/1) or :class:`Unavailable`. See the module docstring for the fields."""

    name: str
    fn: Callable[[Any], float | bool | Unavailable]
    weight: float = 1.0
    when: When = "outcome"
    gate: str | None = None
    gate_threshold: float = 0.0
    keep_zero_weight: bool = False
    omit_zero: bool = False
    doc: str = ""

    def __post_init__(self) -> None:
        if self.when not in ("turn", "outcome"):
            raise ConfigError(f"part {self.name!r}: when must be 'turn' or 'outcome', got {self.when!r}.")


@dataclass
class Scored:
    """The result of scoring one kind of parts: weighted ``parts`` (what goes
    into ``reward_parts``), ``raw`` values, and ``unavailable`` part -> reason."""

    parts: dict[str, float] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(sum(self.parts.values()))


class Reward:
    """An ordered, validated set of :class:`Part` s (see the module docstring)."""

    def __init__(self, parts: Sequence[Part]) -> None:
        seen: dict[str, Part] = {}
        for p in parts:
            if p.name in seen:
                raise ConfigError(f"reward part {p.name!r} is defined twice.")
            if p.gate is not None:
                g = seen.get(p.gate)
                if g is None:
                    raise ConfigError(f"part {p.name!r} is gated on {p.gate!r}, which is not an earlier part; "
                                      f"list the gate first (parts so far: {sorted(seen)}).")
                if g.when != p.when:
                    raise ConfigError(f"part {p.name!r} ({p.when}) is gated on {p.gate!r} ({g.when}); "
                                      "a gate must be of the same kind.")
            seen[p.name] = p
        self.parts: tuple[Part, ...] = tuple(parts)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parts]

    @property
    def weights(self) -> dict[str, float]:
        return {p.name: p.weight for p in self.parts}

    def with_weights(self, weights: Mapping[str, float] | None) -> Reward:
        """A copy with some weights replaced; unknown names raise with the valid ones."""
        weights = dict(weights or {})
        unknown = set(weights) - set(self.names)
        if unknown:
            raise ConfigError(f"unknown reward part(s) {sorted(unknown)}; choose from {self.names}.")
        return Reward([dataclasses.replace(p, weight=float(weights[p.name])) if p.name in weights else p
                       for p in self.parts])

    def score(self, ctx: Any, when: When | None = None) -> Scored:
        """Score the parts of kind ``when`` (all when None) on ``ctx``."""
        out = Scored()
        for p in self.parts:
            if when is not None and p.when != when:
                continue
            if not p.weight and not p.keep_zero_weight:
                continue
            if p.gate is not None:
                if p.gate in out.unavailable:
                    out.unavailable[p.name] = f"gate {p.gate!r} unavailable"
                    continue
                if out.raw.get(p.gate, 0.0) <= p.gate_threshold:
                    continue
            value = p.fn(ctx)
            if isinstance(value, Unavailable):
                out.unavailable[p.name] = value.reason
                continue
            raw = float(value)
            out.raw[p.name] = raw
            if p.omit_zero and raw == 0:
                continue
            out.parts[p.name] = p.weight * raw
        return out

    def apply(self, env: Any, ctx: Any, when: When | None = None) -> Scored:
        """Score and add each part to ``env`` (``env.add_reward``); unavailable
        parts go to ``env.mark_unavailable`` when the env has it
        (:class:`agentgym.rewards.env.RewardReporting`), else raise: an env that
        cannot report an unavailable part must not be given one."""
        scored = self.score(ctx, when)
        for name, value in scored.parts.items():
            env.add_reward(name, value)
        if scored.unavailable:
            mark = getattr(env, "mark_unavailable", None)
            if mark is None:
                raise ConfigError(f"{type(env).__name__} cannot report unavailable reward parts "
                                  f"{sorted(scored.unavailable)}; mix in agentgym.rewards.RewardReporting.")
            for name, reason in scored.unavailable.items():
                mark(name, reason)
        return scored

    def __repr__(self) -> str:
        inner = ", ".join(f"{p.name}({p.when}, w={p.weight:g}{', gate=' + p.gate if p.gate else ''})"
                          for p in self.parts)
        return f"Reward([{inner}])"


class VetoReward(Reward):
    """A :class:`Reward` with one more part that cancels the others.

    When ``vetoed(ctx)`` holds, part ``veto`` is minus the sum of the scored
    parts (of the kind ``when`` being scored), so the step's reward is 0 while
    the other parts stay reported (what the episode would have earned);
    otherwise it is not reported. The veto has no weight: it is not a weighted
    sum, and ``with_weights`` refuses one (``TrainConfig.reward_weights=
    {veto: 0}`` trains without it, since trainer weights act on reported parts).

    >>> r = VetoReward([Part("ok", lambda c: c[0])], veto="forbidden", vetoed=lambda c: c[1])
    >>> r.score((1, True)).parts, r.score((1, False)).parts
    ({'ok': 1.0, 'forbidden': -1.0}, {'ok': 1.0})
    >>> r.with_weights({"forbidden": 2.0})
    Traceback (most recent call last):
    ...
    agentgym.errors.ConfigError: 'forbidden' cancels the other parts and has no weight; ...
    """

    def __init__(self, parts: Sequence[Part], *, veto: str, vetoed: Callable[[Any], bool],
                 when: When = "outcome") -> None:
        super().__init__(parts)
        if veto in super().names:
            raise ConfigError(f"the veto part {veto!r} is also an ordinary part; give it another name.")
        if when not in ("turn", "outcome"):
            raise ConfigError(f"veto {veto!r}: when must be 'turn' or 'outcome', got {when!r}.")
        self.veto, self.vetoed, self.veto_when = veto, vetoed, when

    @property
    def names(self) -> list[str]:
        return [*super().names, self.veto]

    def with_weights(self, weights: Mapping[str, float] | None) -> VetoReward:
        if weights and self.veto in weights:
            raise ConfigError(f"{self.veto!r} cancels the other parts and has no weight; to train without it, "
                              f"set TrainConfig.reward_weights={{{self.veto!r}: 0.0}}.")
        base = super().with_weights(weights)
        return VetoReward(base.parts, veto=self.veto, vetoed=self.vetoed, when=self.veto_when)

    def score(self, ctx: Any, when: When | None = None) -> Scored:
        out = super().score(ctx, when)
        if when in (None, self.veto_when) and self.vetoed(ctx):
            out.parts[self.veto] = -out.total
        return out

    def __repr__(self) -> str:
        parts = super().__repr__().removeprefix("Reward(").removesuffix(")")
        return f"VetoReward({parts}, veto={self.veto!r})"
