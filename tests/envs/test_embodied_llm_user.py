"""AskToAct's LLM-backed simulated user (``user="llm"``): free-form questions go
to a model that is told the wanted object; when the model cannot answer, the
observation says so and the episode goes on (never an exception)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest

import agentgym
from agentgym.envs.embodied.user import LLMFallbackUser, policy_generate
from agentgym.errors import ConfigError
from agentgym.policy import Completion
from agentgym.tools import ToolCall

FREE_FORM = "What do you use it for?"


class ScriptedUserModel:
    """A policy backend for the LLM user: replies ``reply(prompt)``, records prompts."""

    def __init__(self, reply: Any = "The one I drink tea from (2).", delay_s: float = 0.0, finish: str = "stop") -> None:
        self.reply, self.delay_s, self.finish = reply, delay_s, finish
        self.prompts: list[str] = []

    def act(self, conversations: Sequence[Any], tools: Sequence[Any]) -> list[Completion]:
        self.prompts += [c[-1]["content"] for c in conversations]
        if self.delay_s:
            time.sleep(self.delay_s)
        text = self.reply(self.prompts[-1]) if callable(self.reply) else self.reply
        return [Completion(text, finish_reason=self.finish, error="boom" if self.finish == "error" else None)
                for _ in conversations]


def _ask(env: Any, question: str) -> tuple[str, dict[str, Any]]:
    obs, _, _, _, info = env.step(ToolCall("ask", {"question": question}).render())
    return obs, info


def test_llm_user_answers_free_form_questions_told_the_target() -> None:
    model = ScriptedUserModel()
    env = agentgym.make("AskToAct-v0", split="val", difficulty="easy", user="llm", user_model=model).unwrapped
    env.reset(seed=0)
    target = env.home.objects[env.home.target]
    told = env.told
    obs, info = _ask(env, FREE_FORM)
    # The object's number is the agent's handle, not something the user says.
    assert obs == "User: The one I drink tea from." and info["action_valid"]
    assert len(model.prompts) == 1 and FREE_FORM in model.prompts[0]
    assert f"{target.colour} {target.material} {target.type} ({target.n})" in model.prompts[0]
    assert env.told == told and env.irrelevant == 0  # no known meaning: nothing ruled out, not "irrelevant"
    # Questions the rules understand never reach the model.
    obs, _ = _ask(env, f"Is it {target.colour}?")
    assert obs == "User: Yes." and len(model.prompts) == 1


@pytest.mark.parametrize(
    ("model", "why"),
    [
        (ScriptedUserModel(delay_s=2.0), "no reply within 0.2 s"),
        (ScriptedUserModel(reply=lambda p: 1 / 0), "ZeroDivisionError"),
        (ScriptedUserModel(finish="error"), "backend error"),
        (ScriptedUserModel(reply="   "), "empty reply"),
    ],
    ids=["timeout", "exception", "error-completion", "empty"],
)
def test_llm_user_that_cannot_answer_is_an_observation(model: ScriptedUserModel, why: str) -> None:
    env = agentgym.make("AskToAct-v0", split="val", difficulty="easy", user="llm", user_model=model,
                        user_timeout_s=0.2, max_turns=2).unwrapped
    env.reset(seed=1)
    t0 = time.perf_counter()
    obs, info = _ask(env, FREE_FORM)
    assert time.perf_counter() - t0 < 1.5  # the timeout holds even though the model is still "thinking"
    assert obs.startswith("User: The user could not answer right now") and why in obs
    assert info["action_valid"] and info["reward_parts"].get("question", 0.0) == 0.0
    _, _, _, truncated, info = env.step(ToolCall("look", {}).render())
    assert truncated and info["metrics"]["user_no_reply"] == 1.0 and info["metrics"]["questions_asked"] == 1.0


def test_llm_user_kwargs_are_checked_with_a_fix() -> None:
    with pytest.raises(ConfigError, match="user_model="):
        agentgym.make("AskToAct-v0", user="llm")
    with pytest.raises(ConfigError, match="only used with user='llm'"):
        agentgym.make("AskToAct-v0", user_model=ScriptedUserModel())
    with pytest.raises(ConfigError, match="timeout_s"):
        agentgym.make("AskToAct-v0", user="llm", user_model=ScriptedUserModel(), user_timeout_s=0)
    # The rule-based default reports no LLM-user metric (metrics unchanged).
    env = agentgym.make("AskToAct-v0", split="val", max_turns=1).unwrapped
    env.reset(seed=0)
    assert "user_no_reply" not in env.step(ToolCall("look", {}).render())[4]["metrics"]


def test_user_model_specs() -> None:
    # A "package.module:Class" backend and a bare generate function.
    reply = policy_generate("agentgym.rewards.scripted:OverlapJudge")("anything")
    assert reply == "VERDICT: NO"
    assert isinstance(policy_generate(lambda p: "hi"), type(lambda: 0))
    user = agentgym.make("AskToAct-v0", user="llm", user_model=lambda p: "hello").unwrapped.user
    assert isinstance(user, LLMFallbackUser) and user.timeout_s == 30.0


@pytest.mark.slow
def test_llm_user_on_a_real_tiny_model_is_deterministic() -> None:
    """The policy-spec route (``"tiny:"``: a small transformers model, greedy):
    two envs give the same reply, and it is a reply, not the fallback."""
    replies = []
    for _ in range(2):
        env = agentgym.make("AskToAct-v0", split="val", difficulty="easy", user="llm", user_model="tiny:seed=0",
                            user_timeout_s=600).unwrapped
        env.reset(seed=0)
        replies.append(_ask(env, FREE_FORM)[0])
    assert replies[0] == replies[1] and replies[0].startswith("User: ")
    assert "no reply within" not in replies[0]
