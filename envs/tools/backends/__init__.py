"""The four ToolCalls back-ends, by domain name, and every tool they declare.

Tool names are unique across domains (a distractor task shows the tools of
two domains at once).
"""

from __future__ import annotations

from agentgym.envs.tools.backends.bank import Bank
from agentgym.envs.tools.backends.base import Api, Backend, World
from agentgym.envs.tools.backends.calendar import Calendar
from agentgym.envs.tools.backends.files import Files
from agentgym.envs.tools.backends.shop import Shop

__all__ = ["ALL_APIS", "BACKENDS", "Api", "Backend", "World"]

BACKENDS: dict[str, type[Backend]] = {"bank": Bank, "shop": Shop, "calendar": Calendar, "files": Files}

ALL_APIS: dict[str, Api] = {}
for _cls in BACKENDS.values():
    for _name, _api in _cls.apis.items():
        if _name in ALL_APIS:
            raise TypeError(f"tool {_name!r} is declared by two back-ends")
        ALL_APIS[_name] = _api
