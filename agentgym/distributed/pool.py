"""RayEnvPool: envs hosted in Ray actors, stepped in one batched call per actor."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from agentgym.errors import AgentGymError, ConfigError

__all__ = ["RayEnvPool", "RayEnv", "EnvWorkerDied", "StepTimeout", "RayNotInstalled"]

logger = logging.getLogger(__name__)


class RayNotInstalled(AgentGymError, ImportError):
    """Ray is missing: ``pip install 'agentgym[distributed]'``."""


class EnvWorkerDied(RuntimeError):
    """The Ray actor hosting an env died (or was replaced) during its episode."""


class StepTimeout(RuntimeError):
    """An env step (or reset) in a Ray actor took longer than the pool's timeout."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise RayNotInstalled(
            "agentgym.distributed needs Ray: pip install 'agentgym[distributed]' (or 'ray[default]')."
        ) from e
    return ray


_RAISED: dict[str, type[Exception]] = {}


def _rebuild(raised: Any) -> Exception:
    """An exception with the class name and message the hosted env raised, so a
    failed episode's error text is the one a local run records."""
    cls = _RAISED.setdefault(raised.type_name, type(raised.type_name, (RuntimeError,), {}))
    return cls(raised.message)


class RayEnv:
    """One env hosted by a :class:`RayEnvPool` worker (a handle: ``reset``,
    ``step``, ``episode_metrics``, ``close``). Its ``batch_stepper`` is the pool,
    so :func:`agentgym.rollout.collect` steps a turn's envs in one call per actor."""

    spec = None

    def __init__(self, pool: RayEnvPool, worker: int, slot: int) -> None:
        self.pool, self.worker, self.slot = pool, worker, slot
        self.generation = -1  # the worker generation this env's episode was reset on
        self.task: Any = None
        self.tools: list[dict[str, Any]] = []
        self.leased = False

    @property
    def env_id(self) -> str:
        return self.pool.env_id

    @property
    def batch_stepper(self) -> RayEnvPool:
        return self.pool

    @property
    def step_threads(self) -> int:
        return self.pool.step_threads  # resets go out concurrently

    @property
    def unwrapped(self) -> RayEnv:
        return self

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        return self.pool._reset(self, seed, options)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        result = self.pool.step_many([self], [action])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def episode_metrics(self) -> dict[str, float]:
        return self.pool._episode_metrics(self)

    def scripted_action(self, name: str = "oracle") -> str:
        """The hosted env's scripted action (its oracle, ...), so scripted
        policies (``needs_env=True``) play envs that live in actors."""
        return self.pool._scripted_action(self, name)

    def close(self) -> None:
        """Give a leased env back to the pool (the actor keeps running)."""
        self.pool._give_back(self)

    def __repr__(self) -> str:
        return f"RayEnv({self.env_id!r}, worker={self.worker}, slot={self.slot})"


class RayEnvPool:
    """``workers`` Ray actors, each hosting ``envs_per_worker`` envs of one id (or
    factory) and kwargs.

    Args:
        env: A registered env id (built in the actor with ``agentgym.make(env,
            split=split, **env_kwargs)``, as ``collect`` builds it) or a picklable
            zero-argument-plus-kwargs factory (a class).
        workers: Actors to start (more start on demand through :meth:`lease`).
        envs_per_worker: Envs each actor hosts.
        env_kwargs: Constructor keywords of every env. Give ``max_turns`` here
            when ``collect(..., max_turns=)`` should match a local run exactly
            (``collect`` passes it only to envs it builds itself).
        split: Task split of envs built from an id.
        num_cpus: Ray resource request of each actor (placement by Ray's scheduler).
        resources: Other Ray resources of each actor (e.g. ``{"browser": 1}``).
        step_timeout: Seconds a turn's batched step may take; past it the
            actor's episodes fail (:class:`StepTimeout`) and it is replaced.
        reset_timeout: The same for a reset (default: ``step_timeout``).
        start_timeout: Seconds a new actor may take to start (a Python process
            that imports agentgym and builds its envs) before its first reset.
        worker_threads: Threads inside each actor for a batch (default: what
            the env declares in ``step_threads``, else 1).
        address: Ray cluster to join when Ray is not initialized yet (``"auto"``,
            ``"ray://host:10001"``); None starts a local one.

    >>> pool = RayEnvPool("GuessNumber-v0", workers=2, envs_per_worker=4)  # doctest: +SKIP
    >>> collect(pool.envs, policy, tasks=8)                                # doctest: +SKIP
    >>> pool.close()                                                       # doctest: +SKIP
    """

    def __init__(
        self,
        env: str | Callable[..., Any],
        *,
        workers: int = 1,
        envs_per_worker: int = 1,
        env_kwargs: dict[str, Any] | None = None,
        split: str = "train",
        num_cpus: float = 1.0,
        resources: dict[str, float] | None = None,
        step_timeout: float = 120.0,
        reset_timeout: float | None = None,
        start_timeout: float = 120.0,
        worker_threads: int | None = None,
        address: str | None = None,
    ) -> None:
        if workers < 1 or envs_per_worker < 1:
            raise ConfigError(f"workers and envs_per_worker must be >= 1, got {workers} and {envs_per_worker}.")
        if step_timeout <= 0 or start_timeout <= 0:
            raise ConfigError(f"step_timeout and start_timeout must be > 0 seconds, got {step_timeout} and {start_timeout}.")
        ray = _ray()
        if not ray.is_initialized():
            if address is None and not os.environ.get("RAY_ADDRESS"):
                from agentgym.distributed.cluster import start_local

                start_local(num_cpus=os.cpu_count() or 1)  # a new local node; says why if it cannot start
            else:
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        from agentgym.distributed.worker import EnvWorker

        kwargs = dict(env_kwargs or {})
        if isinstance(env, str):
            from agentgym.registry import make

            env_id = env if "/" in env else f"agentgym/{env}"
            self._make_env: Callable[[], Any] = functools.partial(make, env_id, split=split, **kwargs)
        elif callable(env):
            self._make_env = functools.partial(env, **kwargs)
        else:
            raise ConfigError(f"env must be a registered env id or an env factory, got {type(env).__name__}.")
        self.envs_per_worker = envs_per_worker
        self.step_timeout = step_timeout
        self.reset_timeout = reset_timeout if reset_timeout is not None else step_timeout
        self.start_timeout = start_timeout
        self.worker_threads = worker_threads
        self.step_threads = 64  # resets and batches of different actors go out concurrently
        self._actor = ray.remote(EnvWorker).options(
            num_cpus=num_cpus, resources=resources or {}, max_restarts=0, max_concurrency=1
        )
        self._lock = threading.RLock()
        self._workers: list[Any] = []
        self._generation: list[int] = []
        self._started: list[bool] = []  # the current actor of each worker answered a ping
        self.envs: list[RayEnv] = []
        self._free: list[RayEnv] = []
        self.replaced = 0  # actors replaced (died or stuck)
        for _ in range(workers):
            self._add_worker()
        self._get([w.ping.remote() for w in self._workers], self.start_timeout)  # surface start errors now
        self._started = [True] * len(self._workers)
        info = self._get(self._workers[0].describe.remote(), self.reset_timeout)
        self.env_id: str = info["env_id"]
        for e in self.envs:
            e.tools = list(info["tools"])

    # -- actors ----------------------------------------------------------
    def _add_worker(self) -> int:
        with self._lock:
            wi = len(self._workers)
            self._workers.append(self._actor.remote(self._make_env, self.envs_per_worker, self.worker_threads))
            self._generation.append(0)
            self._started.append(False)
            new = [RayEnv(self, wi, s) for s in range(self.envs_per_worker)]
            self.envs.extend(new)
            self._free.extend(reversed(new))
            return wi

    def _replace(self, wi: int, generation: int, why: str) -> None:
        """Kill worker ``wi`` and start a fresh one in its place (once per generation)."""
        ray = _ray()
        with self._lock:
            if self._generation[wi] != generation:
                return  # another thread already replaced it
            logger.warning("env worker %d (%s): %s; replacing it", wi, self.env_id, why)
            try:
                ray.kill(self._workers[wi], no_restart=True)
            except Exception:  # already gone
                logger.debug("kill failed", exc_info=True)
            self._workers[wi] = self._actor.remote(self._make_env, self.envs_per_worker, self.worker_threads)
            self._generation[wi] += 1
            self._started[wi] = False
            self.replaced += 1

    def worker_handle(self, wi: int) -> Any:
        """The Ray actor handle of worker ``wi`` (tests kill it to simulate a crash)."""
        return self._workers[wi]

    def _get(self, ref: Any, timeout: float) -> Any:
        return _ray().get(ref, timeout=timeout)

    # -- what RayEnv calls ------------------------------------------------
    def _wait_started(self, wi: int, handle: Any, generation: int) -> None:
        """Give a new actor ``start_timeout`` to come up before the first call
        that has only ``reset_timeout`` (a replacement starts while the run goes on)."""
        if self._started[wi]:
            return
        _ray().get(handle.ping.remote(), timeout=self.start_timeout)
        with self._lock:
            if self._generation[wi] == generation:
                self._started[wi] = True

    def _reset(self, env: RayEnv, seed: int | None, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        ray = _ray()
        for attempt in (0, 1):  # a worker found dead at reset is replaced and the reset retried once
            with self._lock:
                handle, generation = self._workers[env.worker], self._generation[env.worker]
            try:
                self._wait_started(env.worker, handle, generation)
                out = ray.get(handle.reset.remote(env.slot, seed, options), timeout=self.reset_timeout)
            except ray.exceptions.GetTimeoutError as e:
                self._replace(env.worker, generation, "a start or reset took too long")
                raise StepTimeout(f"reset took more than {self.reset_timeout} s (or the actor more than "
                                  f"{self.start_timeout} s to start) in env worker {env.worker}") from e
            except ray.exceptions.RayError as e:
                self._replace(env.worker, generation, f"died ({type(e).__name__})")
                if attempt:
                    raise EnvWorkerDied(f"env worker {env.worker} died at reset: {e}") from e
                continue
            if type(out).__name__ == "Raised":
                raise _rebuild(out)
            obs, info, env.task = out
            env.generation = generation
            if info.get("tools"):
                env.tools = list(info["tools"])
            return obs, info
        raise AssertionError("unreachable")

    def step_many(self, envs: Sequence[RayEnv], actions: Sequence[str]) -> list[Any]:
        """One step of each env: each worker gets its envs' actions in one call; all
        workers' calls run at once. Returns, in order, the step's result or the
        exception that ends that env's episode (:class:`EnvWorkerDied`,
        :class:`StepTimeout`, or the env's own, rebuilt by class name)."""
        ray = _ray()
        results: list[Any] = [None] * len(envs)
        calls: dict[int, list[int]] = {}
        for i, env in enumerate(envs):
            calls.setdefault(env.worker, []).append(i)
        refs: dict[Any, tuple[int, int, list[int]]] = {}
        with self._lock:
            for wi, positions in calls.items():
                generation = self._generation[wi]
                live = [i for i in positions if envs[i].generation == generation]
                for i in positions:
                    if envs[i].generation != generation:
                        results[i] = EnvWorkerDied(f"env worker {wi} was replaced during this episode")
                if live:
                    ref = self._workers[wi].step_batch.remote([envs[i].slot for i in live], [actions[i] for i in live])
                    refs[ref] = (wi, generation, live)
        if refs:
            ready, stuck = ray.wait(list(refs), num_returns=len(refs), timeout=self.step_timeout)
            for ref in ready:
                wi, generation, live = refs[ref]
                try:
                    batch = ray.get(ref)
                except ray.exceptions.RayError as e:
                    self._replace(wi, generation, f"died ({type(e).__name__})")
                    batch = [EnvWorkerDied(f"env worker {wi} died: {type(e).__name__}")] * len(live)
                for i, r in zip(live, batch, strict=True):
                    results[i] = _rebuild(r) if type(r).__name__ == "Raised" else r
            for ref in stuck:
                wi, generation, live = refs[ref]
                self._replace(wi, generation, f"a step took more than {self.step_timeout} s")
                for i in live:
                    results[i] = StepTimeout(f"step took more than {self.step_timeout} s in env worker {wi}")
        return results

    def _call(self, env: RayEnv, method: str, *args: Any) -> Any:
        """One call to the actor hosting ``env`` (its episode's actor, or
        :class:`EnvWorkerDied`); the env's own exception is rebuilt."""
        with self._lock:
            handle, generation = self._workers[env.worker], self._generation[env.worker]
        if generation != env.generation:
            raise EnvWorkerDied(f"env worker {env.worker} was replaced during this episode")
        ray = _ray()
        try:
            out = ray.get(getattr(handle, method).remote(env.slot, *args), timeout=self.step_timeout)
        except ray.exceptions.GetTimeoutError as e:
            self._replace(env.worker, generation, f"{method} took more than {self.step_timeout} s")
            raise StepTimeout(f"{method} took more than {self.step_timeout} s in env worker {env.worker}") from e
        except ray.exceptions.RayError as e:
            self._replace(env.worker, generation, f"died ({type(e).__name__})")
            raise EnvWorkerDied(f"env worker {env.worker} died: {type(e).__name__}") from e
        if type(out).__name__ == "Raised":
            raise _rebuild(out)
        return out

    def _episode_metrics(self, env: RayEnv) -> dict[str, float]:
        out = self._call(env, "episode_metrics")
        if out is None:
            raise AttributeError(f"{self.env_id} has no episode_metrics()")
        return dict(out)

    def _scripted_action(self, env: RayEnv, name: str) -> str:
        return str(self._call(env, "scripted_action", name))

    # -- leasing (for code that builds envs through a factory) -------------
    def lease(self) -> RayEnv:
        """A free env of the pool (a new worker starts when none is free); its
        ``close()`` gives it back. Usable as ``collect``'s env factory."""
        with self._lock:
            if not self._free:
                self._add_worker()
            env = self._free.pop()
            env.leased = True
            return env

    def _give_back(self, env: RayEnv) -> None:
        with self._lock:
            if env.leased:
                env.leased = False
                self._free.append(env)

    def close(self, timeout: float = 10.0) -> None:
        """Close every worker's envs (their servers, browsers, connections; up to
        ``timeout`` seconds), then stop the workers."""
        ray = _ray()
        with self._lock:
            if self._workers:
                try:
                    ray.wait([w.close.remote() for w in self._workers], num_returns=len(self._workers), timeout=timeout)
                except Exception:  # a dead worker has nothing left to close
                    logger.debug("closing envs failed", exc_info=True)
            for w in self._workers:
                try:
                    ray.kill(w, no_restart=True)
                except Exception:
                    logger.debug("kill failed", exc_info=True)
            self._workers = []

    def __enter__(self) -> RayEnvPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.envs)
