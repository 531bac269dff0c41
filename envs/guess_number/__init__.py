"""GuessNumber: the hello-world family, and the worked example of writing an env.

Find a secret integer in a range; after each ``guess`` the env says "higher" or
"lower". Multi-turn, one tool, a ground-truth ``answer``, a canonical state key
and a binary-search oracle: everything a real family has, in ~150 lines. The
README's "Write your own environment" section walks through these files:

* ``tasks.py`` — the task generator (deterministic; disjoint splits).
* ``env.py``   — the environment: its tool, its reward, its state key.
* ``oracle.py`` — the scripted expert.
"""

from agentgym.envs.guess_number.env import GuessNumberEnv
from agentgym.envs.guess_number.tasks import GuessNumberTasks

__all__ = ["GuessNumberEnv", "GuessNumberTasks"]
