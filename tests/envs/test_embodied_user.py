"""AskToAct's simulated user, question parser, question reward and home generator."""

from __future__ import annotations

import random

import numpy as np
import pytest

import agentgym
from agentgym.envs.embodied.home import LEVELS, Home, generate_layout
from agentgym.envs.embodied.reward import InfoGainReward, QuestionOutcome
from agentgym.envs.embodied.user import (
    Answer,
    LLMFallbackUser,
    RuleBasedUser,
    UserView,
    parse_question,
)
from agentgym.errors import ConfigError
from agentgym.tools import ToolCall

# A hand-written home: three mugs that differ in colour, material, size and place.
META = {
    "rooms": ["kitchen", "living room"],
    "receptacles": [["counter", "kitchen", False], ["kitchen table", "kitchen", False],
                    ["fridge", "kitchen", True], ["coffee table", "living room", False]],
    "objects": [["mug", 1, "red", "ceramic", "small", "counter"],
                ["mug", 2, "blue", "glass", "large", "fridge"],
                ["mug", 3, "red", "glass", "large", "kitchen table"],
                ["bowl", 1, "red", "wooden", "small", "counter"]],
    "target": 2,
    "goal": "coffee table",
    "start": "living room",
    "instruction": {},
    "kind": "ambiguous",
    "max_turns": 20,
    "question_budget": 3,
}
HOME = Home(META)
VIEW = UserView(HOME)
RNG = np.random.default_rng(0)


def ask(question: str, user: RuleBasedUser | None = None) -> Answer:
    return (user or RuleBasedUser()).answer(question, VIEW, RNG)


@pytest.mark.parametrize(
    ("question", "text", "consistent"),
    [
        ("Is it red?", "Yes.", {0, 2}),
        ("Is it the blue one?", "No.", {0, 2}),
        ("is it made of GLASS?", "Yes.", {1, 2}),
        ("Is it big?", "Yes.", {1, 2}),
        ("Is it in the kitchen?", "Yes.", {0, 1, 2}),  # all mugs are: nothing learnt
        ("Is it on the kitchen table?", "Yes.", {2}),  # a receptacle, not the kitchen
        ("Is it the large red glass mug?", "Yes.", {2}),
        ("Is it the small red one?", "No.", {1, 2}),
        ("Is it the red mug (3)?", "Yes.", {2}),
        ("Is it mug 1?", "No.", {1, 2}),
        ("Which one: red mug (1) or blue mug (2)?", "None of those.", {2}),
        ("Which one do you want, red mug (1), blue mug (2) or red mug (3)?", "The red mug (3).", {2}),
        ("Is it red or blue?", "The red one.", {0, 2}),
        ("Is it in the fridge or on the counter?", "None of those.", {2}),
        ("Is it a bowl?", "No.", {0, 1, 2}),
    ],
)
def test_rule_based_user_answers(question: str, text: str, consistent: set[int]) -> None:
    a = ask(question)
    assert a.understood and a.text == text and a.consistent == frozenset(consistent)


@pytest.mark.parametrize("question", ["What colour is it?", "Where is it?", "hello", "Do you want the mug?"])
def test_not_understood(question: str) -> None:
    a = ask(question)
    assert not a.understood and a.consistent is None and "do not understand" in a.text


def test_mixed_which_question_asks_for_one_thing_at_a_time() -> None:
    a = ask("Is it red or blue and glass or metal?")
    assert not a.understood and "one thing at a time" in a.text


def test_noise_always_wrong_at_one() -> None:
    liar = RuleBasedUser(noise=1.0)
    assert ask("Is it red?", liar).text == "No." and ask("Is it red?", liar).consistent == frozenset({1})
    which = ask("Which one: red mug (1) or red mug (3)?", liar)
    assert which.text != "The red mug (3)." and 2 not in which.consistent
    with pytest.raises(ConfigError):
        RuleBasedUser(noise=1.5)


def test_parse_question_named_objects_take_precedence() -> None:
    q = parse_question("Is the red mug (1) in the kitchen?", HOME)
    assert not isinstance(q, str) and q.form == "yes_no" and q.conditions == (("object", 0),)
    # A colour that does not match the named object is not that object.
    q = parse_question("Is it the blue mug 1?", HOME)
    assert not isinstance(q, str) and ("object", 0) not in q.conditions


def test_info_gain_reward() -> None:
    r = InfoGainReward(scale=0.5, over_budget_penalty=0.2)
    four, two, one = frozenset({1, 2, 3, 4}), frozenset({1, 2}), frozenset({1})
    assert r(QuestionOutcome("q", "a", True, four, two, 1, 3)) == pytest.approx(0.5)
    assert r(QuestionOutcome("q", "a", True, four, one, 1, 3)) == pytest.approx(1.0)
    redundant = QuestionOutcome("q", "a", True, two, two, 2, 3)
    assert redundant.redundant and r(redundant) == 0.0
    assert r(QuestionOutcome("q", "?", False, two, two, 2, 3)) == 0.0
    assert r(QuestionOutcome("q", "a", True, four, frozenset(), 1, 3)) == 0.0  # contradiction
    assert r(QuestionOutcome("q", "a", True, four, one, 4, 3)) == -0.2


class CountingReward:
    """A stand-in for an LLM-generated question reward."""

    def __init__(self) -> None:
        self.seen: list[QuestionOutcome] = []

    def __call__(self, outcome: QuestionOutcome) -> float:
        self.seen.append(outcome)
        return 0.25


class EchoUser:
    """A stand-in for an LLM-backed user: answers without known meaning."""

    def answer(self, question: str, view: UserView, rng: np.random.Generator) -> Answer:
        return Answer(f"You asked: {question}")


def test_question_reward_and_user_are_pluggable() -> None:
    reward = CountingReward()
    env = agentgym.make("AskToAct-v0", split="val", question_reward=reward, user=EchoUser())
    env.reset(seed=3)
    told = env.told
    obs, r, *_, info = env.step(ToolCall("ask", {"question": "Is it red?"}).render())
    assert obs == "User: You asked: Is it red?" and r == 0.25 and info["reward_parts"] == {"question": 0.25}
    assert env.told == told and reward.seen[0].question == "Is it red?"
    with pytest.raises(ConfigError, match="module:ClassName"):
        agentgym.make("AskToAct-v0", user="no.such.module:User")
    env = agentgym.make("AskToAct-v0", question_reward="agentgym.envs.embodied.reward:InfoGainReward")
    assert isinstance(env.question_reward, InfoGainReward)


@pytest.mark.parametrize("difficulty", list(LEVELS))
def test_generated_homes_are_well_formed(difficulty: str) -> None:
    level = LEVELS[difficulty]
    for seed in range(200):
        kind = ("ambiguous", "observable", "control")[seed % 3]
        home = Home(generate_layout(random.Random(seed), level, kind))
        assert level.rooms[0] <= len(home.rooms) <= level.rooms[1]
        assert home.goal not in home.openable
        assert len({o.name for o in home.objects}) == len(home.objects)
        assert all(home.objects[i].start != home.goal for i in home.instances)
        attrs = {(home.objects[i].colour, home.objects[i].material, home.objects[i].size) for i in home.instances}
        assert len(attrs) == len(home.instances)  # same-type instances always differ
        if kind == "control":
            assert len(home.instances) == 1
        elif kind == "observable":
            assert home.told0 == {home.target} and len(home.instances) >= 2
        else:
            assert len(home.told0) >= 2 and home.target in home.told0
        if not level.openable:
            assert not home.openable


def test_llm_fallback_user_takes_only_what_the_rules_do_not_understand() -> None:
    prompts: list[str] = []

    def generate(prompt: str) -> str:
        prompts.append(prompt)
        return "  The one I drink   tea from.  "

    user = LLMFallbackUser(generate)
    assert user.answer("Is it red?", VIEW, RNG).consistent == frozenset({0, 2}) and not prompts
    a = user.answer("What do you use it for?", VIEW, RNG)
    assert a.text == "The one I drink tea from." and a.understood and a.consistent is None
    assert "large red glass mug (3)" in prompts[0] and "What do you use it for?" in prompts[0]
    env = agentgym.make("AskToAct-v0", split="val", user=user)
    env.reset(seed=0)
    obs, reward, *_, info = env.step(ToolCall("ask", {"question": "Why?"}).render())
    assert obs == "User: The one I drink tea from." and reward == 0.0
    assert (env.irrelevant, env.redundant) == (0, 0)


@pytest.mark.parametrize(
    ("question", "text", "consistent"),
    [
        ("Which bowl do you want?", "I want the mug, not a bowl.", {0, 1, 2}),
        ("What lamp?", "I want the mug, not a lamp.", {0, 1, 2}),
        ("Which red one?", "Yes, it is red.", {0, 2}),
        ("Which one is in the fridge?", "No, it is not in the fridge.", {0, 2}),
        ("What one, the glass one?", "Yes, it is made of glass.", {1, 2}),
        ("Which one, the red mug (3)?", "Yes, it is the red mug (3).", {2}),
        ("Is it the one which is red?", "Yes.", {0, 2}),  # a yes/no question that says "which"
    ],
)
def test_which_questions_are_answered_as_asked(question: str, text: str, consistent: set[int]) -> None:
    """A "which"/"what" question gets a statement, not a bare "No." (issue 13,
    item 12); what it rules out is what its yes/no reading rules out."""
    a = ask(question)
    assert a.understood and a.text == text and a.consistent == frozenset(consistent)
    assert ask("Which mug?").understood is False  # the wanted type, no options: unclear, said so


def test_a_question_about_another_type_is_not_subject_to_noise() -> None:
    assert ask("Which bowl?", RuleBasedUser(noise=1.0)).text == "I want the mug, not a bowl."
    assert ask("Which bowl?", RuleBasedUser(noise=1.0)).consistent == frozenset({0, 1, 2})


def test_which_question_about_another_type_in_the_env() -> None:
    """``ask("which mug?")`` about a lamp (issue 13): the user says what it wants."""
    env = agentgym.make("AskToAct-v0", split="val", difficulty="easy")
    env.reset(seed=0)
    wanted = env.home.target_type
    other = next(t for t in ("mug", "lamp") if t != wanted)
    obs, reward, *_, info = env.step(ToolCall("ask", {"question": f"which {other}?"}).render())
    article = "an" if other[0] in "aeiou" else "a"
    assert obs == f"User: I want the {wanted}, not {article} {other}." and info["action_valid"]
    assert reward == 0.0 and (env.redundant, env.irrelevant) == (1, 0)  # understood, rules nothing out
