"""Shared fixtures. Every test runs with non-loopback network connections refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
GUARD_DIR = Path(__file__).resolve().parent / "offline_guard"
sys.path.insert(0, str(GUARD_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import network_guard  # noqa: E402

network_guard.install()

from rag.config import load_settings  # noqa: E402
from rag.embedding.factory import build_embedding  # noqa: E402


def make_settings(store_dir: Path, **overrides):
    return load_settings(preset="tests", store_dir=store_dir, source_dir=SEEDS, **overrides)


@pytest.fixture(scope="session")
def embedding(tmp_path_factory):
    """One loaded embedding model for the whole session (loading it takes seconds)."""
    return build_embedding(make_settings(tmp_path_factory.mktemp("unused")))


@pytest.fixture(scope="session")
def seed_rag(tmp_path_factory, embedding):
    """The seed texts ingested once into a session-wide store."""
    from rag.api import open_rag

    rag = open_rag(make_settings(tmp_path_factory.mktemp("seed_store")), embedding=embedding)
    rag.ingest(SEEDS)
    return rag


@pytest.fixture
def fresh_rag(tmp_path, embedding):
    """A Rag over an empty store in a temporary folder; returns a factory taking overrides."""
    from rag.api import open_rag

    def factory(**overrides):
        return open_rag(make_settings(tmp_path / "store", **overrides), embedding=embedding)

    return factory
