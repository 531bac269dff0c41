#!/usr/bin/env python
"""Where the quickstart's time goes: one SFT epoch's steps and a few GiGPO iterations,
split into phases, as fractions of the time measured in the same run.

    python scripts/profile_quickstart.py sft --tasks 160          # SFT steps: forward / backward / optimizer, padding
    python scripts/profile_quickstart.py rl --policy hf:runs/quickstart/sft --iterations 2

``rl`` runs the quickstart's GiGPO config (``configs/asktoact_easy_gigpo.toml``) in one
process under cProfile, from the given warm start, and reports rollout (prefill,
decode, chat templates), update and validation time, plus each prefill pass's batch
shape and padding. Shared, noisy machines: compare the fractions, not the seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
# (label, function name, file it is defined in): cumulative times read from cProfile.
PHASES = [
    ("rollouts, validation included (collect)", "collect", "rollout.py"),
    ("  policy.act", "act", "hf.py"),
    ("    prefill", "_prefill", "hf.py"),
    ("    chat templates (render)", "render", "hf.py"),
    ("    sampling", "_sample", "hf.py"),
    ("    keep keys/values (_remember)", "_remember", "hf.py"),
    ("  env steps", "step", "env.py"),
    ("  of which validation", "validate", "run.py"),
    ("update (old log-probs + PPO epochs)", "update_policy", "update.py"),
    ("  old log-probs (precompute)", "precompute", "update.py"),
    ("  backward", "run_backward", "~"),
    ("start-up (load, tokenizer)", "create", "run.py"),
]


def profile_rl(args: argparse.Namespace) -> None:
    from agentgym.policies.hf import HFPolicy
    from agentgym.train import TrainConfig, train

    passes: list[tuple[int, int, int, int, float]] = []  # (rows, width, real new tokens, reused width, seconds)
    forward = HFPolicy._forward

    def timed(self: Any, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, cache: Any, keep: int) -> torch.Tensor:
        t = time.perf_counter()
        out = forward(self, ids, mask, pos, cache, keep)
        n = ids.shape[1]
        passes.append((ids.shape[0], n, int(mask[:, -n:].sum()), mask.shape[1] - n, time.perf_counter() - t))
        return out

    HFPolicy._forward = timed  # type: ignore[method-assign]
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    config = TrainConfig.from_toml(ROOT / "configs/asktoact_easy_gigpo.toml", {
        "policy": args.policy, "iterations": args.iterations, "out_dir": str(out),
        "eval_every": 0, "checkpoint_every": 0, "eval_tasks": args.eval_tasks})
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    result = train(config)
    profiler.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    cum: dict[tuple[str, str], float] = {}
    for (filename, _, name), (_, _, _, ct, _) in stats.items():
        key = (name, Path(filename).name)
        cum[key] = max(cum.get(key, 0.0), ct)
    print(f"{args.iterations} iterations + the initial validation ({args.eval_tasks} tasks): {total:.1f} s (cProfile on)")
    for label, name, where in PHASES:
        ct = next((v for (n, f), v in cum.items() if (name in n if where == "~" else n == name and f == where)), 0.0)
        print(f"  {label:38s} {ct:7.2f} s  {ct / total:6.1%}")
    prefill = [p for p in passes if p[1] > 1]
    decode = [p for p in passes if p[1] == 1]
    pre_t, dec_t = sum(p[4] for p in prefill), sum(p[4] for p in decode)
    real, padded = sum(p[2] for p in prefill), sum(p[0] * p[1] for p in prefill)
    print(f"  model passes: prefill {len(prefill)} ({pre_t:.2f} s), decode steps {len(decode)} ({dec_t:.2f} s); "
          f"prefill positions {padded}, of which padding {1 - real / max(padded, 1):.0%}")
    if args.shapes:
        for rows, width, new, reused, sec in prefill:
            print(f"    prefill rows {rows:4d} x new {width:4d} (reused {reused:5d}): "
                  f"{1 - new / (rows * width):4.0%} padding, {sec * 1000:6.0f} ms")
    for m in result.metrics:
        print("  iteration", int(m["iteration"]), {k: round(v, 2) for k, v in m.items()
                                                   if k in ("time/rollout", "time/update", "time/iteration", "rollout/success")})


def profile_sft(args: argparse.Namespace) -> None:
    from agentgym.policy import load_policy
    from agentgym.train.config import SFTConfig
    from agentgym.train.loss import sft_loss
    from agentgym.train.scoring import packed_logprobs
    from agentgym.train.sft import build_rows, collect_demonstrations

    data = tomllib.loads((ROOT / "configs/asktoact_easy_sft.toml").read_text())
    config = SFTConfig(**{**data, "tasks": args.tasks})
    torch.set_num_threads(config.threads)
    t0 = time.perf_counter()
    policy = load_policy(config.policy, temperature=config.temperature, max_new_tokens=config.max_new_tokens)
    t1 = time.perf_counter()
    demos = collect_demonstrations(config)
    t2 = time.perf_counter()
    rows = build_rows(policy, demos, pack=config.pack, env=config.env, env_kwargs=config.env_kwargs,
                      history=config.history, action_format=config.action_format)
    t3 = time.perf_counter()
    print(f"set-up for {args.tasks} demonstrations: model {t1 - t0:.2f} s, episodes {t2 - t1:.2f} s, rows {t3 - t2:.2f} s")
    model, pad = policy.model, int(policy.pad_token_id)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    split = dict.fromkeys(("forward", "backward", "clip + optimizer"), 0.0)
    real = padded = steps = 0
    for start in range(0, len(rows), config.batch_size):
        batch = rows[start : start + config.batch_size]
        real += sum(len(r.ids) for r in batch)
        padded += len(batch) * max(len(r.ids) for r in batch)
        a = time.perf_counter()
        scores, _ = packed_logprobs(model, batch, pad_token_id=pad)
        loss = sft_loss(scores.logprobs, scores.mask, num_tokens=float(scores.mask.sum())).loss
        b = time.perf_counter()
        loss.backward()
        c = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        d = time.perf_counter()
        split["forward"] += b - a
        split["backward"] += c - b
        split["clip + optimizer"] += d - c
        steps += 1
    total = sum(split.values())
    print(f"{steps} steps of {config.batch_size} rows: {total / steps * 1000:.0f} ms/step; "
          + ", ".join(f"{k} {v / total:.0%}" for k, v in split.items())
          + f"; padding {1 - real / padded:.0%}")
    full = int(data["tasks"])
    print(f"an epoch of the quickstart's {full:,} demonstrations at this rate: "
          f"{total / steps * -(-full // config.batch_size):.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    rl = sub.add_parser("rl", help="GiGPO iterations of the quickstart config")
    rl.add_argument("--policy", required=True, help="the warm start, e.g. hf:runs/quickstart/sft")
    rl.add_argument("--iterations", type=int, default=2)
    rl.add_argument("--eval-tasks", type=int, default=100, help="tasks of the initial validation")
    rl.add_argument("--out", default="/tmp/agentgym-profile-rl")
    rl.add_argument("--shapes", action="store_true", help="print every prefill pass")
    sft = sub.add_parser("sft", help="SFT steps of the quickstart config")
    sft.add_argument("--tasks", type=int, default=160)
    args = parser.parse_args()
    if args.what == "rl":
        profile_rl(args)
    else:
        profile_sft(args)


if __name__ == "__main__":
    main()
