"""AskToAct: an embodied ask-for-help environment (``agentgym/AskToAct-v0``).

After Ramrakhya et al. (2025), "Grounding Multimodal LLMs to Embodied Agents
that Ask for Help with Reinforcement Learning": fetch a *specific* object from
an ambiguous request in a procedurally generated text home, under partial
observability, asking minimal yet relevant questions.

* ``home.py``   — procedural homes and difficulty levels.
* ``tasks.py``  — the task generator (ambiguous / observable / control tasks).
* ``user.py``   — the simulated user (a protocol; rule-based by default).
* ``reward.py`` — the question reward (pluggable; information gain by default).
* ``env.py``    — the environment: tools, episode, state key, metrics.
* ``oracle.py`` — the expert and the never-ask / always-ask baselines.
"""

from agentgym.envs.embodied.env import AskToActEnv
from agentgym.envs.embodied.tasks import AskToActTasks

__all__ = ["AskToActEnv", "AskToActTasks"]
