"""The rollout engine: groups, exact records, failure isolation, history window,
token budget, instance pools, JSONL output."""

from __future__ import annotations

import math
from collections import Counter

import pytest

import agentgym
from agentgym import Task, Trajectory, tool
from agentgym.errors import ConfigError, PolicyError
from agentgym.policy import Completion
from agentgym.rollout import collect, messages_before_turn
from agentgym.tasks import TaskGenerator
from agentgym.trajectory import load_jsonl


@pytest.fixture(scope="module")
def tiny_policy():
    import torch

    from agentgym.policies.hf import HFPolicy

    # A tiny model is latency-bound: a second intra-op thread on a loaded 2-core
    # machine makes it 10-30x slower (measured), not faster.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield HFPolicy.tiny(seed=0, max_new_tokens=12)
    torch.set_num_threads(before)


class Recorder:
    """A fake policy: fixed replies with fake token ids; remembers each call."""

    def __init__(self, reply: str = 'guess(number=-1)', n_ids: int = 3) -> None:
        self.reply, self.n_ids, self.calls = reply, n_ids, []

    def act(self, conversations, tools):
        self.calls.append([list(c) for c in conversations])
        return [
            Completion(self.reply, prompt_ids=[len(c)], response_ids=[7] * self.n_ids, logprobs=[-0.5] * self.n_ids)
            for c in conversations
        ]


# ---------------------------------------------------------------------------
# Scripted and tiny-model rollouts on GuessNumber
# ---------------------------------------------------------------------------
def test_trajectories_record_the_anchor_after_their_last_step() -> None:
    """GiGPO needs the state each turn led to; the last turn's is final_anchor."""
    seen: list[str] = []

    def factory():
        env = agentgym.make("GuessNumber-v0", split="val")
        step = env.step

        def recording_step(action):
            out = step(action)
            seen.append(out[4]["anchor"])
            return out

        env.step = recording_step
        return env

    (t,) = collect(factory, agentgym.load_policy("oracle"), tasks=1, group_size=1, split="val")
    assert len(t.turns) >= 2 and len(seen) == len(t.turns)
    assert [turn.anchor for turn in t.turns[1:]] == seen[:-1]
    assert t.final_anchor == seen[-1]


def test_oracle_solves_guess_number() -> None:
    trajs = collect("GuessNumber-v0", agentgym.load_policy("oracle"), tasks=6, group_size=2, split="val")
    assert len(trajs) == 12 and all(t.success and t.terminated and not t.failed for t in trajs)
    for t in trajs:
        # binary search over a width-16 range: at most ceil(log2(17)) = 5 guesses
        assert len(t.turns) <= math.ceil(math.log2(17))
        assert t.answer == t.turns[-1].action  # the final action is the ground truth
        assert t.turns[-1].reward_parts == {"success": 1.0}


def test_tiny_model_rollout_is_well_formed(tiny_policy) -> None:
    trajs = collect("GuessNumber-v0", tiny_policy, tasks=3, group_size=4, max_turns=3, seed=5)
    _check_well_formed(trajs, tiny_policy, "GuessNumber-v0", tasks=3, group_size=4)
    # Anchors are the state *before* each action: replay the actions in a fresh env.
    env = agentgym.make("GuessNumber-v0")
    for t in trajs:
        obs, info = env.reset(seed=t.seed, options={"task_index": t.meta["task_index"]})
        assert info["anchor"] == t.initial_anchor and obs == t.initial_observation
        for turn in t.turns:
            assert turn.anchor == env.state_key()
            obs, reward, *_ = env.step(turn.action)
            assert (obs, reward) == (turn.observation, turn.reward)


def _check_well_formed(trajs: list[Trajectory], policy, env_id: str, *, tasks: int, group_size: int) -> None:
    assert len(trajs) == tasks * group_size
    groups = Counter(t.group_id for t in trajs)
    assert len(groups) == tasks and set(groups.values()) == {group_size}
    for gid in groups:
        members = [t for t in trajs if t.group_id == gid]
        assert len({(t.task_id, t.seed, t.initial_observation) for t in members}) == 1
        assert sorted(t.meta["group_index"] for t in members) == list(range(group_size))
    env = agentgym.make(env_id)
    for t in trajs:
        assert not t.failed and t.turns and t.system and t.initial_observation
        assert t.env_id == f"agentgym/{env_id}" and t.metrics["turns"] == len(t.turns)
        for i, turn in enumerate(t.turns):
            assert len(turn.response_ids) == len(turn.logprobs) > 0
            assert all(lp <= 0 for lp in turn.logprobs)
            # the recorded prompt is exactly the one rebuilt from the trajectory
            assert turn.prompt_ids == policy.prompt_ids(messages_before_turn(t, i), env.tools)
            assert turn.prompt_ids == policy.prompt_ids(messages_before_turn(t, i), t.meta["tools"])
            assert math.isclose(turn.reward, sum(turn.reward_parts.values()))
            assert turn.action == policy.decode(turn.response_ids)


def test_ask_to_act_rollout_is_well_formed(tiny_policy) -> None:
    trajs = collect("AskToAct-v0", tiny_policy, tasks=2, group_size=3, max_turns=2)
    _check_well_formed(trajs, tiny_policy, "AskToAct-v0", tasks=2, group_size=3)


def test_one_batched_call_per_turn() -> None:
    policy = Recorder()
    collect("GuessNumber-v0", policy, tasks=3, group_size=2, max_turns=4)
    assert [len(c) for c in policy.calls] == [6, 6, 6, 6]


def test_same_seed_same_trajectories(tiny_policy) -> None:
    from agentgym.policies.hf import HFPolicy

    def run() -> list[list[int]]:
        p = HFPolicy(tiny_policy.model, tiny_policy.tokenizer, seed=11, max_new_tokens=8)
        return [turn.response_ids for t in collect("GuessNumber-v0", p, tasks=2, group_size=2, max_turns=2) for turn in t.turns]

    assert run() == run()


# ---------------------------------------------------------------------------
# Failures, limits, history
# ---------------------------------------------------------------------------
class _Tasks(TaskGenerator):
    family = "flaky"

    def generate(self, rng, difficulty, task_id):
        return Task(task_id, f"Task {task_id}: say ok three times.", "ok()", {"n": int(rng.integers(10**9))})


class FlakyEnv(agentgym.AgentEnv):
    """Raises (an env bug) on the second step of odd task indices."""

    family = "flaky"
    default_max_turns = 5

    def make_generator(self, seed):
        return _Tasks(seed)

    def on_reset(self, task):
        self.count = 0
        if "boom-reset" in task.id:
            raise RuntimeError("reset exploded")
        return task.prompt

    @tool
    def ok(self) -> str:
        """Say ok."""
        self.count += 1
        if self.count == 2 and self.task.id.endswith(("/1", "/3")):
            raise RuntimeError("the database went away")
        if self.count == 3:
            self.add_reward("success", 1.0)
            self.finish(success=True)
        return f"ok {self.count}"


def test_env_exceptions_fail_only_their_episode() -> None:
    trajs = collect(FlakyEnv, Recorder("ok()"), tasks=4, group_size=2)  # a class is a factory
    failed = [t for t in trajs if t.failed]
    assert {t.task_id.rsplit("/", 1)[1] for t in failed} == {"1", "3"} and len(failed) == 4
    for t in failed:
        assert "the database went away" in t.error and t.turns[-1].error and len(t.turns) == 2
        assert t.metrics["success"] == 0.0
    assert all(t.success and len(t.turns) == 3 for t in trajs if not t.failed)


def test_reset_exception_and_policy_error_completion() -> None:
    tasks = [Task("flaky/boom-reset", "x", "ok()"), Task("flaky/fine", "y", "ok()")]
    trajs = collect(FlakyEnv(), Recorder("ok()"), tasks=tasks)
    assert trajs[0].failed and "reset exploded" in trajs[0].error and not trajs[0].turns
    assert trajs[1].success

    class Broken:
        def act(self, conversations, tools):
            return [Completion("", finish_reason="error", error="server down") for _ in conversations]

    t = collect("GuessNumber-v0", Broken(), tasks=1)[0]
    assert t.failed and "server down" in t.error and not t.turns


def test_policy_contract_violations_raise() -> None:
    class Short:
        def act(self, conversations, tools):
            return []

    with pytest.raises(PolicyError, match="exactly one per conversation"):
        collect("GuessNumber-v0", Short(), tasks=2)
    with pytest.raises(ConfigError, match="history"):
        collect("GuessNumber-v0", Recorder(), history=-1)
    with pytest.raises(ConfigError, match="cannot run episodes"):
        collect(42, Recorder())


def test_history_window_keeps_system_task_and_last_k_turns() -> None:
    policy = Recorder()
    trajs = collect("GuessNumber-v0", policy, tasks=1, max_turns=5, history=2)
    convs = [c[0] for c in policy.calls]
    assert [len(c) for c in convs] == [2, 4, 6, 6, 6]
    last = convs[-1]
    assert last[0]["role"] == "system" and last[1]["content"] == trajs[0].initial_observation
    assert [m["role"] for m in last[2:]] == ["assistant", "user", "assistant", "user"]
    assert last[-1]["content"] == trajs[0].turns[3].observation
    assert messages_before_turn(trajs[0], 4) == last  # the window is saved with the trajectory
    assert len(messages_before_turn(trajs[0], 4, history="full")) == 10


def test_observation_role_tool() -> None:
    policy = Recorder()
    collect("GuessNumber-v0", policy, tasks=1, max_turns=2, observation_role="tool")
    assert [m["role"] for m in policy.calls[-1][0]] == ["system", "user", "assistant", "tool"]


def test_token_budget_truncates_cleanly() -> None:
    trajs = collect("GuessNumber-v0", Recorder(n_ids=10), tasks=2, max_tokens_per_episode=25, max_turns=10)
    for t in trajs:
        assert len(t.turns) == 3 and t.truncated and not t.terminated and not t.failed
        assert t.meta["truncated_by"] == "token_budget" and t.num_tokens == 30
        assert t.metrics["turns"] == 3 and t.metrics["guesses"] == 0  # the family's metrics too
        assert all(turn.observation for turn in t.turns)  # every turn complete


def test_factory_gets_no_arguments_and_envs_are_reused() -> None:
    made = []

    def factory():
        made.append(FlakyEnv(split="val"))
        return made[-1]

    trajs = collect(factory, Recorder("ok()"), tasks=[Task("flaky/a", "x", "ok()")] * 3, max_parallel=2)
    assert len(made) == 2 and all(t.success for t in trajs)


def test_max_turns_for_instances() -> None:
    env = agentgym.make("GuessNumber-v0")  # its own limit is 12; the engine enforces 2
    t = collect(env, Recorder(), tasks=1, max_turns=2)[0]
    assert len(t.turns) == 2 and t.truncated and t.meta["truncated_by"] == "max_turns"
    assert "guesses" in t.metrics
    t = collect("GuessNumber-v0", Recorder(), tasks=1, max_turns=2)[0]  # the env's own limit
    assert t.truncated and t.meta["truncated_by"] == "max_turns" and "guesses" in t.metrics


def test_instance_pool_and_max_parallel() -> None:
    envs = [agentgym.make("GuessNumber-v0"), agentgym.make("GuessNumber-v0")]
    policy = Recorder()
    trajs = collect(envs, policy, tasks=3, group_size=2, max_turns=2)
    assert len(trajs) == 6 and max(len(c) for c in policy.calls) == 2
    assert [t.meta["task_index"] for t in trajs] == [0, 0, 1, 1, 2, 2]
    policy = Recorder()
    collect("GuessNumber-v0", policy, tasks=5, max_turns=1, max_parallel=2)
    assert [len(c) for c in policy.calls] == [2, 2, 1]


def test_suite_entries_and_jsonl_output(tmp_path) -> None:
    entries = agentgym.get_suite("guess-number-v0").entries[:2]
    entries = [type(e)(e.env_id, e.split, 2, e.kwargs) for e in entries]
    out = tmp_path / "rollouts.jsonl"
    trajs = collect(entries, agentgym.load_policy("oracle"), group_size=2, out=out)
    assert len(trajs) == 8 and all(t.success for t in trajs)
    assert {t.task_id.split("/")[2] for t in trajs} == {"easy", "medium"}
    assert all(t.task_id.split("/")[1] == "val" for t in trajs)
    saved = sorted(load_jsonl(out), key=lambda t: (t.group_id, t.meta["group_index"]))
    assert [t.to_dict() for t in saved] == [t.to_dict() for t in sorted(trajs, key=lambda t: (t.group_id, t.meta["group_index"]))]


def test_random_policy_emits_valid_calls() -> None:
    trajs = collect("GuessNumber-v0", agentgym.load_policy("random:1"), tasks=4, max_turns=6)
    turns = [turn for t in trajs for turn in t.turns]
    assert all(turn.error != "no_tool_call" and turn.error != "bad_arguments" for turn in turns)
    assert sum(turn.action_valid for turn in turns) > len(turns) / 2


def test_scripted_policy_by_name() -> None:
    t = collect("GuessNumber-v0", agentgym.load_policy("scripted:random"), tasks=1, max_turns=3, env_kwargs={"difficulty": "hard"})[0]
    assert len(t.turns) == 3 and all(turn.action_valid for turn in t.turns)
    with pytest.raises(ConfigError, match="no scripted policy"):
        collect("GuessNumber-v0", agentgym.load_policy("scripted:nope"), tasks=1)
