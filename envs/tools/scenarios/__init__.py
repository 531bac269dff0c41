"""Scenario builders of ToolCalls: per domain, per category (see :mod:`.common`)."""

from __future__ import annotations

from agentgym.envs.tools.scenarios import bank, calendar, files, shop
from agentgym.envs.tools.scenarios.common import Builder, Skip

__all__ = ["BUILDERS", "CATEGORIES", "Builder", "Skip"]

CATEGORIES = ("single", "distractor", "parallel", "chained", "irrelevance", "missing_info", "multi_turn", "policy")

BUILDERS: dict[str, dict[str, tuple[Builder, ...]]] = {
    "bank": bank.BUILDERS, "shop": shop.BUILDERS, "calendar": calendar.BUILDERS, "files": files.BUILDERS,
}
for _domain, _table in BUILDERS.items():
    assert set(_table) == set(CATEGORIES), (_domain, set(CATEGORIES) ^ set(_table))
