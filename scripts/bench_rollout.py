"""Rollout engine overhead: `collect()` versus a bare batched `model.generate`
on the very same prompts.

1. Run `agentgym.rollout.collect` (N tasks x G episodes, T turns) with an
   HFPolicy and time it, split into: decoding (HFPolicy.generate_ids), the rest
   of policy.act (chat template + tokenization + decode to text), and the rest
   of the engine (env steps, conversation building, bookkeeping).
2. Replay each rollout step's batch of prompts (exactly the prompt_ids the
   engine recorded) through `model.generate(do_sample=True)` with left padding,
   forcing the same number of new tokens as that step took in the engine
   (`min_new_tokens = max_new_tokens = longest reply of the step`).
   The bare baseline re-runs every prompt in full; HFPolicy by default reuses the
   keys/values of the previous turn (its prefix cache), so `--no-prefix-cache`
   isolates the engine's own overhead and the default shows what users get.
3. Print throughputs (response tokens/s) and the overheads:
     engine vs bare generate = T(collect) / T(generate) - 1    (target <= 15%)
     engine vs own decoding   = T(collect) / T(decoding) - 1   (all non-model time)

    python scripts/bench_rollout.py                       # tiny model, GuessNumber
    python scripts/bench_rollout.py --model smollm2-135m --tasks 4 --group-size 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from agentgym.policies.hf import HFPolicy
from agentgym.rollout import collect


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny", help="'tiny', 'smollm2-135m' or a model directory")
    p.add_argument("--env", default="GuessNumber-v0")
    p.add_argument("--tasks", type=int, default=8)
    p.add_argument("--group-size", type=int, default=4)
    p.add_argument("--max-turns", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--history", default="full", help="'full' or K")
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions (median reported)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--no-prefix-cache", action="store_true",
                   help="turn HFPolicy's cross-turn KV reuse off (isolates the engine's own overhead)")
    return p.parse_args()


def build_policy(args: argparse.Namespace) -> HFPolicy:
    kw = {"max_new_tokens": args.max_new_tokens, "temperature": 1.0, "prefix_cache": not args.no_prefix_cache}
    if args.model == "tiny":
        return HFPolicy.tiny(seed=0, **kw)
    return HFPolicy.from_pretrained(args.model, **kw)


class Timer:
    """Wraps a method and adds up the seconds spent in it."""

    def __init__(self, obj: Any, name: str) -> None:
        self.total = 0.0
        inner: Callable[..., Any] = getattr(obj, name)

        def timed(*a: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                self.total += time.perf_counter() - start

        setattr(obj, name, timed)


def run_engine(policy: HFPolicy, args: argparse.Namespace) -> tuple[dict[str, float], list[Any]]:
    history: Any = args.history if args.history == "full" else int(args.history)
    policy.reseed(0)  # same sampling stream every repeat
    policy.clear_prefix_cache()  # no reuse from the previous repeat
    decode, act = Timer(policy, "generate_ids"), Timer(policy, "act")
    start = time.perf_counter()
    trajs = collect(args.env, policy, tasks=args.tasks, group_size=args.group_size, max_turns=args.max_turns, history=history)
    total = time.perf_counter() - start
    del policy.generate_ids, policy.act  # drop the instance-level wrappers
    return {"total": total, "decode": decode.total, "act": act.total}, trajs


def step_batches(trajs: list[Any]) -> list[tuple[list[list[int]], int]]:
    """The engine's batches: at step t, the turn t of every episode still live."""
    batches = []
    for t in range(max(len(x.turns) for x in trajs)):
        turns = [x.turns[t] for x in trajs if len(x.turns) > t]
        batches.append(([turn.prompt_ids for turn in turns], max(len(turn.response_ids) for turn in turns)))
    return batches


@torch.no_grad()
def run_bare_generate(policy: HFPolicy, batches: list[tuple[list[list[int]], int]]) -> float:
    model, pad = policy.model, policy.pad_token_id
    start = time.perf_counter()
    for prompts, n_new in batches:
        P = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), P), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(prompts):
            ids[i, P - len(p) :] = torch.tensor(p)
            mask[i, P - len(p) :] = 1
        model.generate(
            input_ids=ids, attention_mask=mask, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
            max_new_tokens=n_new, min_new_tokens=n_new, pad_token_id=pad, eos_token_id=policy.stop_ids,
        )
    return time.perf_counter() - start


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    policy = build_policy(args)
    _, trajs = run_engine(policy, args)  # warm-up (first-call costs: template compilation, allocator)
    batches = step_batches(trajs)  # the same seed gives the same episodes every repeat
    run_bare_generate(policy, batches[:1])
    # Interleaved, so that load from other processes hits both sides alike.
    engine_runs, bare_runs = [], []
    for _ in range(args.repeats):
        timing, trajs = run_engine(policy, args)
        engine_runs.append(timing)
        bare_runs.append(run_bare_generate(policy, batches))
    bare = statistics.median(bare_runs)
    med = {k: statistics.median(r[k] for r in engine_runs) for k in engine_runs[0]}
    tokens = sum(len(t.response_ids) for x in trajs for t in x.turns)
    prompt_tokens = sum(len(t.prompt_ids) for x in trajs for t in x.turns)
    print(f"model={args.model} env={args.env} tasks={args.tasks} G={args.group_size} max_turns={args.max_turns} "
          f"max_new_tokens={args.max_new_tokens} history={args.history} threads={torch.get_num_threads()} "
          f"prefix_cache={policy.prefix_cache} repeats={args.repeats} (medians)")
    stats = policy.stats
    print(f"prefix cache: {stats['reused_tokens']}/{stats['prompt_tokens']} prompt tokens reused "
          f"({100 * stats['reused_tokens'] / max(1, stats['prompt_tokens']):.0f}%, all runs)")
    print(f"episodes={len(trajs)} steps={len(batches)} turns={sum(len(x.turns) for x in trajs)} "
          f"response_tokens={tokens} prompt_tokens={prompt_tokens} "
          f"mean_prompt={prompt_tokens / max(1, sum(len(x.turns) for x in trajs)):.0f}")
    print(f"collect():              {med['total']:7.3f} s   {tokens / med['total']:8.1f} tok/s")
    print(f"  decoding (generate_ids) {med['decode']:7.3f} s")
    print(f"  template+tokenize+text  {med['act'] - med['decode']:7.3f} s")
    print(f"  env steps + engine      {med['total'] - med['act']:7.3f} s")
    print(f"bare model.generate:    {bare:7.3f} s   {tokens / bare:8.1f} tok/s")
    print(f"overhead vs bare generate: {100 * (med['total'] / bare - 1):+.1f}%  (target <= +15%)")
    print(f"overhead vs own decoding:  {100 * (med['total'] / med['decode'] - 1):+.1f}%  (all non-model time)")


if __name__ == "__main__":
    main()
