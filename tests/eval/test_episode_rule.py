"""Training's ``val/*`` figures and ``agentgym eval`` agree on the same episodes,
failed ones included (issue 12, item 6): one rule, one function."""

from __future__ import annotations

import pytest

from agentgym.evaluation import evaluate
from agentgym.evaluation.summary import entry_result
from agentgym.policy import Completion
from agentgym.rollout import collect
from agentgym.suites import SuiteEntry
from agentgym.train.loop import rollout_metrics
from agentgym.trajectory import Trajectory, Turn


def _episodes() -> list[Trajectory]:
    def turn(valid: bool = True, reward: float = 0.0) -> Turn:
        return Turn("a", "o", reward, "k", response_ids=[1, 2], action_valid=valid)

    return [
        Trajectory("t0", "g0", turns=[turn(), turn(reward=1.0)], metrics={"success": 1.0}),
        Trajectory("t1", "g1", turns=[turn(valid=False)], metrics={"success": 0.0}),
        Trajectory("t2", "g2", turns=[turn(reward=1.0)], metrics={"success": 1.0}),
        # An env exception ended this one; its metrics must not make it a success.
        Trajectory("t3", "g3", turns=[turn(valid=False), turn()], metrics={"success": 1.0}, failed=True, error="boom"),
    ]


def _as_eval(episodes: list[Trajectory]) -> list[Trajectory]:
    for i, t in enumerate(episodes):
        t.meta["eval"] = {"key": f"e#{i}#0", "entry": "e", "task_index": i, "episode": 0}
    return episodes


def test_training_validation_and_eval_use_one_rule() -> None:
    val = rollout_metrics(_episodes(), prefix="val/")
    figures = entry_result(SuiteEntry("GuessNumber-v0", "val", 4), _as_eval(_episodes()), k_max=1, seed=0,
                           confidence=0.95, n_boot=50).figures
    same = {  # training's key, eval's figure, the value by hand
        "success": (figures.success.mean, 0.5),  # 2 of 4: the failed episode is a failure
        "failed": (figures.failed_episodes, 1),
        "episodes": (figures.episodes, 4),
        "return": (figures.mean_reward, 0.5),
        "turns": (figures.mean_turns, 1.5),
        "invalid_frac": (figures.invalid_action_rate, 2 / 6),
    }
    for key, (figure, by_hand) in same.items():
        assert val[f"val/{key}"] == pytest.approx(by_hand) and figure == pytest.approx(by_hand), key
    assert val["val/response_tokens"] == 12 and figures.tokens_per_episode == 3.0


def test_episode_totals_and_means() -> None:
    from agentgym.evaluation.summary import episode_means, episode_success, episode_totals

    episodes = _episodes()
    totals = episode_totals(episodes)
    assert totals == {"episodes": 4, "failed": 1, "success": 2, "return": 2.0, "turns": 6, "invalid": 2, "tokens": 12}
    assert [episode_success(t) for t in episodes] == [1.0, 0.0, 1.0, 0.0]
    means = episode_means(totals)
    assert means["failed_frac"] == 0.25 and means["tokens"] == 3.0
    assert episode_means(episode_totals([]))["success"] == 0.0


class _CrashOnOddTasks:
    """The oracle, except that on every other task its reply makes TestCrashy's step raise."""

    needs_env = True

    def act(self, conversations, tools, envs):
        out = []
        for env in envs:
            task = env.unwrapped.task
            odd = int(task.id.rsplit("/", 1)[1]) % 2
            out.append(Completion("crash" if odd else env.unwrapped.scripted_action("oracle")))
        return out


def test_the_same_tasks_give_the_same_success_in_training_and_eval() -> None:
    entry = SuiteEntry("TestCrashy-v0", "val", 6)
    policy = _CrashOnOddTasks()
    trajectories = collect("TestCrashy-v0", policy, tasks=6, split="val")
    assert sum(t.failed for t in trajectories) == 3 and sum(t.success for t in trajectories) == 3
    val = rollout_metrics(trajectories, prefix="val/")
    res = evaluate(policy, [entry])
    assert res.entries[0].figures.failed_episodes == val["val/failed"]
    assert res.entries[0].figures.success.mean == pytest.approx(val["val/success"]) == 0.5
    assert res.entries[0].figures.episodes == val["val/episodes"] == 6
