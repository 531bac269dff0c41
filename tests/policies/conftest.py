"""Fixtures of the policy tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models are latency-bound: on a loaded 2-core machine, torch's second
    intra-op thread makes them 10-30x slower (measured), not faster."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
