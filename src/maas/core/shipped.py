"""The models that ship inside the package, named `shipped:<name>` in artifacts.

A catalog entry stores `shipped:maas-tiny-chat` rather than an absolute path, so that it keeps
working when the package is reinstalled somewhere else.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_PREFIX = "shipped:"


def shipped_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "shipped" / "models"


def resolve_path(path: str) -> str:
    if path.startswith(SHIPPED_PREFIX):
        return str(shipped_dir() / path.removeprefix(SHIPPED_PREFIX))
    return path
