"""Example configs shipped with agentgym (``agentgym.configs``): the TOML files in
this folder, installed with the package so that a ``pip install`` user can run
the README without a checkout.

Load one by name wherever a config file is accepted::

    agentgym train --config asktoact_easy_gigpo          # this folder's asktoact_easy_gigpo.toml
    agentgym sft --config asktoact_easy_sft
    TrainConfig.from_toml("guess_number_gigpo")

A path to an existing file always wins over a name.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["names", "read"]


def names() -> list[str]:
    """The shipped configs' names (file names without ``.toml``)."""
    return sorted(p.name[: -len(".toml")] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def read(name: str) -> str | None:
    """The text of the shipped config ``name`` (with or without ``.toml``), or None."""
    stem = name[: -len(".toml")] if name.endswith(".toml") else name
    if "/" in stem or "\\" in stem or stem not in names():
        return None
    return (resources.files(__name__) / f"{stem}.toml").read_text(encoding="utf-8")
