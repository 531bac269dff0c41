"""Package layout for agentgym (metadata lives in pyproject.toml).

`envs/`, `policies/`, `sandboxes/` and `configs/` sit at the repository root
(see ARCHITECTURE.md) but import as `agentgym.envs`, `agentgym.policies`,
`agentgym.sandboxes` and `agentgym.configs` (the example TOML configs, shipped
so that an installed agentgym can load them by name). setuptools needs that mapping and the full list of
sub-packages under each mapped folder; both are computed here so a new env
family is packaged without editing any configuration.
"""

from setuptools import find_packages, setup

PACKAGE_DIR = {
    "agentgym": "agentgym",
    "agentgym.envs": "envs",
    "agentgym.policies": "policies",
    "agentgym.sandboxes": "sandboxes",
    "agentgym.configs": "configs",
}

packages = []
for name, folder in PACKAGE_DIR.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder) if not sub.startswith("tests")]

setup(packages=packages, package_dir=PACKAGE_DIR)
