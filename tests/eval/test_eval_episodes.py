"""Saved evaluation episodes carry the real env id and the suite entry label
(issue 12, item 8); parallel evaluation is reproducible and never touches the
global torch RNG (item 7)."""

from __future__ import annotations

import json

import pytest

from agentgym.evaluation import evaluate
from agentgym.suites import SuiteEntry
from agentgym.trajectory import load_jsonl

GUESS = [SuiteEntry("GuessNumber-v0", "val", 3, {"difficulty": "easy"}),
         SuiteEntry("GuessNumber-v0", "val", 2, {"difficulty": "hard"})]


def _check_ids(path, entries) -> None:
    lines = path.read_text().splitlines()
    assert "<lambda>" not in "".join(lines)
    episodes = load_jsonl(path)
    labels = {e.label for e in entries}
    assert len(episodes) == sum(e.n_tasks for e in entries) * 2
    for t in episodes:
        assert t.env_id == "agentgym/GuessNumber-v0"
        entry, i = t.meta["eval"]["entry"], t.meta["eval"]["task_index"]
        assert entry in labels and t.meta["source"] == entry
        assert t.group_id == f"{entry}#{i}@0"
        assert t.task_id.endswith(f"/{i}")  # the task at index i of its entry
    assert json.loads(lines[0])["env_id"] == "agentgym/GuessNumber-v0"


def test_saved_episodes_carry_env_id_and_entry_label(tmp_path) -> None:
    evaluate("random", GUESS, episodes_per_task=2, chunk_tasks=2, out=tmp_path)
    _check_ids(tmp_path / "episodes.jsonl", GUESS)


def test_saved_episodes_through_remote_envs_carry_env_id(tmp_path, server_url) -> None:
    evaluate("oracle", GUESS, episodes_per_task=2, chunk_tasks=2, out=tmp_path, remote=server_url)
    _check_ids(tmp_path / "episodes.jsonl", GUESS)


def test_fixed_task_list_is_evaluated_through_task_at(tmp_path) -> None:
    import agentgym

    env = agentgym.make("GuessNumber-v0", split="val", difficulty="hard")
    fixed = [env.task_at(40).to_dict(), env.task_at(41).to_dict()]
    entry = SuiteEntry("GuessNumber-v0", "val", 3, {"tasks": fixed})
    evaluate("oracle", [entry], out=tmp_path)
    ids = [t.task_id for t in sorted(load_jsonl(tmp_path / "episodes.jsonl"), key=lambda t: t.meta["eval"]["task_index"])]
    assert ids == [fixed[0]["id"], fixed[1]["id"], fixed[0]["id"]]


# ---------------------------------------------------------------------------
# Item 7: reproducible parallel evaluation with a shared, sampling policy
# ---------------------------------------------------------------------------
def _episodes(tmp_path, name, policy, workers):
    evaluate(policy, GUESS, episodes_per_task=2, chunk_tasks=1, max_turns=3, workers=workers, out=tmp_path / name,
             report=False)
    return [(t.meta["eval"]["key"], [u.action for u in t.turns]) for t in
            sorted(load_jsonl(tmp_path / name / "episodes.jsonl"), key=lambda t: t.meta["eval"]["key"])]


def test_shared_random_policy_parallel_is_reproducible(tmp_path) -> None:
    from agentgym.policies.scripted import RandomPolicy

    policy = RandomPolicy(seed=0)  # one object, shared by every chunk and worker
    one = _episodes(tmp_path, "one", policy, 1)
    assert _episodes(tmp_path, "two-a", policy, 2) == one
    assert _episodes(tmp_path, "two-b", policy, 2) == one
    assert _episodes(tmp_path, "three", policy, 3) == one


@pytest.fixture(scope="module")
def sampling_tiny():
    import torch

    from agentgym.policies.hf import HFPolicy

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield HFPolicy.tiny(seed=0, temperature=1.0, max_new_tokens=8)
    torch.set_num_threads(before)


def test_sampling_hf_policy_parallel_is_reproducible_and_leaves_torch_rng_alone(tmp_path, sampling_tiny) -> None:
    import torch

    torch.manual_seed(1234)
    state = torch.random.get_rng_state()
    one = _episodes(tmp_path, "one", sampling_tiny, 1)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is the user's
    two_a = _episodes(tmp_path, "two-a", sampling_tiny, 2)
    two_b = _episodes(tmp_path, "two-b", sampling_tiny, 2)
    assert two_a == two_b == one
    assert torch.equal(torch.random.get_rng_state(), state)
    assert len({tuple(actions) for _, actions in one}) > 1  # it does sample
