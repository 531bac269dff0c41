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
