"""Verdicts read from log-probabilities: a judge mode a very small model can follow.

A 135M-parameter instruct model asked to "think briefly, then end with
``VERDICT: YES``" rarely writes a parseable line within a token budget (see
BENCHMARKS.md). :class:`LogprobVerdict` asks for no text at all: it appends
``VERDICT:`` to the judge prompt as the start of the assistant's reply, runs
**one forward pass**, and compares the log-probabilities of the first token of
``" YES"`` and ``" NO"`` (each summed over spellings: ``YES``/``Yes``/``yes``,
with and without the leading space). The larger one wins. The verdict is
*unavailable* (not a guess) when the model puts less than ``min_mass`` of its
next-token probability on either word (it wanted to say something else), or
when the two differ by at most ``margin`` nats.

It is a judge *backend*: a policy-like object whose ``act`` returns
completions such as ``"VERDICT: YES (log P yes -0.41, no -1.20)"``, so the
whole :class:`~agentgym.rewards.LLMJudge` pipeline (defences, cache, votes,
timeouts) is unchanged. ``LLMJudge(..., verdict="logprob")`` wraps a local
HF policy in it and tells the model to answer with one word.

Needs a local model (an object with ``model``, ``tokenizer`` and
``prompt_ids(conversation)``, as :class:`agentgym.policies.hf.HFPolicy`);
OpenAI-compatible servers that ignore ``logprobs`` cannot serve this mode.

>>> from agentgym.policies.hf import HFPolicy                       # doctest: +SKIP
>>> judge = LLMJudge(HFPolicy.from_pretrained("smollm2-135m"), rubric, verdict="logprob")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from agentgym.errors import ConfigError
from agentgym.policy import Completion, Message

__all__ = ["LogprobVerdict", "PREFIX", "decide"]

PREFIX = "VERDICT:"
_YES = ("YES", "Yes", "yes")
_NO = ("NO", "No", "no")


def decide(lp_yes: float, lp_no: float, *, min_mass: float, margin: float) -> str:
    """The completion text for one pair of log-probabilities (nats).

    >>> decide(-0.1, -3.0, min_mass=0.05, margin=0.0)
    'VERDICT: YES (log P yes -0.10, no -3.00)'
    >>> decide(-6.0, -7.0, min_mass=0.05, margin=0.0)
    'no verdict: P(yes) + P(no) = 0.003 < 0.05'
    """
    mass = math.exp(lp_yes) + math.exp(lp_no)
    if mass < min_mass:
        return f"no verdict: P(yes) + P(no) = {mass:.3f} < {min_mass:g}"
    if abs(lp_yes - lp_no) <= margin:
        return f"no verdict: undecided (log P yes {lp_yes:.2f}, no {lp_no:.2f})"
    word = "YES" if lp_yes > lp_no else "NO"
    return f"VERDICT: {word} (log P yes {lp_yes:.2f}, no {lp_no:.2f})"


class LogprobVerdict:
    """A judge backend reading YES/NO from next-token log-probabilities (see the module doc).

    Args:
        policy: A local model policy (``model``, ``tokenizer``, ``prompt_ids``).
        min_mass: Below this total probability on the two words, no verdict.
        margin: A log-probability difference at most this (nats) is no verdict.
    """

    def __init__(self, policy: Any, *, min_mass: float = 0.05, margin: float = 0.0) -> None:
        missing = [a for a in ("model", "tokenizer", "prompt_ids") if not hasattr(policy, a)]
        if missing:
            raise ConfigError(f"verdict='logprob' needs a local model policy (hf:...), got {type(policy).__name__} "
                              f"without {', '.join(missing)}; use verdict='text' for an HTTP or scripted judge.")
        if not 0.0 <= min_mass < 1.0 or margin < 0:
            raise ConfigError(f"min_mass must be in [0, 1) and margin >= 0, got {min_mass} and {margin}.")
        self.policy, self.min_mass, self.margin = policy, float(min_mass), float(margin)
        tok = policy.tokenizer
        self._prefix = list(tok.encode(PREFIX, add_special_tokens=False))
        yes = {self._first(tok, s + w) for w in _YES for s in (" ", "")}
        no = {self._first(tok, s + w) for w in _NO for s in (" ", "")}
        self.yes_ids, self.no_ids = sorted(yes - no), sorted(no - yes)  # a shared first token tells nothing
        if not self.yes_ids or not self.no_ids:
            raise ConfigError("the tokenizer gives YES and NO the same first tokens; verdict='logprob' cannot tell them apart.")

    @staticmethod
    def _first(tok: Any, text: str) -> int:
        return int(tok.encode(text, add_special_tokens=False)[0])

    def act(self, conversations: Sequence[Sequence[Message]], tools: Sequence[Any]) -> list[Completion]:
        import torch

        model = self.policy.model
        device = next(model.parameters()).device
        out = []
        with torch.inference_mode():
            for conv in conversations:  # one row at a time: no padding to get wrong, prompts are short
                ids = torch.tensor([list(self.policy.prompt_ids(conv)) + self._prefix], device=device)
                logits = model(input_ids=ids).logits[0, -1].float()  # (V,)
                logp = torch.log_softmax(logits, dim=-1)
                lp_yes = float(torch.logsumexp(logp[self.yes_ids], dim=0))
                lp_no = float(torch.logsumexp(logp[self.no_ids], dim=0))
                out.append(Completion(decide(lp_yes, lp_no, min_mass=self.min_mass, margin=self.margin)))
        return out
