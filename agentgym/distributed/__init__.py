"""Environment workers on Ray: envs that live in Ray actors, stepped in batches.

Optional: ``pip install 'agentgym[distributed]'`` (``ray[default]``). Nothing
else in agentgym imports Ray; this package imports it only when a pool starts.

    >>> import ray                                                   # doctest: +SKIP
    >>> from agentgym.distributed import RayEnvPool                  # doctest: +SKIP
    >>> ray.init(num_cpus=2)                                         # doctest: +SKIP
    >>> pool = RayEnvPool("GuessNumber-v0", workers=2, envs_per_worker=8, env_kwargs={"max_turns": 5})  # doctest: +SKIP
    >>> trajs = collect(pool.envs, policy, tasks=8, group_size=2, max_turns=5)  # doctest: +SKIP

:class:`RayEnvPool` hosts ``envs_per_worker`` envs of one id (or factory) and
kwargs in each of ``workers`` actors, placed by Ray's scheduler with the
resources asked for (``num_cpus``). ``pool.envs`` are ordinary env objects
(``reset``/``step``/``close``) usable wherever :func:`agentgym.rollout.collect`
takes env instances; they share ``pool`` as their ``batch_stepper``, so
``collect`` sends a turn's actions to each actor in one call. An actor that dies
fails the episodes it hosted (the run goes on, as with a local env that raises)
and is replaced; a step that takes longer than ``step_timeout`` fails its
episodes and the actor is replaced.
"""

from __future__ import annotations

from agentgym.distributed.pool import EnvWorkerDied, RayEnvPool, RayNotInstalled, StepTimeout

__all__ = ["RayEnvPool", "EnvWorkerDied", "StepTimeout", "RayNotInstalled"]
