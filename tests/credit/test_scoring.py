"""IGPO scoring: one batched teacher-forced pass equals a per-prompt computation."""

from __future__ import annotations

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
    # Batch size of each forward: one batched pass over every prompt, plus (when the
    # prompts share a system prompt) one batch-1 pass over that shared prefix.
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
    assert sorted(forwards)[-1] > 1 and sorted(forwards)[:-1] in ([], [1])  # one batched pass (+ shared prefix)
    assert n == sum(len(t.turns) for t in trajs if len(t.turns) > 1)
    checked = 0
    for traj in trajs:
        answer = policy.response_ids(traj.answer)
        s = [_mean_answer_logprob(policy.model, turn.prompt_ids, answer) for turn in traj.turns]
        for t, turn in enumerate(traj.turns[:-1]):
            # s_t is scored after turn t's observation = turn t+1's prompt; s_{-1} after turn 0's prompt
            assert turn.info_gain == pytest.approx(s[t + 1] - s[t], abs=1e-4)
            checked += 1
        assert traj.turns[-1].info_gain is None  # the last turn carries the outcome
    assert checked > 0


def test_scoring_needs_answers_and_model_policies() -> None:
    turns = [Turn("a", "o", 0.0, "s", prompt_ids=[1, 2]), Turn("b", "o", 1.0, "s", prompt_ids=[1, 2, 3])]
    with pytest.raises(ConfigError, match="answer"):
        score_information_gain(agentgym.load_policy("tiny"), [Trajectory("t", "g", turns=turns)])
    with pytest.raises(ConfigError, match="model policy"):
        score_information_gain(object(), [Trajectory("t", "g", turns=turns, answer="x")])
