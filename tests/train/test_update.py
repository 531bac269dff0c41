"""The update's micro-batches: a group's rows together (its prompt scored once),
the same step as without sharing; the entropy without a graph when it is only
logged."""

from __future__ import annotations

import pytest
import torch

import agentgym
from agentgym.train.update import (
    Dist,
    Sample,
    _micro_batches,
    _micro_step,
    build_units,
    update_policy,
)


def _unit(group: str, length: int, k: int) -> list[Sample]:
    return [Sample([1] * (length - 1), [2], [-1.0], 0.0, trajectory=k, group=group)]


def test_micro_batches_keep_a_groups_rows_together() -> None:
    # Lengths interleave across groups: sorting by length alone would mix them.
    units = [_unit(g, n, k) for k, (g, n) in enumerate([("a", 10), ("b", 11), ("a", 12), ("b", 13), ("a", 14),
                                                          ("b", 15), ("c", 5), ("c", 6)])]
    batches = _micro_batches(units, 3)
    assert [[u[0].group for u in mb] for mb in batches] == [["c", "c"], ["a", "a", "a"], ["b", "b", "b"]]
    assert [[len(u[0].prompt_ids) + 1 for u in mb] for mb in batches] == [[5, 6], [10, 12, 14], [11, 13, 15]]
    # Whole groups fill a micro-batch as far as they fit; a larger group fills whole ones.
    assert [len(mb) for mb in _micro_batches(units, 5)] == [5, 3]
    assert [[u[0].group for u in mb] for mb in _micro_batches(units, 2)] == [
        ["c", "c"], ["a", "a"], ["a"], ["b", "b"], ["b"]]
    # Samples without a group: micro-batches of similar lengths, as before.
    loose = [[Sample([1] * n, [2], [-1.0], 0.0)] for n in (9, 3, 7, 5)]
    assert [[len(u[0].prompt_ids) for u in mb] for mb in _micro_batches(loose, 2)] == [[3, 5], [7, 9]]


def _group_samples(g: torch.Generator) -> list[Sample]:
    """Two tasks x three episodes of two chained turns; each task prompt starts
    with a marker token (700 + task) found nowhere else. The episodes' lengths
    interleave across tasks (task 0: ~5, 25, 45 observation tokens; task 1: ~15,
    35, 55), so that ordering by length alone would mix the groups."""
    system = torch.randint(3, 400, (40,), generator=g).tolist()
    samples, k = [], 0
    for task in range(2):
        prompt = system + [700 + task] + torch.randint(3, 400, (40,), generator=g).tolist()
        for j in range(3):
            seq = list(prompt)
            for t in range(2):
                r = torch.randint(3, 400, (2 + int(torch.randint(0, 3, (1,), generator=g)),), generator=g).tolist()
                samples.append(Sample(list(seq), r, [-1.0] * len(r), float(task - t) / 2 + 0.1 * k, trajectory=k,
                                      group=f"task{task}"))
                seq += r + torch.randint(3, 400, (5 + 10 * (2 * j + task),), generator=g).tolist()
            k += 1
    return samples


def test_update_scores_a_groups_prompt_once_and_takes_the_same_step(tiny_config) -> None:
    g = torch.Generator().manual_seed(0)
    samples = _group_samples(g)
    steps, counts = [], []
    start = torch.cat([p.detach().flatten() for p in agentgym.load_policy("tiny").model.parameters()])
    for size in (3, 1):  # three rows of a group per micro-batch, or one row each (nothing shared)
        model = agentgym.load_policy("tiny").model
        seen: list[int] = []
        hook = model.get_input_embeddings().register_forward_pre_hook(
            lambda m, args, seen=seen: seen.extend(args[0].flatten().tolist()))
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
        update_policy(model, opt, sched, build_units(samples), tiny_config.replace(micro_batch_size=size),
                      pad_token_id=0, iteration=0, dist=Dist())
        hook.remove()
        counts.append((seen.count(700), seen.count(701)))
        steps.append(torch.cat([p.detach().flatten() for p in model.parameters()]) - start)
    assert counts == [(1, 1), (3, 3)]  # before: (3, 3) either way (micro-batches sorted by length across groups)
    assert steps[0].abs().max() > 1e-3
    assert torch.allclose(steps[0], steps[1], atol=1e-5 * float(steps[0].abs().max()))


@pytest.mark.parametrize("entropy_coef", [0.0, 0.01])
def test_entropy_has_a_graph_only_when_it_is_in_the_loss(tiny_config, monkeypatch, entropy_coef: float) -> None:
    import agentgym.train.update as update

    seen = []
    real = update.policy_loss

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(kwargs["entropy"])
        return real(*args, **kwargs)

    monkeypatch.setattr(update, "policy_loss", spy)
    model = agentgym.load_policy("tiny").model
    units = build_units(_group_samples(torch.Generator().manual_seed(1))[:4])
    config = tiny_config.replace(entropy_coef=entropy_coef)
    _micro_step(model, units, config, 0, num_tokens=10.0)
    grads = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert seen[0] is not None and seen[0].requires_grad == (entropy_coef != 0)
    if entropy_coef == 0:
        # The same gradient as with the entropy's graph built (and unused).
        model.zero_grad(set_to_none=True)
        monkeypatch.setattr(update, "_score", _with_entropy_graph(update._score))
        _micro_step(model, units, config, 0, num_tokens=10.0)
        assert seen[1].requires_grad
        assert torch.equal(grads, torch.cat([p.grad.flatten() for p in model.parameters()]))


def _with_entropy_graph(score):  # noqa: ANN001, ANN202
    def always(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        kwargs["entropy_grad"] = True
        return score(*args, **kwargs)

    return always


@pytest.mark.slow
def test_ddp_with_unequal_prefix_passes_neither_hangs_nor_changes_the_step(tmp_path) -> None:
    """Prefix passes run past the DDP wrapper (whose forward is a collective that
    every process must call equally often): a process whose micro-batches share
    prefixes does more forwards than one whose do not. The step equals the
    one-process step."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "weights.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29519",
           str(root / "tests" / "train" / "ddp_scoring_worker.py"), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr[-4000:]
    w = torch.load(out)
    start = [p.detach() for p in agentgym.load_policy("tiny").model.parameters()]
    assert max(float((s - a).abs().max()) for s, a in zip(w["single"], start, strict=True)) > 1e-3
    for a, b in zip(w["ddp"], w["single"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
