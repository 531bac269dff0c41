"""``JudgeEnsemble``: majority over several judges.

"Helping or Herding" found that ensembles of judges reduce reward hacking (an
attack must fool most of them) without ending it. An ensemble has the
judge interface (``judge(items)``, ``__call__(item)``), so it goes wherever an
:class:`~agentgym.rewards.judge.LLMJudge` does.

Each member judges every input (its own defences, cache and retries apply);
the ensemble's value is the majority of the members' available verdicts. It is
unavailable when fewer than ``min_available`` members answered (default: a
majority of the members) or when they tie.

>>> from agentgym.rewards.judge import Verdict
>>> class Fixed:
...     def __init__(self, v): self.v = v
...     def judge(self, items): return [Verdict(self.v) for _ in items]
>>> JudgeEnsemble([Fixed(1.0), Fixed(0.0), Fixed(0.0)]).judge(["x"])[0].value
0.0
>>> JudgeEnsemble([Fixed(1.0), Fixed(None), Fixed(None)]).judge(["x"])[0].available
False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentgym.errors import ConfigError
from agentgym.rewards.judge import Verdict

__all__ = ["JudgeEnsemble"]


class JudgeEnsemble:
    """Majority of ``judges`` (objects with ``judge(items) -> list[Verdict]``)."""

    def __init__(self, judges: Sequence[Any], *, min_available: int | None = None, name: str = "") -> None:
        if not judges:
            raise ConfigError("JudgeEnsemble needs at least one judge.")
        self.judges = list(judges)
        n = len(self.judges)
        self.min_available = n // 2 + 1 if min_available is None else int(min_available)
        if not 1 <= self.min_available <= n:
            raise ConfigError(f"min_available must be in [1, {n}], got {self.min_available}.")
        self.name = name or "ensemble(" + ",".join(str(getattr(j, "name", type(j).__name__)) for j in judges) + ")"

    def __call__(self, item: Any) -> Verdict:
        return self.judge([item])[0]

    def judge(self, items: Sequence[Any]) -> list[Verdict]:
        per_judge = [j.judge(items) for j in self.judges]
        out = []
        for verdicts in zip(*per_judge, strict=True):
            votes = tuple(None if v.value is None else v.value >= 0.5 for v in verdicts)
            yes, no = votes.count(True), votes.count(False)
            if yes + no < self.min_available:
                reasons = "; ".join(v.reason for v in verdicts if v.value is None)
                out.append(Verdict(None, votes, reason=f"{yes + no}/{len(votes)} judges answered ({reasons})"))
            elif yes == no:
                out.append(Verdict(None, votes, reason=f"judges tie {yes}-{no}"))
            else:
                out.append(Verdict(1.0 if yes > no else 0.0, votes))
        return out
