"""Settings for in-process tests: the "tests" preset over a given store, the seeds as source."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings, load_settings
from support.paths import SEEDS


def make_settings(store_dir: Path, **overrides) -> Settings:
    return load_settings(preset="tests", store_dir=store_dir, source_dir=SEEDS, **overrides)
