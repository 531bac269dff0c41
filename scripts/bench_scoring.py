#!/usr/bin/env python
"""Peak memory and time of one micro-batch's scoring + backward at a large
vocabulary: the full (tokens x vocabulary) log-softmax against the chunked one
(BENCHMARKS.md).

Builds a small Llama from a config with Qwen2's vocabulary (151,936 entries,
random weights, float32, untied output layer) and scores one micro-batch of
``--rows`` rows of ``--tokens`` tokens whose last ``--tokens - --prompt`` are
scored (log-probabilities and entropies, then a backward through both):

* ``full``: what the scorer did before: the model's logits at the kept
  positions, upcast, log-softmax and entropy over the whole ``(K, V)`` block,
  all kept for the backward;
* ``chunked``: :func:`agentgym.train.scoring.packed_logprobs` (hidden states
  at the output layer, ``chunk_tokens`` positions at a time, recomputed in the
  backward).

Each mode runs in a fresh process; its peak memory is the growth of the
process's peak resident set (``ru_maxrss``) over the scoring + backward,
measured after the model, its gradients and a small warm-up are in memory (large
tensors are mmap-allocated and returned on free, so the resident set follows
them). Times are the median of ``--repeats`` runs after the measured one.

    python scripts/bench_scoring.py                              # 4 rows x 384 tokens
    python scripts/bench_scoring.py --rows 8 --tokens 512 --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

VOCAB = 151_936  # Qwen2 / Qwen2.5's vocabulary


def _model(args: argparse.Namespace) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=args.hidden, intermediate_size=2 * args.hidden,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, tie_word_embeddings=False)
    return LlamaForCausalLM(config).train()


def _rows(args: argparse.Namespace) -> list:
    from agentgym.train.scoring import PackedRow

    g = torch.Generator().manual_seed(1)
    return [PackedRow(torch.randint(3, VOCAB, (args.tokens,), generator=g).tolist(),
                      [(args.prompt, args.tokens)], [i]) for i in range(args.rows)]


def _full(model: torch.nn.Module, rows: list) -> torch.Tensor:
    """The pre-chunking computation: (K, V) logits, float32 log-softmax and entropy, all kept for the backward."""
    ids = torch.tensor([r.ids for r in rows])  # (B, T)
    keep = torch.zeros_like(ids, dtype=torch.bool)
    for i, r in enumerate(rows):
        (a, e), = r.spans
        keep[i, a - 1 : e - 1] = True
    logits = model(input_ids=ids, use_cache=False, logits_to_keep=keep).logits.float()  # (K, V)
    logp = torch.log_softmax(logits, dim=-1)
    lp = logp.gather(-1, torch.roll(ids, -1, 1)[keep][:, None]).squeeze(-1)  # (K,)
    ent = -(logp.exp() * logp).sum(-1)  # (K,)
    return lp.sum() + 0.01 * ent.sum()


def _chunked(model: torch.nn.Module, rows: list, chunk_tokens: int | None) -> torch.Tensor:
    from agentgym.train.scoring import packed_logprobs

    s, _ = packed_logprobs(model, rows, pad_token_id=0, with_entropy=True, share_prefix=0, chunk_tokens=chunk_tokens)
    return s.sums().sum() + 0.01 * (s.entropy * s.mask).sum()


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_one(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    model = _model(args)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    rows = _rows(args)

    def step() -> tuple[float, float]:
        model.zero_grad(set_to_none=False)
        loss = _full(model, rows) if args.mode == "full" else _chunked(model, rows, args.chunk_tokens)
        loss.backward()
        return float(loss.detach()), float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm())

    small = argparse.Namespace(**{**vars(args), "rows": 1, "tokens": 8, "prompt": 4})
    warm = _rows(small)
    model.zero_grad(set_to_none=False)
    (_full(model, warm) if args.mode == "full" else _chunked(model, warm, args.chunk_tokens)).backward()
    before = _rss_mib()
    t0 = time.perf_counter()
    loss, grad_norm = step()
    first = time.perf_counter() - t0
    peak = _rss_mib() - before
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"mode": args.mode, "peak_extra_mib": round(peak), "seconds": round(statistics.median(times), 2),
            "seconds_first": round(first, 2), "loss": loss, "grad_norm": grad_norm}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=384)
    ap.add_argument("--prompt", type=int, default=64, help="leading tokens of each row that are not scored")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--chunk_tokens", type=int, default=None, help="positions per chunk (default: the scorer's)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=["full", "chunked"], default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode is not None:
        print(json.dumps(run_one(args)))
        return
    results = []
    for mode in ("full", "chunked"):
        out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--mode", mode], capture_output=True,
                             text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    from agentgym.train.scoring import CHUNK_ELEMENTS, MIN_CHUNK_TOKENS

    K = args.rows * (args.tokens - args.prompt)
    full, chunked = results
    print(json.dumps({
        "vocab": VOCAB, "rows": args.rows, "tokens": args.tokens, "scored_positions": K,
        "chunk_tokens": args.chunk_tokens or max(MIN_CHUNK_TOKENS, CHUNK_ELEMENTS // VOCAB),
        "one_float32_KxV_tensor_mib": round(K * VOCAB * 4 / 2**20),
        "full": full, "chunked": chunked,
        "peak_ratio": round(full["peak_extra_mib"] / max(chunked["peak_extra_mib"], 1), 1),
        "time_ratio_chunked_over_full": round(chunked["seconds"] / full["seconds"], 2),
        "loss_diff": abs(full["loss"] - chunked["loss"]), "grad_norm_diff": abs(full["grad_norm"] - chunked["grad_norm"]),
    }, indent=1))


if __name__ == "__main__":
    main()
