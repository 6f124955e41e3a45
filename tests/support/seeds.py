"""The seed corpus: copies to change freely, and its texts."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.paths import SEEDS


def copy_seeds(destination: Path) -> Path:
    """A copy of seeds/ (texts and sources.json) at ``destination``, which must not exist yet."""
    shutil.copytree(SEEDS, destination)
    return destination


def seed_text(source: str) -> str:
    """The text of one seed file, as the ingest reads it."""
    return (SEEDS / source).read_text(encoding="utf-8")


def seed_sources() -> list[str]:
    """The names of the seed texts, sorted."""
    return sorted(path.name for path in SEEDS.glob("*.txt"))
