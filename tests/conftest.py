"""Shared fixtures (the helpers behind them are in tests/support/, one module per job).

Every test runs with non-loopback network connections refused.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `support` importable however pytest is started

from support.paths import GUARD_DIR  # noqa: E402

sys.path.insert(0, str(GUARD_DIR))

import network_guard  # noqa: E402

network_guard.install()

from rag.embedding.factory import build_embedding  # noqa: E402
from support.app_server import AppServer, serve_app_for_module  # noqa: E402
from support.chroma_server import chroma_installed, running_chroma_server  # noqa: E402
from support.openai_server import OpenAICompatibleServer  # noqa: E402
from support.paths import SEEDS  # noqa: E402
from support.seeds import copy_seeds  # noqa: E402
from support.settings import make_settings  # noqa: E402

# Property tests draw the same examples on every run, so the suite (and CI) passes or fails the
# same way for the same code: a random draw once found a new bug in a full run that the next run
# did not meet. HYPOTHESIS_PROFILE=explore draws new examples, to hunt for more.
hypothesis.settings.register_profile("repeatable", derandomize=True)
hypothesis.settings.register_profile("explore", derandomize=False)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


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


@pytest.fixture(scope="session")
def dictionary():
    """The installed Ding dictionary (Debian's trans-de-en, which the setup installs)."""
    from rag.text.translate import DEFAULT_DICTIONARY_PATH, Dictionary

    return Dictionary.load(DEFAULT_DICTIONARY_PATH)


@pytest.fixture
def fresh_rag(tmp_path, embedding):
    """A Rag over an empty store in a temporary folder; returns a factory taking overrides."""
    from rag.api import open_rag

    def factory(**overrides):
        return open_rag(make_settings(tmp_path / "store", **overrides), embedding=embedding)

    return factory


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    """A copy of seeds/ in this test's temporary folder (``tmp_path / "corpus"``), free to change."""
    return copy_seeds(tmp_path / "corpus")


@pytest.fixture
def openai_server() -> Iterator[OpenAICompatibleServer]:
    """The OpenAI-protocol test server on 127.0.0.1, for one test."""
    with OpenAICompatibleServer() as running:
        yield running


@pytest.fixture(scope="module")
def app_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """``python app.py`` serving a fresh store of a copy of the seeds; one app per test module."""
    yield from serve_app_for_module(request, tmp_path_factory)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[int]:
    """The port of a ``chroma run`` server on 127.0.0.1; one server per test module."""
    if not chroma_installed():
        pytest.skip("the chroma command is not installed")
    with running_chroma_server(tmp_path_factory.mktemp("chroma_server_data")) as port:
        yield port
