"""IGPO scoring: one batched teacher-forced pass equals a per-prompt computation;
the information gain is the paper's (in probability) or, as an option, in
log-probability."""

from __future__ import annotations

import copy
import math

import pytest
import torch

import agentgym
from agentgym.credit import score_information_gain
from agentgym.errors import ConfigError
from agentgym.rollout import collect
from agentgym.trajectory import Trajectory, Turn


@pytest.fixture(scope="module")
def scored():
    torch.set_num_threads(1)
    policy = agentgym.load_policy("tiny", max_new_tokens=6)
    trajs = collect("GuessNumber-v0", policy, tasks=2, group_size=2, max_turns=3, env_kwargs={"difficulty": "easy"})
    calls = []
    # Batch size of each forward: one batched pass over every prompt, plus the
    # passes over the prefixes they share (the system prompt, once; each group's
    # first prompt, once per group).
    hook = policy.model.register_forward_hook(lambda m, a, kw, o: calls.append(kw["input_ids"].shape[0]),
                                              with_kwargs=True)
    n = score_information_gain(policy, trajs, micro_batch_size=None)
    hook.remove()
    return policy, trajs, n, calls


def _mean_answer_logprob(model, prompt: list[int], answer: list[int]) -> float:
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)  # (T, V)
    rows = range(len(prompt) - 1, len(prompt) + len(answer) - 1)
    return float(sum(logp[r, tok] for r, tok in zip(rows, answer, strict=True)) / len(answer))


def test_information_gain_matches_unbatched_reference(scored) -> None:
    policy, trajs, n, forwards = scored
    assert n == sum(len(t.turns) for t in trajs if len(t.turns) > 1)
    groups = len({t.group_id for t in trajs})
    assert forwards.count(n) == 1 and all(b <= groups for b in forwards if b != n)  # one batched pass (+ prefixes)
    checked = 0
    for traj in trajs:
        answer = policy.response_ids(traj.answer)
        s = [_mean_answer_logprob(policy.model, turn.prompt_ids, answer) for turn in traj.turns]
        for t, turn in enumerate(traj.turns[:-1]):
            # s_t is scored after turn t's observation = turn t+1's prompt; s_{-1} after turn 0's prompt
            assert turn.info_gain == pytest.approx(math.exp(s[t + 1]) - math.exp(s[t]), abs=1e-5)
            assert -1.0 <= turn.info_gain <= 1.0
            checked += 1
        assert traj.turns[-1].info_gain is None  # the last turn carries the outcome
    assert checked > 0


def test_scoring_needs_answers_and_model_policies() -> None:
    turns = [Turn("a", "o", 0.0, "s", prompt_ids=[1, 2]), Turn("b", "o", 1.0, "s", prompt_ids=[1, 2, 3])]
    with pytest.raises(ConfigError, match="answer"):
        score_information_gain(agentgym.load_policy("tiny"), [Trajectory("t", "g", turns=turns)])
    with pytest.raises(ConfigError, match="model policy"):
        score_information_gain(object(), [Trajectory("t", "g", turns=turns, answer="x")])


@pytest.mark.parametrize(("kind", "expected"), [
    # beliefs p = 0.1 -> 0.4 -> 0.3 -> 0.9 (s = log p): gains in probability ...
    ("prob", [0.3, -0.1, 0.6]),
    # ... or in log-probability: log 4, log 0.75, log 3
    ("logprob", [1.3862944, -0.2876821, 1.0986123]),
])
def test_information_gain_hand_values(monkeypatch, kind: str, expected: list[float]) -> None:
    """The gain between consecutive beliefs, on hand-made beliefs (the scoring
    pass replaced by its results)."""
    import agentgym.credit.scoring as scoring

    beliefs = [math.log(p) for p in (0.1, 0.4, 0.3, 0.9)]
    monkeypatch.setattr(scoring, "answer_scores", lambda policy, prompts, answers, **kw: beliefs[: len(prompts)])
    policy = type("P", (), {"model": None, "response_ids": lambda self, text: [7]})()
    turns = [Turn(f"a{t}", "o", 0.0, "s", prompt_ids=[1] * (t + 1)) for t in range(4)]
    traj = Trajectory("t", "g", turns=turns, answer="x")
    assert score_information_gain(policy, [traj], info_gain=kind) == 4
    assert [t.info_gain for t in traj.turns[:-1]] == pytest.approx(expected, abs=1e-6)
    assert traj.turns[-1].info_gain is None


def test_information_gain_in_log_probability_is_an_option(scored) -> None:
    policy, scored_trajs, _, _ = scored
    trajs = copy.deepcopy(scored_trajs)  # the fixture's stay scored by the default
    prob = [[t.info_gain for t in traj.turns] for traj in trajs]
    score_information_gain(policy, trajs, micro_batch_size=3, info_gain="logprob")
    for traj, gains in zip(trajs, prob, strict=True):
        for turn, g in zip(traj.turns[:-1], gains, strict=False):
            assert (g is None) == (turn.info_gain is None)
            if g is not None and abs(g) > 1e-6:
                assert turn.info_gain != pytest.approx(g) and math.copysign(1, turn.info_gain) == math.copysign(1, g)
    with pytest.raises(ConfigError, match="'prob'"):
        score_information_gain(policy, trajs, info_gain="ratio")
