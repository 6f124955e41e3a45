"""Incremental ingest: idempotent, replaces changed files, removes deleted ones, survives interruption."""

from __future__ import annotations

import shutil

import pytest

from rag.errors import CorpusError, StoreError
from support.paths import SEEDS
from support.seeds import copy_seeds


def stored_ids(rag):
    return sorted(c.chunk_id for c in rag.store().current_chunks())


def test_reingesting_an_unchanged_folder_embeds_nothing_and_keeps_ids(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path / "corpus")
    rag = fresh_rag()
    first = rag.ingest(folder)
    ids = stored_ids(rag)
    second = rag.ingest(folder)
    assert first.chunks_embedded == first.chunks_total > 0
    assert second.chunks_embedded == 0
    assert not second.changed
    assert len(second.files_unchanged) == 3
    assert stored_ids(rag) == ids
    assert rag.store().count() == len(ids)


def test_a_changed_file_is_replaced_and_unchanged_passages_keep_their_vectors(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path / "corpus")
    rag = fresh_rag()
    rag.ingest(folder)
    target = folder / "002_835fa61d1c21454d.txt"
    target.write_text(target.read_text() + "\n\nEpilogue: Clark plants a walnut tree behind the barn.\n")
    report = rag.ingest(folder)
    assert report.files_updated == ["002_835fa61d1c21454d.txt"]
    assert 0 < report.chunks_embedded < 5
    assert report.chunks_reused > 0
    passages = rag.retrieve("walnut tree behind the barn", top_k=1)
    assert "walnut tree" in passages[0].text
    text = target.read_text()
    for chunk in rag.store().current_chunks():
        if chunk.metadata["source"] == target.name:
            assert text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.text
    assert rag.store().count() == report.chunks_total


def test_a_deleted_file_disappears_from_the_index(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path / "corpus")
    rag = fresh_rag()
    rag.ingest(folder)
    (folder / "001_acc81d348d7d4859.txt").unlink()
    report = rag.ingest(folder)
    assert report.files_removed == ["001_acc81d348d7d4859.txt"]
    sources = {c.metadata["source"] for c in rag.store().current_chunks()}
    assert "001_acc81d348d7d4859.txt" not in sources
    assert rag.store().count() == report.chunks_total
    assert all(p.source != "001_acc81d348d7d4859.txt" for p in rag.retrieve("Morgan Edge Metropolis", top_k=10))


def test_an_interrupted_ingest_is_never_misread_and_resumes_without_reembedding(tmp_path, fresh_rag, embedding):
    folder = copy_seeds(tmp_path / "corpus")
    rag = fresh_rag(ingest_window=4)
    rag.ingest(folder)
    target = folder / "000_10d9073bc3f8410e.txt"
    # Changes every chunk of the file (11), so its new version takes several ingest windows.
    target.write_text(target.read_text().replace("Clark", "Klark").replace("Sonnenuntergang", "Mitternacht"))

    calls = {"n": 0}
    original = type(embedding)._get_text_embeddings

    def failing(self, texts):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return original(self, texts)

    type(embedding)._get_text_embeddings = failing
    try:
        with pytest.raises(KeyboardInterrupt):
            rag.ingest(folder)
    finally:
        type(embedding)._get_text_embeddings = original

    # Readers still see the last complete version of the file, with exact offsets.
    old_text = (SEEDS / target.name).read_text()
    for chunk in rag.store().current_chunks():
        if chunk.metadata["source"] == target.name:
            assert old_text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.text
    assert any("Sonnenuntergang" in p.text for p in rag.retrieve("Sonnenuntergang", top_k=3))

    resumed = rag.ingest(folder)
    assert resumed.files_updated == [target.name]
    assert resumed.chunks_reused >= 4  # the window stored before the interruption
    assert rag.store().count() == resumed.chunks_total
    assert any("Mitternacht" in p.text for p in rag.retrieve("Mitternacht", top_k=3))


def test_a_non_utf8_file_is_skipped_with_its_reason_and_the_rest_is_ingested(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path / "corpus")
    (folder / "latin1.txt").write_bytes("Café über".encode("latin-1"))
    rag = fresh_rag()
    report = rag.ingest(folder)
    assert [(f.source, f.reason) for f in report.files_skipped] == [
        ("latin1.txt", "it is not UTF-8 text (line 1 has bytes that are not valid UTF-8)")
    ]
    assert "latin1.txt" not in {d["source"] for d in rag.info().documents}
    assert rag.retrieve("Clark")


def test_an_unreadable_file_is_named_in_the_report(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path / "corpus")
    (folder / "broken.txt").symlink_to(tmp_path / "missing-target.txt")
    report = fresh_rag().ingest(folder)
    assert [f.source for f in report.files_skipped] == ["broken.txt"]
    assert "broken link" in report.files_skipped[0].reason and "broken.txt" in report.summary()


def test_an_empty_folder_is_a_clear_error(tmp_path, fresh_rag):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="No .txt or .md or .markdown or .pdf"):
        fresh_rag().ingest(tmp_path / "empty")


def test_a_missing_folder_is_a_clear_error(tmp_path, fresh_rag):
    with pytest.raises(CorpusError, match="does not exist"):
        fresh_rag().ingest(tmp_path / "nowhere")


def test_asking_a_missing_store_says_how_to_ingest(fresh_rag):
    with pytest.raises(StoreError, match="python -m rag ingest"):
        fresh_rag().ask("Why did Clark lose his powers?")


def test_a_corrupt_store_is_reported_and_can_be_rebuilt(tmp_path, fresh_rag):
    store = tmp_path / "store"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    rag = fresh_rag()
    with pytest.raises(StoreError, match="--rebuild"):
        rag.ask("Why did Clark lose his powers?")
    report = fresh_rag().ingest(SEEDS, rebuild=True)
    assert report.chunks_total > 0


def test_windows_span_files_and_identical_texts_are_embedded_once(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path / "corpus")
    shutil.copy(folder / "001_acc81d348d7d4859.txt", folder / "003_copy.txt")
    rag = fresh_rag(ingest_window=5)  # windows of 5 chunks: files are cut across windows
    report = rag.ingest(folder)
    copied = sum(1 for c in rag.store().current_chunks() if c.metadata["source"] == "003_copy.txt")
    assert copied > 0
    assert report.chunks_embedded == report.chunks_total - copied
    assert rag.store().count() == report.chunks_total
    assert len(rag.store().file_records()) == 4
    assert rag.ingest(folder).chunks_embedded == 0


def test_questions_are_refused_when_the_index_was_embedded_another_way(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path / "corpus")
    fresh_rag().ingest(folder)
    changed = fresh_rag(embedding_passage_prefix="passage: ")
    with pytest.raises(StoreError, match="were embedded as .*python -m rag ingest"):
        changed.retrieve("Why did Clark lose his powers?")
    report = fresh_rag(embedding_passage_prefix="passage: ").ingest(folder)
    assert report.chunks_embedded == report.chunks_total
    assert fresh_rag(embedding_passage_prefix="passage: ").retrieve("Why did Clark lose his powers?")
