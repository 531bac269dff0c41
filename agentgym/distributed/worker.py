"""The Ray actor that hosts a worker's envs (imported only where Ray runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Raised:
    """An exception raised by a hosted env, as a plain value that pickles whatever
    the exception was (the caller rebuilds one of the same class name)."""

    def __init__(self, e: BaseException) -> None:
        self.type_name, self.message = type(e).__name__, str(e)


class EnvWorker:
    """Hosts ``n`` envs built by ``make_env()``; methods take slot numbers.

    Wrapped in ``ray.remote`` by :class:`agentgym.distributed.RayEnvPool`.
    """

    def __init__(self, make_env: Callable[[], Any], n: int, threads: int | None = None) -> None:
        self.envs = [make_env() for _ in range(n)]
        base = getattr(self.envs[0], "unwrapped", self.envs[0])
        self.threads = threads if threads is not None else int(getattr(base, "step_threads", 1) or 1)
        self._pool: Any = None

    def ping(self) -> int:
        import os

        return os.getpid()

    def describe(self) -> dict[str, Any]:
        from agentgym.rollout import _env_id_of

        base = getattr(self.envs[0], "unwrapped", self.envs[0])
        return {"env_id": _env_id_of(self.envs[0]), "tools": list(getattr(base, "tools", None) or [])}

    def reset(self, slot: int, seed: int | None, options: dict[str, Any] | None) -> Any:
        env = self.envs[slot]
        try:
            obs, info = env.reset(seed=seed, options=options)
        except Exception as e:
            return Raised(e)
        task = getattr(getattr(env, "unwrapped", env), "task", None)
        return obs, info, task

    def _step(self, slot: int, action: str) -> Any:
        try:
            return self.envs[slot].step(action)
        except Exception as e:
            return Raised(e)

    def step_batch(self, slots: list[int], actions: list[str]) -> list[Any]:
        """One turn's steps of this worker's envs (threaded when the env declares
        ``step_threads``), results in order."""
        if self.threads > 1 and len(slots) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=self.threads)
            return list(self._pool.map(self._step, slots, actions))
        return [self._step(s, a) for s, a in zip(slots, actions, strict=True)]

    def episode_metrics(self, slot: int) -> Any:
        env = self.envs[slot]
        family = getattr(getattr(env, "unwrapped", env), "episode_metrics", None)
        if not callable(family):
            return None
        try:
            return dict(family())
        except Exception as e:
            return Raised(e)

    def scripted_action(self, slot: int, name: str) -> Any:
        env = self.envs[slot]
        try:
            return getattr(env, "unwrapped", env).scripted_action(name)
        except Exception as e:
            return Raised(e)

    def close(self) -> None:
        for env in self.envs:
            try:
                env.close()
            except Exception:  # closing must not hide anything
                pass
