"""GuessNumber-v0, the hello-world: its suites, and its oracle at every level."""

from __future__ import annotations

import agentgym
from agentgym.testing import check_oracle_success


def test_core_suites_say_what_they_hold() -> None:
    """``core-v0`` is not "every family" (issue 13, item 12): its description
    names the envs it holds and says GuessNumber is left out, and where it is."""
    for name, split in (("core-v0", "val"), ("core-test-v0", "test")):
        suite = agentgym.get_suite(name)
        envs = {e.env_id.removeprefix("agentgym/") for e in suite}
        assert envs == {"AskToAct-v0", "SQL-v0"} and {e.split for e in suite} == {split}
        assert all(env in suite.description for env in envs)
        assert "Not GuessNumber" in suite.description and "guess-number-v0" in suite.description
        assert "every family" not in suite.description.lower()
    assert {e.env_id for e in agentgym.get_suite("guess-number-v0")} == {"agentgym/GuessNumber-v0"}


def test_oracle_solves_every_level() -> None:
    rates = check_oracle_success(agentgym.make("GuessNumber-v0", split="test"), seeds=range(6))
    assert rates == {"easy": 1.0, "medium": 1.0, "hard": 1.0}


def test_reward_is_composed_and_the_trainers_weights_work_on_its_parts() -> None:
    """Issue 17: the reward is an agentgym.rewards.Reward; TrainConfig.reward_weights
    (reweight_rewards) reweights the parts it reports."""
    from agentgym.credit import reweight_rewards
    from agentgym.envs.guess_number.env import REWARD, GuessNumberEnv
    from agentgym.policies.scripted import RandomPolicy
    from agentgym.rollout import collect

    assert GuessNumberEnv.reward is REWARD and REWARD.names == ["success"]
    assert REWARD.parts[0].when == "outcome"
    trajs = collect("GuessNumber-v0", RandomPolicy(0), tasks=4, group_size=2, max_turns=6, split="val")
    parts = [t.reward_parts for traj in trajs for t in traj.turns]
    assert {"invalid_action"} in [set(p) for p in parts]  # random calls leave the range sometimes
    assert all(set(p) <= {"success", "invalid_action"} for p in parts)
    plain = reweight_rewards(trajs, {"invalid_action": 0.0, "success": 2.0})
    for traj, new in zip(trajs, plain, strict=True):
        assert new.episode_return == 2.0 * sum(t.reward_parts.get("success", 0.0) for t in traj.turns)
        assert reweight_rewards([traj], {})[0].episode_return == traj.episode_return


def test_a_subclass_shapes_the_reward_with_a_per_turn_part() -> None:
    from agentgym.envs.guess_number.env import REWARD, GuessNumberEnv
    from agentgym.rewards import Part, Reward
    from agentgym.tools import ToolCall

    class Shaped(GuessNumberEnv):
        reward = Reward([*REWARD.parts, Part("wrong_guess", lambda right: not right, weight=-0.01, when="turn",
                                             omit_zero=True)])

    env = Shaped(split="val")
    env.reset(seed=0)
    low = env.task.meta["low"]
    wrong = low if env.secret != low else low + 1
    _, reward, *_, info = env.step(ToolCall("guess", {"number": wrong}).render())
    assert info["reward_parts"] == {"wrong_guess": -0.01} and reward == -0.01
    _, reward, terminated, _, info = env.step(env.task.answer)
    assert info["reward_parts"] == {"success": 1.0} and terminated
