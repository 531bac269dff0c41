"""CodeRepair-v0 costs: the ``run`` tool against the same command run directly in
the sandbox, workspace reset, and oracle episodes per minute.

    python scripts/bench_code_repair.py --sandbox bwrap --repeats 20

Medians over ``--repeats`` calls, interleaved (direct, tool, direct, ...) so load
changes hit both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

from agentgym.envs.code_repair.env import CodeRepairEnv
from agentgym.testing import run_scripted_episode
from agentgym.tools import ToolCall


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sandbox", default="auto")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--data", default="tiny")
    args = ap.parse_args()
    env = CodeRepairEnv(split="val", sandbox=args.sandbox, data=args.data)
    env.reset(options={"task_index": 0})
    print(
        f"sandbox: {env.sandbox.name}; task {env.task.id} ({env.task.meta['project']}, {len(env.base)} files)"
    )
    for command in ("true", "python -c pass", "python -m pytest -q -x tests 2>&1 | tail -1"):
        direct, tool = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            env.sandbox.run(
                ["bash", "-c", command],
                workdir=env.ws.root,
                limits=env.run_limits,
                env=env.run_env(),
            )
            direct.append(time.perf_counter() - t)
            t = time.perf_counter()
            env.step(ToolCall("run", {"command": command}).render())
            tool.append(time.perf_counter() - t)
            if env._done:
                env.reset(options={"task_index": 0})
        d, w = statistics.median(direct), statistics.median(tool)
        print(
            f"run {command!r}: direct {d * 1000:.1f} ms, tool {w * 1000:.1f} ms, ratio {w / d:.2f}x"
        )
    resets = []
    for i in range(args.repeats):
        t = time.perf_counter()
        env.reset(options={"task_index": i % 3})
        resets.append(time.perf_counter() - t)
    print(f"reset: median {statistics.median(resets) * 1000:.1f} ms")
    t = time.perf_counter()
    for i in range(args.episodes):
        run_scripted_episode(env, 0, options={"task_index": i})
    dt = time.perf_counter() - t
    print(
        f"oracle: {args.episodes} episodes in {dt:.1f} s = {60 * args.episodes / dt:.1f} episodes/minute"
    )
    env.close()


if __name__ == "__main__":
    main()
