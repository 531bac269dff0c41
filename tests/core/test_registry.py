"""Registry, entry-point plugins and suites."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest

import agentgym
from agentgym import get_suite
from agentgym.errors import ConfigError, RegistryError, UnknownEnvError, UnknownSuiteError
from agentgym.suites import SuiteEntry, register_suite


def test_make_through_both_doors() -> None:
    env = agentgym.make("GuessNumber-v0", split="val", difficulty="hard")
    assert env.split == "val" and env.difficulty == "hard"
    assert env.spec is not None and env.spec.id == "agentgym/GuessNumber-v0"
    assert env.spec.kwargs["difficulty"] == "hard"
    wrapped = gym.make("agentgym/GuessNumber-v0", split="val")
    assert wrapped.unwrapped.split == "val"
    assert agentgym.make("agentgym/GuessNumber-v0").split == "train"  # namespace optional


def test_unknown_id_suggests_the_right_one() -> None:
    with pytest.raises(UnknownEnvError, match="Did you mean 'agentgym/GuessNumber-v0'"):
        agentgym.make("GuesNumber-v0")


def test_list_envs_has_descriptions() -> None:
    from agentgym.registry import env_description

    specs = {s.id: s for s in agentgym.list_envs()}
    assert env_description(specs["agentgym/GuessNumber-v0"])
    assert specs["agentgym/GuessNumber-v0"] is gym.spec("agentgym/GuessNumber-v0")  # one registry: gymnasium's


def test_register_conflicts_and_override() -> None:
    agentgym.register("TmpEnv-v0", "agentgym.envs.guess_number.env:GuessNumberEnv", description="tmp")
    agentgym.register("TmpEnv-v0", "agentgym.envs.guess_number.env:GuessNumberEnv")  # idempotent
    with pytest.raises(RegistryError, match="override=True"):
        agentgym.register("TmpEnv-v0", "somewhere.else:Env")
    agentgym.register("TmpEnv-v0", "agentgym.envs.guess_number.env:GuessNumberEnv", override=True, max_turns=3)
    try:
        assert agentgym.make("TmpEnv-v0").max_turns == 3
        assert gym.make("agentgym/TmpEnv-v0").unwrapped.max_turns == 3  # one registry, gymnasium's
        assert agentgym.make("TmpEnv-v0", max_turns=5).spec.kwargs["max_turns"] == 5  # gymnasium merges kwargs
    finally:
        del gym.registry["agentgym/TmpEnv-v0"]  # other tests look envs up by class


def test_suites() -> None:
    suite = get_suite("guess-number-v0")
    assert suite.version == "v0" and len(suite) == 3
    assert {e.kwargs["difficulty"] for e in suite} == {"easy", "medium", "hard"}
    assert all(e.env_id == "agentgym/GuessNumber-v0" and e.split == "val" for e in suite)
    with pytest.raises(UnknownSuiteError, match="Did you mean 'guess-number-v0'"):
        get_suite("guess-numbr-v0")
    with pytest.raises(ConfigError, match="split"):
        SuiteEntry("GuessNumber-v0", "dev", 3)  # type: ignore[arg-type]
    register_suite("tmp-v0", [SuiteEntry("GuessNumber-v0", "val", 2)])
    register_suite("tmp-v0", [SuiteEntry("GuessNumber-v0", "test", 2)], extend=True)
    assert [e.split for e in get_suite("tmp-v0")] == ["val", "test"]
    with pytest.raises(RegistryError):
        register_suite("tmp-v0", [SuiteEntry("GuessNumber-v0", "train", 1)])


PLUGIN_ENV = '''
from agentgym import AgentEnv, Task, TaskGenerator, tool


class EchoTasks(TaskGenerator):
    family = "echo"

    def generate(self, rng, difficulty, task_id):
        word = "".join(rng.choice(list("abcdefgh"), size=6))
        return Task(task_id, f"Say {word}.", f"say({word!r})", {"word": word})


class EchoEnv(AgentEnv):
    family = "echo"
    instructions = "Repeat the word."

    def make_generator(self, seed):
        return EchoTasks(seed)

    def on_reset(self, task):
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
        return "ok" if ok else "wrong"


def register():
    import agentgym
    agentgym.register("Echo-v0", "echo_plugin:EchoEnv", description="third-party echo")
'''


@pytest.mark.slow
def test_third_party_entry_point_plugin(tmp_path: Path) -> None:
    """A separately installed package registers its env through the
    `agentgym.envs` entry-point group; `import agentgym` alone makes it available."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "echo_plugin.py").write_text(PLUGIN_ENV)
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "echo-plugin"
            version = "0.0.1"
            [tool.setuptools]
            py-modules = ["echo_plugin"]
            [project.entry-points."agentgym.envs"]
            echo = "echo_plugin:register"
            """
        )
    )
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(src)],
        check=True,
        capture_output=True,
    )
    code = textwrap.dedent(
        """
        import gymnasium, agentgym
        from agentgym.testing import check_agent_env
        assert "agentgym/Echo-v0" in [e.id for e in agentgym.list_envs()]
        env = gymnasium.make("agentgym/Echo-v0")
        obs, info = env.reset(seed=0)
        word = env.unwrapped.task.meta["word"]
        print(env.step(f"say({word!r})")[1])
        check_agent_env("Echo-v0")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1.0"
