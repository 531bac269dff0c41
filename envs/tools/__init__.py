"""ToolCalls: stateful APIs behind JSON-schema tools (``agentgym/ToolCalls-v0``).

Four deterministic, pure-Python back-ends (bank, shop, calendar, files), eight
task categories, a simulated user, and grading by final state, AST-style call
checks, the reply's facts and forbidden actions. The files:

* ``schema.py`` — JSON-schema builders and the argument validator;
* ``store.py`` — the journaled state (undo, net changes);
* ``backends/`` — the four domains: worlds, tools, policies;
* ``scenarios/`` — per domain and category, the conversations and gold plans;
* ``tasks.py`` — the task generator (categories, disjoint splits, gold replay);
* ``user.py`` — the scripted user and the policy-backed one;
* ``reward.py`` — the grader;
* ``env.py`` — the environment; ``oracle.py`` — the scripted policies.
"""

from agentgym.envs.tools.env import ToolCallsEnv
from agentgym.envs.tools.tasks import CATEGORIES, ToolCallsTasks

__all__ = ["CATEGORIES", "ToolCallsEnv", "ToolCallsTasks"]
