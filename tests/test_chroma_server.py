"""The same ingest/ask/retrieve behaviour against a real Chroma server (`chroma run`) on 127.0.0.1."""

from __future__ import annotations

import pytest

from rag.api import open_rag
from rag.errors import StoreError
from support.paths import SEEDS
from support.ports import free_port
from support.settings import make_settings


@pytest.fixture
def server_rag(chroma_server, tmp_path, embedding, request):
    def factory(**overrides):
        collection = f"test_{request.node.name[:40]}".replace("[", "_").replace("]", "_")
        settings = make_settings(
            tmp_path / "unused-store",
            chroma_host="127.0.0.1",
            chroma_port=chroma_server,
            collection=collection,
            cache_dir=tmp_path / "cache",
            **overrides,
        )
        return open_rag(settings, embedding=embedding)

    return factory


def test_ingest_ask_and_retrieve_through_a_chroma_server(server_rag, tmp_path):
    rag = server_rag()
    report = rag.ingest(SEEDS)
    assert report.chunks_embedded == report.chunks_total > 0
    assert not (tmp_path / "unused-store").exists()  # nothing embedded on local disk
    answer = rag.ask("Who was banished to the Phantom Zone?")
    assert not answer.not_found and answer.citations
    for citation in answer.citations:
        text = (SEEDS / citation.source).read_text(encoding="utf-8")
        assert text[citation.start : citation.end] == citation.text
    passages = rag.retrieve("Morgan Edge", top_k=3)
    assert passages and passages[0].source == "001_acc81d348d7d4859.txt"
    assert "chroma server" in rag.info().location


def test_reingest_against_the_server_is_idempotent_and_tracks_changes(server_rag, seed_copy):
    folder = seed_copy
    rag = server_rag()
    rag.ingest(folder)
    again = rag.ingest(folder)
    assert again.chunks_embedded == 0 and not again.changed
    (folder / "001_acc81d348d7d4859.txt").unlink()
    target = folder / "002_835fa61d1c21454d.txt"
    target.write_text(target.read_text() + "\n\nClark plants a walnut tree.\n")
    changed = rag.ingest(folder)
    assert changed.files_removed == ["001_acc81d348d7d4859.txt"]
    assert changed.files_updated == ["002_835fa61d1c21454d.txt"]
    assert 0 < changed.chunks_embedded < 5
    assert rag.store().count() == changed.chunks_total
    assert all(p.source != "001_acc81d348d7d4859.txt" for p in rag.retrieve("Morgan Edge", top_k=10))


def test_an_unreachable_chroma_server_is_a_clear_error(tmp_path, embedding):
    settings = make_settings(tmp_path / "s", chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreError, match="Cannot reach the Chroma server"):
        open_rag(settings, embedding=embedding).ask("Who is Clark?")
