"""Incremental ingest as a state machine: whatever happened to the folder and however often an
ingest was interrupted, a completed ingest leaves the index a fresh ingest would build.

In the style of chroma's ``chromadb/test/property/test_embeddings.py``: hypothesis drives random
sequences of rules (add, change, copy and delete files; ingest; interrupt an ingest after a few
windows of chunks) against the real chunker, embedding and Chroma store, and checks invariants.

It covers what the example tests of test_ingest.py leave open: sequences of changes rather than
one, several ingests interrupted in a row (and an interrupted ingest whose folder changes before
the resume), files cut across windows of random sizes, identical texts in several files, files
that make no chunk, deleted files that come back, a resumed ingest compared chunk by chunk (ids,
texts, offsets, metadata, vectors, gloss vectors, manifest) with a fresh ingest, and the
in-memory search index (snapshot) after each ingest compared with the store. Between any two
steps, even right after an interruption, every file the manifest names has all its chunks, and
each slices exactly the version of the file the manifest names.

Two examples it found are kept below: a sources.json description that did not reach an existing
index (fixed with the store-integrity work: descriptions are part of what an ingest compares), and
vectors that depend on the window they were embedded in (a strict xfail: padding moves short texts'
vectors by ~1e-3).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from rag.api import Rag, open_rag
from rag.errors import CorpusError
from rag.index.store import ChunkStore, FileRecord
from rag.ingest.documents import read_document
from rag.ingest.pipeline import ingest_folder, read_corpus
from support.seeds import seed_sources, seed_text
from support.settings import make_settings

VECTOR_TOLERANCE = 1e-6  # the same vectors (a store and its snapshot)
# A text's vector depends a little on the batch it is embedded in (padding to the batch's longest
# text): the bound test_embeddings.py::test_openvino_batches_and_single_texts_give_the_same_vectors
# holds the embedding to. An incremental ingest embeds other batches than a fresh one.
BATCH_COSINE = 0.9995
FILE_NAMES = ("a.txt", "b.md", "notes/c.txt", "notes/d.md", "e.txt")


def seed_paragraphs() -> list[str]:
    """Paragraphs of the seed texts: the English chapter's own, and runs of three sentences of
    the German summaries (each of which is one long paragraph)."""
    paragraphs = []
    for source in seed_sources():
        text = seed_text(source)
        parts = [p.strip() for p in text.split("\n\n") if p.strip()]
        if len(parts) == 1:
            sentences = re.split(r"(?<=[.!?])\s+", parts[0])
            parts = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
        paragraphs.extend(p for p in parts if 20 <= len(p) <= 700)
    return paragraphs


SEED_PARAGRAPHS = seed_paragraphs()


def seed_paragraph_number(n: int) -> str:
    return SEED_PARAGRAPHS[n]


seed_paragraph = st.integers(min_value=0, max_value=len(SEED_PARAGRAPHS) - 1).map(seed_paragraph_number)
made_up_words = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ .,;:!?-'\n\r\t"),
    max_size=300,
)
paragraphs = st.one_of(seed_paragraph, seed_paragraph, made_up_words)  # two thirds from the seeds
paragraph_lists = st.lists(paragraphs, min_size=1, max_size=5).map("\n\n".join)
headed = st.builds(lambda heading, body: f"# {heading}\n\n{body}", st.sampled_from(["Notizen", "Notes", "Clark"]), paragraphs)
no_chunk = st.sampled_from(["", " \n\n ", "\n"])  # files that make no chunk
contents = st.one_of(paragraph_lists, paragraph_lists, paragraph_lists, headed, no_chunk)  # a fifth without chunks


@dataclass(frozen=True)
class IndexContents:
    """Everything an ingest leaves in a store, in a form two stores can be compared by."""

    chunks: list[tuple[str, str, dict]]  # (chunk id, text, metadata) of the chunks the manifest vouches for
    vectors: np.ndarray  # one row per chunk, in the same order
    records: dict[str, FileRecord]
    stored_chunks: int  # every chunk in the store, vouched for or not
    glosses: dict[str, str]  # chunk id -> hash of its gloss
    gloss_vectors: dict[str, np.ndarray]

    @classmethod
    def of(cls, store: ChunkStore) -> IndexContents:
        current = store.current_chunks()
        ids = [c.chunk_id for c in current]
        vectors = store.chunk_vectors(ids)
        gloss_hashes = store.glosses.hashes()
        gloss_vectors = store.glosses.vectors(sorted(gloss_hashes))
        return cls(
            chunks=[(c.chunk_id, c.text, c.metadata) for c in current],
            vectors=np.array([vectors[i] for i in ids] or np.zeros((0, 0)), dtype=np.float64),
            records=store.file_records(),
            stored_chunks=store.count(),
            glosses=gloss_hashes,
            gloss_vectors={i: np.asarray(v, dtype=np.float64) for i, v in gloss_vectors.items()},
        )


def assert_same_index(actual: IndexContents, expected: IndexContents) -> None:
    assert actual.records == expected.records
    assert [c[0] for c in actual.chunks] == [c[0] for c in expected.chunks]
    assert actual.chunks == expected.chunks
    assert actual.stored_chunks == expected.stored_chunks == len(expected.chunks)
    assert actual.vectors.shape == expected.vectors.shape
    assert_same_vectors(actual.vectors, expected.vectors)
    assert actual.glosses == expected.glosses
    for chunk_id, vector in expected.gloss_vectors.items():
        assert_same_vectors(actual.gloss_vectors[chunk_id][None, :], vector[None, :])


def assert_same_vectors(actual: np.ndarray, expected: np.ndarray) -> None:
    """Within VECTOR_TOLERANCE, or (embedded in other batches) within BATCH_COSINE."""
    if np.allclose(actual, expected, rtol=0, atol=VECTOR_TOLERANCE):
        return
    seen("vectors differ from a fresh ingest's by their batches only")
    cosines = (actual * expected).sum(axis=1) / np.linalg.norm(actual, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= BATCH_COSINE, cosines


SEEN: Counter[str] = Counter()  # what the runs exercised; the test checks the rules really ran


def seen(what: str) -> None:
    SEEN[what] += 1


class IncrementalIngest(RuleBasedStateMachine):
    """The folder on disk is the model; the store must follow it."""

    names = Bundle("names")

    def __init__(self, embedding, root: Path):
        super().__init__()
        self.embedding = embedding
        self.work = Path(tempfile.mkdtemp(dir=root))
        self.folder = self.work / "corpus"
        self.folder.mkdir()
        self.files: dict[str, str] = {}
        self.versions: dict[str, str] = {}  # content hash -> text of every version ever written
        self.ingests = 0
        self.overrides: dict = {}
        self.rag: Rag | None = None

    def teardown(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    # --- the folder -------------------------------------------------------------------------------

    def write(self, name: str, text: str) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))  # bytes: newlines kept exactly as drawn
        # the version as the index holds it: the reader's text (a lone CR is a line end) and hash
        # (a Markdown file's includes the reader version: rag.ingest.documents.content_hash)
        document = read_document(path, self.folder, {})
        self.files[name] = document.read_text()
        self.versions[document.content_hash] = self.files[name]

    @initialize(
        target=names,
        window=st.sampled_from([1, 2, 3, 4, 1024]),
        chunk_size=st.sampled_from([40, 64, 200]),
        first=st.sampled_from(FILE_NAMES),
        text=contents,
    )
    def open_store(self, window: int, chunk_size: int, first: str, text: str):
        self.overrides = {"ingest_window": window, "chunk_size": chunk_size, "chunk_overlap": chunk_size // 5}
        self.rag = open_rag(make_settings(self.work / "store", **self.overrides), embedding=self.embedding)
        self.write(first, text)
        return first

    @rule(target=names, name=st.sampled_from(FILE_NAMES), text=contents)
    def add_file(self, name: str, text: str):
        self.write(name, text)
        return name

    @rule(name=names, text=paragraphs, how=st.sampled_from(["append", "prepend", "replace"]))
    def change_file(self, name: str, text: str, how: str):
        if name not in self.files:
            return
        old = self.files[name]
        new = {"append": f"{old}\n\n{text}", "prepend": f"{text}\n\n{old}", "replace": text}[how]
        self.write(name, new)

    @rule(target=names, original=names, name=st.sampled_from(FILE_NAMES))
    def copy_file(self, original: str, name: str):
        if original not in self.files:
            return multiple()
        self.write(name, self.files[original])
        return name

    @rule(name=consumes(names))
    def delete_file(self, name: str):
        if name in self.files:
            (self.folder / name).unlink()
            del self.files[name]
    
    # --- ingests ------------------------------------------------------------------------------------

    @rule()
    def ingest(self):
        if not self.files:
            with pytest.raises(CorpusError, match=r"No \.txt or \.md .*files found"):
                self.rag.ingest(self.folder)
            return
        report = self.rag.ingest(self.folder)
        self.ingests += 1
        assert sorted(report.files_added + report.files_updated + report.files_unchanged) == sorted(self.files)
        assert report.chunks_total == len(self.rag.store().current_chunks())
        self.check_same_as_a_fresh_ingest()
        self.check_search_index_matches_the_store()

    @precondition(lambda self: self.files)
    @rule()
    def interrupt_an_ingest_after_its_first_window(self):
        self.interrupted_ingest(after_windows=1)

    @precondition(lambda self: self.files)
    @rule()
    def interrupt_an_ingest_after_its_second_window(self):
        self.interrupted_ingest(after_windows=2)

    def interrupted_ingest(self, after_windows: int):
        """Ctrl-C during an ingest: KeyboardInterrupt raised from the progress callback, which runs
        after each window of chunks is stored and the files it completed are committed. With fewer
        windows to write, the ingest completes instead and is checked like any other."""
        windows = 0

        def progress(done: int, total: int, source: str) -> None:
            nonlocal windows
            windows += 1
            if windows >= after_windows:
                raise KeyboardInterrupt

        store = self.rag.store(create=True)
        try:
            corpus = read_corpus(self.folder, self.rag.settings)
            ingest_folder(corpus, store, self.rag.embedding, self.rag.settings, progress)
        except KeyboardInterrupt:
            seen("an ingest was interrupted")
            if store.count() > len(store.current_chunks()):
                seen("an interruption left stored chunks that no committed file vouches for")
            return
        seen("an ingest meant to be interrupted completed (fewer windows)")
        self.ingests += 1
        self.check_same_as_a_fresh_ingest()

    # --- invariants ---------------------------------------------------------------------------------

    @invariant()
    def readers_only_see_whole_committed_versions(self):
        """At every point, even right after an interruption, every file in the manifest has all
        its chunks, numbered 0..n-1, each slicing exactly the version the manifest names."""
        if self.rag is None or not (self.work / "store" / "chroma.sqlite3").exists():
            return
        store = self.rag.store()
        records = store.file_records()
        by_source: dict[str, list] = {}
        for chunk in store.current_chunks():
            by_source.setdefault(chunk.metadata["source"], []).append(chunk)
        assert set(by_source) <= set(records)
        for source, record in records.items():
            chunks = by_source.get(source, [])
            assert sorted(c.metadata["chunk_index"] for c in chunks) == list(range(record.n_chunks))
            text = self.versions[record.content_hash]
            assert record.chars == len(text)
            for chunk in chunks:
                assert text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.text

    def check_same_as_a_fresh_ingest(self):
        """The fresh ingest writes everything in one window (the default): windows only decide
        when work is stored, never what is stored."""
        overrides = {**self.overrides, "ingest_window": 1024}
        fresh = open_rag(make_settings(self.work / f"fresh-{self.ingests}", **overrides), embedding=self.embedding)
        fresh.ingest(self.folder)
        actual = IndexContents.of(self.rag.store())
        expected = IndexContents.of(fresh.store())
        assert_same_index(actual, expected)
        seen(f"chunks after a completed ingest: {'0' if not actual.chunks else '1-9' if len(actual.chunks) < 10 else '10+'}")
        seen("compared with a fresh ingest")
        assert set(actual.records) == set(self.files)
        for _, text, metadata in actual.chunks:
            read = open(self.folder / metadata["source"], encoding="utf-8").read()
            assert read[metadata["start"] : metadata["end"]] == text

    def check_search_index_matches_the_store(self):
        """The in-memory index a question is answered from (loaded from the ingest's snapshot)
        holds exactly the store's current chunks and vectors."""
        index = self.rag.retriever().index if self.rag.store().count() else None
        if index is None:
            return
        contents = IndexContents.of(self.rag.store())
        assert [(c.chunk_id, c.text) for c in index.chunks] == [(i, t) for i, t, _ in contents.chunks]
        np.testing.assert_allclose(index.vectors, contents.vectors, rtol=0, atol=VECTOR_TOLERANCE)


@pytest.mark.slow
def test_incremental_ingest_always_ends_where_a_fresh_ingest_of_the_folder_would(embedding, tmp_path):
    SEEN.clear()
    run_state_machine_as_test(
        lambda: IncrementalIngest(embedding, tmp_path),
        settings=settings(
            max_examples=10,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
    print(dict(SEEN))  # shown with -s: what the runs covered (interruptions, batch-only differences, ...)
    assert SEEN["compared with a fresh ingest"]


def test_a_new_description_in_sources_json_reaches_the_index_like_a_fresh_ingest(tmp_path, embedding):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Clark Kent works at the Daily Planet as a reporter in Metropolis.\n")
    rag = open_rag(make_settings(tmp_path / "store"), embedding=embedding)
    rag.ingest(folder)
    described = {"documents": {"a.txt": {"title": "The Daily Planet", "language": "de", "kind": "note"}}}
    (folder / "sources.json").write_text(json.dumps(described))
    rag.ingest(folder)
    fresh = open_rag(make_settings(tmp_path / "fresh"), embedding=embedding)
    fresh.ingest(folder)
    assert_same_index(IndexContents.of(rag.store()), IndexContents.of(fresh.store()))


@pytest.mark.xfail(
    strict=True,
    reason="the embedding (openvino-int8, f32) pads a batch to its longest text and the padding changes "
    "the short texts' vectors (here 2.6e-3 in a component, cosine 0.99989): chunks embedded in windows "
    "of one differ from the same chunks embedded together by a fresh ingest",
)
def test_vectors_do_not_depend_on_the_window_they_were_embedded_in(tmp_path, embedding):
    """The example the state machine found for the invariant "same vectors within 1e-6"."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "# Clark\n\nClark is blasted in the back by Aethyr's heat vision and knocked to the floor. He quickly "
        "turns around and rolls out of the way when Aethyr tries to jump on him and gets to his feet. Aethyr "
        "throws a punch but Clark gets out of the way taking advantage of the fact that he has absorbed far "
        "more sunlight then she has he delivers a punch to her stomach and superspeeds behind her delivering "
        "an elbow to her spine along with a knee to her gut knocking her into the air but Clark hits her with "
        "a double axe handle knocking her to the ground."
    )
    vectors = []
    for window in (1, 1024):
        rag = open_rag(make_settings(tmp_path / f"store-{window}", chunk_size=40, chunk_overlap=8, ingest_window=window), embedding=embedding)
        rag.ingest(folder)
        vectors.append(IndexContents.of(rag.store()).vectors)
    np.testing.assert_allclose(vectors[0], vectors[1], rtol=0, atol=VECTOR_TOLERANCE)
