"""CodeRepair-v0: fix injected bugs in real Python repositories; hidden tests, tamper-proof grading.

* ``workspace.py`` — the agent's repository copy: confined paths, reset by copy, snapshots and diffs.
* ``mutate.py``    — AST bug injection (operators, comparisons, constants, removals, swapped args, variables).
* ``tiny.py``      — three small packages written here: the default, fast task set.
* ``harness.py``   — a fast mutant checker for the tiny packages.
* ``issues.py``    — the issue text: failing behaviour as a user reports it.
* ``tasks.py``     — the task generator (tiny, built manifest, SWE-bench JSONL) and task preparation.
* ``grading.py``   — tamper-proof grading: source changes only, pristine checkout and tests, fresh sandbox.
* ``patches.py``   — unified diffs: make, parse, apply, as edit_file calls, SWE-RL similarity.
* ``reward.py``    — reward parts (tests, fraction, localisation, similarity).
* ``swebench.py``  — SWE-bench-style JSONL instances as tasks.
* ``env.py``       — the environment and its tools.
* ``oracle.py``    — the scripted expert (the reverse mutation as edit_file calls).
"""

from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.envs.code_repair.tasks import CodeRepairTasks

__all__ = ["CodeRepairEnv", "CodeRepairTasks"]
