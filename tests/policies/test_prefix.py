"""The prefix store behind HFPolicy's cross-turn KV reuse (no model needed)."""

from __future__ import annotations

import threading

import torch

from agentgym.policies._prefix import PrefixStore, build_past


def _kv(n: int, fill: float) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return [torch.full((2, n, 3), fill)], [torch.full((2, n, 3), -fill)]


def test_lookup_finds_the_longest_shared_prefix() -> None:
    store = PrefixStore(max_bytes=10_000)
    store.begin(("w", 1))
    store.add([1, 2, 3, 4], *_kv(4, 1.0))
    store.add([1, 2, 9], *_kv(3, 2.0))
    assert store.lookup([1, 2, 3, 4, 5])[0] is None  # nothing to reuse before end()
    store.end()
    entry, n = store.lookup([1, 2, 3, 4, 5])
    assert n == 4 and entry.tokens.tolist() == [1, 2, 3, 4]
    entry, n = store.lookup([1, 2, 9, 9])
    assert n == 3 and entry.tokens.tolist() == [1, 2, 9]
    assert store.lookup([1, 2, 3, 4])[1] == 3  # the last prompt token is always run
    assert store.lookup([7, 8]) == (None, 0)


def test_weights_change_budget_and_threads() -> None:
    store = PrefixStore(max_bytes=200)
    store.begin(("w", 1))
    store.add([1, 2, 3], *_kv(3, 1.0))  # 2 x 18 floats: 144 bytes
    store.add([4, 5, 6], *_kv(3, 1.0))  # over the 200-byte budget: not kept
    store.end()
    assert store.lookup([4, 5, 6, 7]) == (None, 0) and store.lookup([1, 2, 3, 7])[1] == 3
    seen = []
    thread = threading.Thread(target=lambda: seen.append(store.lookup([1, 2, 3, 7])))
    thread.start()
    thread.join()
    assert seen == [(None, 0)]  # each thread has its own chain of calls
    store.begin(("w", 2))  # the weights changed
    assert store.lookup([1, 2, 3, 7]) == (None, 0)


def test_build_past_left_pads_each_row() -> None:
    store = PrefixStore(max_bytes=10_000)
    store.begin(())
    store.add([1, 2, 3], *_kv(3, 1.0))
    store.end()
    entry, _ = store.lookup([1, 2, 3, 4])
    (keys, values), = build_past([(entry, 2), (None, 0)], width=3)
    assert keys.shape == (2, 2, 3, 3)
    assert keys[0, :, 0].abs().sum() == 0 and (keys[0, :, 1:] == 1.0).all() and (values[0, :, 1:] == -1.0).all()
    assert keys[1].abs().sum() == 0
