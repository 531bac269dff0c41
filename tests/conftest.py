"""Shared fixtures. Tests are seeded and offline; marked ones need services."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(0)

try:  # property-based tests are derandomized: the same examples on every run
    from hypothesis import HealthCheck as _HealthCheck
    from hypothesis import settings as _hyp_settings

    # too_slow: the shared CI machine can be loaded; speed is not what these tests check.
    _hyp_settings.register_profile(
        "agentgym", derandomize=True, database=None, print_blob=True, suppress_health_check=[_HealthCheck.too_slow]
    )
    _hyp_settings.load_profile("agentgym")
except ImportError:  # pragma: no cover
    pass
