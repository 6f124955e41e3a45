"""Re-ingesting one document (Rag.reingest_document, `python -m rag reingest`): the content hash
decides, only that file is read, the rest of the index stays as it is, and a file that is gone or
no longer readable is an error that says what to do (the index keeps its earlier text)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.errors import CorpusError, DocumentFileMissingError
from support.environment import child_environment
from support.paths import REPO
from support.seeds import copy_seeds, seed_sources

ENGLISH = "002_835fa61d1c21454d.txt"
NEW_SENTENCE = "The lighthouse keeper Oskarsson painted the Fortress of Solitude bright orange on Tuesday."


def indexed(rag) -> dict[str, dict]:
    return {d["source"]: d for d in rag.info().documents}


@pytest.fixture
def rag_over_copy(fresh_rag, seed_copy):
    rag = fresh_rag()
    rag.ingest(seed_copy)
    return rag


def test_a_changed_file_gets_new_chunks_that_answer_with_exact_offsets(rag_over_copy, seed_copy):
    rag = rag_over_copy
    before = indexed(rag)
    path = seed_copy / ENGLISH
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{NEW_SENTENCE}\n", encoding="utf-8")

    report = rag.reingest_document(ENGLISH)

    assert report.outcome == "updated" and report.document == ENGLISH
    assert report.files_seen == 1 and report.files_updated == [ENGLISH] and not report.files_removed
    assert report.chunks_before == before[ENGLISH]["chunks"]
    assert report.chunks == indexed(rag)[ENGLISH]["chunks"] >= report.chunks_before
    assert 0 < report.chunks_embedded < report.chunks  # the chunks whose text is unchanged kept their vectors
    assert "updated" in report.summary() and f"{report.chunks_before} → {report.chunks} chunks" in report.summary()
    others = {s: d for s, d in indexed(rag).items() if s != ENGLISH}
    assert others == {s: d for s, d in before.items() if s != ENGLISH}
    passage = rag.retrieve("Who painted the Fortress of Solitude orange?", top_k=3)[0]
    assert passage.source == ENGLISH and "Oskarsson" in passage.text
    assert path.read_text(encoding="utf-8")[passage.start : passage.end] == passage.text
    assert report.to_json()["outcome"] == "updated"


def test_an_unchanged_file_is_reported_unchanged_and_nothing_is_embedded(rag_over_copy):
    report = rag_over_copy.reingest_document(ENGLISH)
    assert report.outcome == "unchanged"
    assert report.chunks_embedded == 0 and report.chunks == report.chunks_before > 0
    assert report.summary().startswith(f"{ENGLISH} is unchanged")


def test_an_unchanged_file_is_unchanged_for_another_rag_on_the_same_store(rag_over_copy, fresh_rag, seed_copy):
    other = fresh_rag()  # another process: no index loaded, the store's stamp and manifest decide
    report = other.reingest_document(ENGLISH, source_dir=seed_copy)
    assert report.outcome == "unchanged" and report.chunks_embedded == 0


def test_a_new_title_in_the_metadata_file_is_applied_without_re_embedding(rag_over_copy, seed_copy):
    metadata = seed_copy / "sources.json"
    data = json.loads(metadata.read_text(encoding="utf-8"))
    data["documents"][ENGLISH]["title"] = "The crossover, retitled"
    metadata.write_text(json.dumps(data), encoding="utf-8")
    report = rag_over_copy.reingest_document(ENGLISH)
    assert report.outcome == "updated" and report.chunks_embedded == 0
    assert "nothing was re-embedded" in report.summary()
    assert indexed(rag_over_copy)[ENGLISH]["title"] == "The crossover, retitled"


def test_only_the_one_file_is_read_and_other_files_gone_stay_indexed(rag_over_copy, seed_copy):
    gone, changed = seed_sources()[0], seed_sources()[1]
    (seed_copy / gone).unlink()
    (seed_copy / changed).write_text("Ganz neuer Text über Lex Luthor und die Farm.\n", encoding="utf-8")
    report = rag_over_copy.reingest_document(ENGLISH)
    assert report.outcome == "unchanged"
    assert gone in indexed(rag_over_copy) and not report.files_removed  # a folder ingest would remove it


def test_a_file_gone_from_the_folder_is_a_specific_error_and_stays_indexed(rag_over_copy, seed_copy):
    (seed_copy / ENGLISH).unlink()
    with pytest.raises(DocumentFileMissingError) as raised:
        rag_over_copy.reingest_document(ENGLISH)
    assert raised.value.source == ENGLISH
    assert str(seed_copy) in str(raised.value) and "Remove it from the index" in str(raised.value)
    with pytest.raises(DocumentFileMissingError):
        rag_over_copy.indexed_file(ENGLISH)
    assert ENGLISH in indexed(rag_over_copy)
    rag_over_copy.remove_from_index(ENGLISH)  # what the error offers
    assert ENGLISH not in indexed(rag_over_copy)


def test_a_file_that_cannot_be_read_anymore_keeps_its_earlier_text(rag_over_copy, seed_copy):
    before = indexed(rag_over_copy)[ENGLISH]
    (seed_copy / ENGLISH).write_bytes("Grüße aus Köln\n".encode("latin-1"))
    with pytest.raises(CorpusError, match="cannot be read.*keeps its earlier text"):
        rag_over_copy.reingest_document(ENGLISH)
    assert indexed(rag_over_copy)[ENGLISH] == before


@pytest.mark.parametrize("source", ["nothing.txt", "../corpus/002_835fa61d1c21454d.txt", "sources.json"])
def test_a_source_that_is_not_indexed_is_refused_with_what_to_do(rag_over_copy, source):
    with pytest.raises(CorpusError, match="not in the index.*python -m rag ingest"):
        rag_over_copy.reingest_document(source)


def test_a_document_removed_from_the_index_is_refused_with_how_to_add_it_back(rag_over_copy):
    rag_over_copy.remove_from_index(ENGLISH)
    with pytest.raises(CorpusError, match="removed from the index.*add it back"):
        rag_over_copy.reingest_document(ENGLISH)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=child_environment(),
        timeout=300,
    )


def test_the_cli_re_ingests_one_document(tmp_path):
    corpus, store = copy_seeds(tmp_path / "corpus"), tmp_path / "store"
    assert run_cli("ingest", "--source", str(corpus), "--store", str(store), "--no-progress").returncode == 0
    unchanged = run_cli("reingest", ENGLISH, "--store", str(store))
    assert unchanged.returncode == 0, unchanged.stderr
    assert f"{ENGLISH} is unchanged" in unchanged.stdout
    path = corpus / ENGLISH
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{NEW_SENTENCE}\n", encoding="utf-8")
    updated = run_cli("reingest", ENGLISH, "--store", str(store), "--json")
    assert updated.returncode == 0, updated.stderr
    result = json.loads(updated.stdout)
    assert result["source"] == ENGLISH and result["outcome"] == "updated" and result["chunks_embedded"] > 0
    path.unlink()
    missing = run_cli("reingest", ENGLISH, "--store", str(store))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"{ENGLISH} is no longer in the folder {corpus}" in missing.stderr
