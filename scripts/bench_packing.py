#!/usr/bin/env python
"""What packing and prefix sharing save in training (BENCHMARKS.md).

Scores the same full-history demonstrations (scripted expert episodes on
AskToAct) three ways, forward + backward, and prints the time of each and the
ratios measured in this one run:

* ``per-turn``: one row per turn, no shared prefix (the plain way);
* ``shared prefix``: one row per turn, the system prompt + tools of a
  micro-batch computed once;
* ``packed``: one row per episode (and the shared prefix).

It also checks that the three give the same loss.

    python scripts/bench_packing.py                          # tiny model, AskToAct easy
    python scripts/bench_packing.py --policy "tiny:hidden_size=128,num_hidden_layers=4" --episodes 64
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import agentgym
from agentgym.rollout import collect
from agentgym.train.scoring import packed_logprobs, response_logprobs
from agentgym.train.sft import build_rows


def _timed(fn, repeats: int) -> tuple[float, float]:
    times, value = [], 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", default="tiny")
    ap.add_argument("--env", default="AskToAct-v0")
    ap.add_argument("--difficulty", default="easy")
    ap.add_argument("--expert", default="scripted:explorer")
    ap.add_argument("--episodes", type=int, default=32)
    ap.add_argument("--micro_batch_size", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    policy = agentgym.load_policy(args.policy)
    model = policy.model
    model.train()
    kw = {"env_kwargs": {"difficulty": args.difficulty}}
    demos = collect(args.env, agentgym.load_policy(args.expert), tasks=args.episodes, max_turns=12, **kw)
    packed = build_rows(policy, demos, pack=True, env=args.env, **kw)
    single = build_rows(policy, demos, pack=False, env=args.env, **kw)
    prompts = [r.ids[: r.spans[0][0]] for r in single]
    responses = [r.ids[r.spans[0][0]:] for r in single]
    n_tok = float(sum(len(r) for r in responses))
    mb = args.micro_batch_size

    def per_turn(share: int) -> float:
        total = 0.0
        for s in range(0, len(prompts), mb):
            scores = response_logprobs(model, prompts[s : s + mb], responses[s : s + mb],
                                       pad_token_id=policy.pad_token_id, share_prefix=share)
            loss = -scores.sums().sum() / n_tok
            loss.backward()
            total += float(loss.detach())
        model.zero_grad(set_to_none=True)
        return total

    def pack() -> float:
        total = 0.0
        for s in range(0, len(packed), mb):
            scores, _ = packed_logprobs(model, packed[s : s + mb], pad_token_id=policy.pad_token_id)
            loss = -scores.sums().sum() / n_tok
            loss.backward()
            total += float(loss.detach())
        model.zero_grad(set_to_none=True)
        return total

    t_plain, l_plain = _timed(lambda: per_turn(0), args.repeats)
    t_share, l_share = _timed(lambda: per_turn(32), args.repeats)
    t_pack, l_pack = _timed(pack, args.repeats)
    params = sum(p.numel() for p in model.parameters())
    out = {
        "policy": args.policy, "params": params, "episodes": len(packed), "turns": len(single),
        "tokens_per_turn_rows": sum(len(p) + len(r) for p, r in zip(prompts, responses, strict=True)),
        "tokens_packed_rows": sum(len(r.ids) for r in packed),
        "seconds_per_turn": round(t_plain, 3), "seconds_shared_prefix": round(t_share, 3),
        "seconds_packed": round(t_pack, 3),
        "speedup_shared_prefix": round(t_plain / t_share, 2), "speedup_packed": round(t_plain / t_pack, 2),
        "loss": [round(l_plain, 5), round(l_share, 5), round(l_pack, 5)],
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
