"""Scripted policies: each family's oracle (and its other scripted players),
and a schema-driven random policy.

Scripted players read the env's hidden state, so they need the live env
objects, not only the conversation. The contract (see :mod:`agentgym.policy`):
a policy with ``needs_env = True`` is called as
``act(conversations, tools, envs=envs)``, where ``envs[i]`` is the env of
conversation ``i``; the rollout does this. Their completions carry text only
(no token ids), so their trajectories serve evaluation and SFT warm starts,
not policy-gradient updates.

Specs (the ``agentgym.policies`` entry points): ``oracle``, ``scripted:NAME``
(the env's ``scripted_policies[NAME]``), ``random`` or ``random:SEED``.

>>> import agentgym
>>> from agentgym.rollout import collect
>>> trajs = collect("GuessNumber-v0", OraclePolicy(), tasks=2)
>>> all(t.success for t in trajs)
True
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from agentgym.errors import ConfigError
from agentgym.policy import Completion, Message
from agentgym.tools import ToolCall

__all__ = ["ScriptedPolicy", "OraclePolicy", "RandomPolicy", "oracle_from_spec", "random_from_spec", "scripted_from_spec"]


class ScriptedPolicy:
    """Plays the env's scripted policy ``name`` (``env.scripted_action(name)``).

    >>> policy = ScriptedPolicy("oracle")
    >>> policy.needs_env
    True
    """

    needs_env = True

    def __init__(self, name: str = "oracle") -> None:
        self.name = name

    def act(
        self,
        conversations: Sequence[Sequence[Message]],
        tools: Sequence[Sequence[dict[str, Any]]],
        envs: Sequence[Any] | None = None,
    ) -> list[Completion]:
        if envs is None or len(envs) != len(conversations):
            raise ConfigError(
                f"the scripted policy {self.name!r} plays from the env's state: call act(..., envs=[one env per "
                "conversation]) (agentgym.rollout.collect does this for policies with needs_env=True)."
            )
        out = []
        for env in envs:
            base = getattr(env, "unwrapped", env)
            if not hasattr(base, "scripted_action"):
                raise ConfigError(f"{type(base).__name__} has no scripted_action(); scripted policies need an AgentEnv.")
            out.append(Completion(text=base.scripted_action(self.name)))
        return out

    def __repr__(self) -> str:
        return f"ScriptedPolicy({self.name!r})"


class OraclePolicy(ScriptedPolicy):
    """The family's expert (``scripted_policies["oracle"]``)."""

    def __init__(self) -> None:
        super().__init__("oracle")


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]*(?: [A-Za-z][A-Za-z0-9_'-]*)?")
_PHRASE_SPLIT = re.compile(r"[,;:.!?\n]+\s*")
_QUOTED = re.compile(r"['\"`]([^'\"`\n]{1,60})['\"`]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class RandomPolicy:
    """Valid-looking random calls from the tool schemas: a random tool, and for
    each argument a plausible value — strings are quoted phrases or words of
    the observations so far, integers and numbers are figures from them (or small
    random ones), enums and booleans are drawn from their values. Optional
    arguments are included half the time. A baseline that exercises an env's
    tools without any model.

    >>> p = RandomPolicy(seed=0)
    >>> tools = [{"type": "function", "function": {"name": "guess", "description": "",
    ...     "parameters": {"type": "object", "properties": {"number": {"type": "integer"}}, "required": ["number"]}}}]
    >>> p.act([[{"role": "user", "content": "between 3 and 9"}]], [tools])[0].text.startswith('<tool_call>{"name": "guess"')
    True
    """

    needs_env = False

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random stream from ``seed``."""
        self.seed = seed
        self._rng = random.Random(seed)

    def act(self, conversations: Sequence[Sequence[Message]], tools: Sequence[Sequence[dict[str, Any]]]) -> list[Completion]:
        out = []
        for conv, schemas in zip(conversations, tools, strict=True):
            if not schemas:
                out.append(Completion(text="I have no tools to call."))
                continue
            # What the agent has been told (the task and the observations), latest last.
            observation = "\n".join(str(m.get("content", "")) for m in conv if m.get("role") in ("user", "tool"))
            fn = self._rng.choice(list(schemas))
            fn = fn.get("function", fn)
            params = fn.get("parameters") or {}
            required = set(params.get("required", []))
            args = {
                name: self._value(schema, observation)
                for name, schema in (params.get("properties") or {}).items()
                if name in required or self._rng.random() < 0.5
            }
            out.append(Completion(text=ToolCall(fn["name"], args).render()))
        return out

    def _value(self, schema: dict[str, Any], text: str) -> Any:
        rng = self._rng
        if "enum" in schema:
            return rng.choice(schema["enum"])
        if "anyOf" in schema:
            return self._value(rng.choice(schema["anyOf"]), text)
        kind = schema.get("type", "string")
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("integer", "number"):
            figures = [float(x) for x in _NUMBER.findall(text)]
            if figures and rng.random() < 0.8:
                lo, hi = min(figures), max(figures)
                value = rng.uniform(lo, hi) if rng.random() < 0.5 else rng.choice(figures)
            else:
                value = rng.uniform(0, 100)
            return int(round(value)) if kind == "integer" else round(value, 2)
        if kind == "array":
            return [self._value(schema.get("items") or {"type": "string"}, text) for _ in range(rng.randint(1, 2))]
        if kind == "object":
            return {}
        return rng.choice(_string_candidates(text))

    def __repr__(self) -> str:
        return f"RandomPolicy(seed={self.seed})"


def _string_candidates(text: str) -> list[str]:
    """Plausible string arguments: quoted text, then short phrases between
    punctuation (object names such as ``red mug (1)``, room names), then words."""
    quoted = _QUOTED.findall(text)
    if quoted:
        return quoted
    phrases = [p.strip() for p in _PHRASE_SPLIT.split(text)]
    phrases = [p for p in phrases if p and len(p) <= 40 and len(p.split()) <= 4]
    return phrases + _WORD.findall(text) or ["x"]


def oracle_from_spec(rest: str, **kwargs: Any) -> OraclePolicy:
    """``oracle`` (the ``agentgym.policies`` entry point)."""
    if rest:
        raise ConfigError(f"'oracle' takes no argument, got {rest!r}; use 'scripted:NAME' for another scripted policy.")
    return OraclePolicy()


def scripted_from_spec(rest: str, **kwargs: Any) -> ScriptedPolicy:
    """``scripted:NAME``: the env family's scripted policy NAME."""
    return ScriptedPolicy(rest or "oracle")


def random_from_spec(rest: str, **kwargs: Any) -> RandomPolicy:
    """``random`` or ``random:SEED``."""
    try:
        seed = int(rest) if rest else int(kwargs.get("seed", 0))
    except ValueError as e:
        raise ConfigError(f"'random:{rest}': the argument is a seed (an integer), e.g. 'random:3'.") from e
    return RandomPolicy(seed=seed)

