"""A local Ray cluster for the tests of this folder, started and stopped by them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'agentgym[distributed]'")
    # The actors import tests.core.sleep_env: the repository root on their path.
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
    except Exception as e:  # the service is missing, not a bug of ours: skip, saying why
        ray.shutdown()
        pytest.skip(f"a local Ray node could not start on this machine ({type(e).__name__}: {e}); on a "
                    "machine under heavy load Ray's 30 s node startup limit can be exceeded")
    yield ray
    ray.shutdown()
