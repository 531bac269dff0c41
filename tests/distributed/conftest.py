"""A local Ray cluster for the tests of this folder, started and stopped by them."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'agentgym[distributed]'")
    from agentgym.distributed.cluster import RayStartError, start_local

    if ray.is_initialized():  # a test of another folder left one running: ours must be new
        ray.shutdown()
    try:
        # The actors import tests.core.sleep_env: the repository root on their path.
        start_local(num_cpus=2, pythonpath=[ROOT])
    except RayStartError as e:  # the service could not start here, not a bug of ours: skip, saying why
        pytest.skip(str(e))
    yield ray
    ray.shutdown()
