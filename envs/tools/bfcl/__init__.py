"""BFCL multi-turn (``agentgym/BFCL-v0``): the Berkeley Function Calling Leaderboard's
multi-turn categories on BFCL's own stateful back-ends, graded as BFCL grades them.

Data, function docs and back-end classes come from the ``bfcl-eval`` package
(installed ``--no-deps`` by ``scripts/setup.sh``; never committed). The files:

* ``data.py`` — finding the package, the entries and their ground truth, the docs;
* ``schema.py`` — BFCL's docs as JSON-schema tools, and the argument check;
* ``backend.py`` — one episode's back-end instances, results as BFCL records them;
* ``tasks.py`` — the task generator (splits by scenario);
* ``reward.py`` — the grader (BFCL's state and response checks, turn by turn);
* ``env.py`` — the environment; ``oracle.py`` — the scripted policies;
* ``reference.py`` — BFCL's own checker on a trajectory, and perturbed gold
  trajectories (the agreement test).
"""

from agentgym.envs.tools.bfcl.data import BFCLUnavailableError, available
from agentgym.envs.tools.bfcl.env import BFCLEnv

__all__ = ["BFCLEnv", "BFCLUnavailableError", "available"]
