"""The conformance kit itself (agentgym.testing): what it must catch, what it must let through."""

from __future__ import annotations

import pytest

import agentgym
from agentgym import AgentEnv, Task, tool
from agentgym.errors import ConfigError
from agentgym.testing import check_agent_env, check_oracle_success
from agentgym.tools import ToolCall

WORDS = ("apple", "brick", "cloud", "delta")
TASKS = [Task(f"echo/{i}", f"Say the word number {i}.", f"say({w!r})", {"word": w}) for i, w in enumerate(WORDS)]


def right(env: EchoEnv) -> str:
    return ToolCall("say", {"word": env.task.meta["word"]}).render()


def wrong(env: EchoEnv) -> str:
    return ToolCall("say", {"word": "nothing"}).render()


def right_on_even(env: EchoEnv) -> str:
    """Succeeds on half of the tasks: the even-numbered ones."""
    return right(env) if int(env.task.id.rsplit("/", 1)[1]) % 2 == 0 else wrong(env)


class EchoEnv(AgentEnv):
    """A family with no task generator at all: only ever built with ``tasks=``."""

    family = "echo"
    instructions = "Say the word you are asked for."
    default_max_turns = 3
    scripted_policies = {"oracle": f"{__name__}:right"}

    def on_reset(self, task: Task) -> str:
        return task.prompt

    @tool
    def say(self, word: str) -> str:
        """Say a word.

        Args:
            word: The word.
        """
        ok = word == self.task.meta["word"]
        self.add_reward("success", float(ok))
        self.finish(success=ok)
        return "Right." if ok else "Wrong."


class WrongOracleEnv(EchoEnv):
    scripted_policies = {"oracle": f"{__name__}:wrong"}


class HalfOracleEnv(EchoEnv):
    scripted_policies = {"oracle": f"{__name__}:right_on_even"}
    oracle_success_rate = 0.5


def test_an_env_with_tasks_needs_no_generator() -> None:
    """Item 8 of issue 13: ``make_generator`` is optional when tasks are given."""
    env = EchoEnv(tasks=TASKS)
    assert [env.task_at(i).id for i in range(5)] == ["echo/0", "echo/1", "echo/2", "echo/3", "echo/0"]
    assert env.generator.task("test", 2) == TASKS[2] and env.difficulty == "default"
    assert EchoEnv(tasks=[t.to_dict() for t in TASKS], difficulty="easy").difficulty == "easy"
    check_agent_env(EchoEnv(tasks=TASKS))


def test_an_env_with_neither_tasks_nor_generator_says_what_to_do() -> None:
    with pytest.raises(ConfigError, match=r"implement make_generator\(self, seed\).*or pass a fixed list, tasks="):
        EchoEnv()


def test_an_oracle_that_never_succeeds_fails_the_check() -> None:
    """Item 6: valid, repeatable, always wrong: caught."""
    with pytest.raises(AssertionError, match=r"succeeded in 0 of 4 episodes.*oracle_success_rate"):
        check_agent_env(WrongOracleEnv(tasks=TASKS))


def test_an_imperfect_oracle_is_judged_by_its_declared_rate() -> None:
    env = HalfOracleEnv(tasks=TASKS)
    rate = check_oracle_success(env, seeds=range(12))["default"]
    assert 0.0 < rate < 1.0
    check_agent_env(env, oracle_seeds=range(12))
    env.oracle_success_rate = 1.0  # the instance may say otherwise (it depends on the arguments)
    with pytest.raises(AssertionError, match="declared to succeed at rate 1.0"):
        check_oracle_success(env, seeds=range(12))


def test_the_oracle_is_checked_at_every_difficulty() -> None:
    rates = check_oracle_success(agentgym.make("GuessNumber-v0", split="val"), seeds=range(3))
    assert rates == {"easy": 1.0, "medium": 1.0, "hard": 1.0}


@pytest.mark.parametrize("answer", ["", "  ", None])
def test_an_absent_answer_is_not_shown_everywhere(answer: str | None) -> None:
    """Item 7: an answer that is absent (a remote task's, ``""`` or None) is not
    "in" every observation."""
    tasks = [Task(t.id, t.prompt, answer, t.meta) for t in TASKS]  # type: ignore[arg-type]
    check_agent_env(EchoEnv(tasks=tasks))


def test_a_shown_answer_is_still_caught() -> None:
    tasks = [Task(t.id, f"{t.prompt} ({t.answer})", t.answer, t.meta) for t in TASKS]
    with pytest.raises(AssertionError, match="never be shown"):
        check_agent_env(EchoEnv(tasks=tasks))
