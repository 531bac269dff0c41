"""Run by tests/train/test_update.py under torch.distributed.run (2 CPU
processes): one update through accelerate's DDP wrapper where micro-batches
share prefixes unequally across processes (rank 0: two groups whose rows share
a system prompt and a task prompt, so extra prefix passes; rank 1: one row, and
zero-loss padding micro-steps). Saves rank 0's weights and those of a
one-process update on all rows."""

from __future__ import annotations

import sys

import torch
from accelerate import Accelerator

import agentgym
from agentgym.train.config import TrainConfig
from agentgym.train.optim import Dist
from agentgym.train.update import Sample, build_units, update_policy


def samples() -> list[Sample]:
    g = torch.Generator().manual_seed(0)
    system = torch.randint(3, 400, (40,), generator=g).tolist()
    out = []
    for k in range(5):
        prompt = system + [500 + k // 2] * 35 + torch.randint(3, 400, (6 + k,), generator=g).tolist()
        response = torch.randint(3, 400, (2 + k % 3,), generator=g).tolist()
        out.append(Sample(prompt, response, [-1.0] * len(response), float(k - 2) / 2, trajectory=k, group=str(k // 2)))
    return out


def update(model, units, dist, acc=None) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    if acc is not None:
        model, opt = acc.prepare(model, opt)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    config = TrainConfig(policy="tiny", micro_batch_size=2, max_grad_norm=0.0, threads=1)
    m = update_policy(model, opt, sched, units, config, pad_token_id=0, iteration=0, dist=dist)
    assert m["train/optimizer_steps"] == 1.0, m


def main(out: str) -> None:
    torch.set_num_threads(1)
    acc = Accelerator(cpu=True)
    model = agentgym.load_policy("tiny").model
    units = build_units(samples(), pack=False)
    mine = units[:4] if acc.process_index == 0 else units[4:]
    update(model, mine, Dist(acc), acc)
    if acc.process_index == 0:
        single = agentgym.load_policy("tiny").model
        update(single, units, Dist())
        torch.save({"ddp": [p.detach() for p in model.parameters()],
                    "single": [p.detach() for p in single.parameters()]}, out)
    acc.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1])
