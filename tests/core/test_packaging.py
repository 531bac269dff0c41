"""envs/, policies/ and sandboxes/ import as agentgym.* in editable and wheel installs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPED = {"agentgym.envs": "envs", "agentgym.policies": "policies", "agentgym.sandboxes": "sandboxes"}


def test_editable_install_maps_the_folders() -> None:
    import importlib

    for module, folder in MAPPED.items():
        mod = importlib.import_module(module)
        assert Path(mod.__file__).resolve().parent == ROOT / folder
    import agentgym.envs.guess_number as gn

    assert Path(gn.__file__).resolve().parent == ROOT / "envs" / "guess_number"


def test_import_agentgym_is_light() -> None:
    code = "import sys, agentgym; agentgym.list_envs(); bad = [m for m in ('torch', 'transformers', 'docker', 'playwright') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_never_imports_envs_policies_or_sandboxes() -> None:
    """The dependency rule of ARCHITECTURE.md, checked on the source."""
    offenders = []
    for path in (ROOT / "agentgym").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("import agentgym.", "from agentgym.")) and any(
                stripped.split()[1].startswith(m) for m in MAPPED
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {stripped}")
    assert not offenders, offenders


@pytest.mark.slow
def test_wheel_install(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("agentgym-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "agentgym/envs/guess_number/env.py" in names
    assert "agentgym/policies/__init__.py" in names and "agentgym/sandboxes/__init__.py" in names
    assert not any(n.startswith(("envs/", "tests/", "scripts/")) for n in names)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = "import agentgym.envs.guess_number as g, agentgym; print(g.__file__); print(len(agentgym.list_envs()) > 0)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    )
    assert out.returncode == 0, out.stderr
    file, has_envs = out.stdout.split()
    assert file.startswith(str(target)) and has_envs == "True"
