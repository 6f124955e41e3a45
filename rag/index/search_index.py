"""The in-memory search index: the current chunks of a store with their vectors and lexical index.

Built from the store, or loaded from a disk snapshot of an earlier build (rag.index.snapshot),
which needs no Chroma at all.
"""

from __future__ import annotations

import numpy as np

from rag.errors import IncompleteStoreError
from rag.index.chunk_table import ChunkTable
from rag.index.lexical import LexicalDocument, LexicalIndex
from rag.index.store import ChunkStore, FileRecord, StoredChunk

SNAPSHOT_METADATA_KEYS = (
    "source", "title", "language", "kind", "start", "end", "page_start", "page_end", "section", "chunk_index",
    "gap_before",
)


class SearchIndex:
    """The current chunks of a store with their vectors and lexical index, in memory.

    Built from the store (``from_store``) or from a disk snapshot of an earlier build
    (``from_state``; see rag.index.snapshot), which needs no Chroma at all. ``chunks`` is a ChunkTable
    (columns, read one chunk at a time); ``vectors`` has a row per chunk; ``gloss_vectors`` a row
    per German chunk (``german_rows``, in order): only German chunks have a gloss, so an English
    corpus does not hold (and load) its vectors twice. ``meaning_vectors`` has a row per chunk in
    ``meaning_rows`` (the chunks with a multilingual meaning vector, rag.ingest.meaning).
    """

    def __init__(
        self,
        records: dict[str, FileRecord],
        chunks: ChunkTable,
        vectors: np.ndarray,
        gloss_vectors: np.ndarray,
        lexical: LexicalIndex | None = None,
        store: ChunkStore | None = None,
        meaning_vectors: np.ndarray | None = None,
        meaning_rows: np.ndarray | None = None,
    ):
        self.store = store
        self.version = ""  # the index version it was loaded as (set by load_search_index)
        self.records = records
        self.chunks = chunks
        self.vectors = vectors
        self.gloss_vectors = gloss_vectors
        self.lexical = lexical or LexicalIndex(
            [LexicalDocument(c.text, c.metadata.get("language", "und")) for c in chunks]
        )
        rows_by_language = chunks.rows_by_value("language", "und")
        self.languages = sorted(rows_by_language)
        self.indices_by_language = {lang: rows_by_language[lang] for lang in self.languages}
        self.german_rows = self.indices_by_language.get("de", np.zeros(0, dtype=np.int64))
        if len(gloss_vectors) != len(self.german_rows):
            raise ValueError(f"{len(gloss_vectors)} gloss vectors for {len(self.german_rows)} German chunks")
        self.meaning_rows = meaning_rows if meaning_rows is not None else np.zeros(0, dtype=np.int64)
        self.meaning_vectors = meaning_vectors if meaning_vectors is not None else np.zeros((0, 0), dtype=np.float32)
        if len(self.meaning_vectors) != len(self.meaning_rows):
            raise ValueError(f"{len(self.meaning_vectors)} meaning vectors for {len(self.meaning_rows)} rows")

    @property
    def has_meaning(self) -> bool:
        return len(self.meaning_rows) > 0

    def meaning_scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of a meaning vector with every chunk's meaning vector; NaN where a chunk has none."""
        scores = np.full(len(self.chunks), np.nan, dtype=np.float32)
        if len(self.meaning_rows):
            scores[self.meaning_rows] = self.meaning_vectors @ vector
        return scores

    def gloss_scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of ``vector`` with every German chunk's gloss; 0 for the other chunks."""
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        if len(self.german_rows):
            scores[self.german_rows] = self.gloss_vectors @ vector
        return scores

    @classmethod
    def from_store(cls, store: ChunkStore) -> SearchIndex:
        chunks = [
            StoredChunk(c.chunk_id, c.text, {k: c.metadata[k] for k in SNAPSHOT_METADATA_KEYS if k in c.metadata})
            for c in store.current_chunks()
        ]
        vectors, gloss_vectors = _load_vectors(store, chunks)
        meaning_vectors, meaning_rows = _load_meaning_vectors(store, chunks)
        return cls(
            store.file_records(),
            ChunkTable.of(chunks),
            vectors,
            gloss_vectors,
            store=store,
            meaning_vectors=meaning_vectors,
            meaning_rows=meaning_rows,
        )

    def state(self) -> dict:
        """What a snapshot stores; ``from_state`` rebuilds an equal index from it."""
        return {
            "records": self.records,
            "chunks": self.chunks,
            "vectors": self.vectors,
            "gloss_vectors": self.gloss_vectors,
            "lexical": self.lexical,
            "meaning_vectors": self.meaning_vectors,
            "meaning_rows": self.meaning_rows,
        }

    @classmethod
    def from_state(cls, state: dict, store: ChunkStore | None = None) -> SearchIndex:
        return cls(
            state["records"],
            state["chunks"],
            state["vectors"],
            state["gloss_vectors"],
            state["lexical"],
            store,
            state["meaning_vectors"],
            state["meaning_rows"],
        )

    def vocabulary(self, language: str) -> dict[str, int]:
        return self.lexical.vocabulary(language)


def _load_vectors(store: ChunkStore, chunks: list[StoredChunk]) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors (a row per chunk) and gloss vectors (a row per German chunk, in order; one
    whose gloss is not stored yet gets its own vector). Dense search is then matrix products."""
    ids = [c.chunk_id for c in chunks]
    if not ids:
        return np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.float32)
    by_id = store.chunk_vectors(ids)
    vectors = np.array([by_id[i] for i in ids], dtype=np.float32)
    german = [i for i, c in enumerate(chunks) if c.metadata.get("language") == "de"]
    glosses = vectors[german].copy() if german else np.zeros((0, vectors.shape[1]), dtype=np.float32)
    stored = store.glosses.vectors([ids[i] for i in german]) if german else {}
    for row, i in enumerate(german):
        if ids[i] in stored:
            glosses[row] = stored[ids[i]]
    return vectors, glosses


def load_search_index(settings, open_store, version: str | None = None) -> SearchIndex:
    """The index for the store's current version: from a snapshot when one matches, else built
    from the store and snapshotted. ``open_store()`` returns the ChunkStore (opened only if needed);
    ``version`` is the store's index version when the caller knows it already."""
    from rag.index import snapshot

    stamped = version or snapshot.read_stamp(settings)
    if stamped:
        index = _index_from_snapshot(settings, stamped)
        if index is not None:
            return index
    store = open_store()
    if version is None:
        completion = store.completion()
        if not completion.complete:
            return _last_complete_index(settings, store, completion.version)
        version = snapshot.index_version(store)
    index = _index_from_snapshot(settings, version, store)
    if index is not None:
        return index
    index = SearchIndex.from_store(store)
    index.version = version
    snapshot.save_snapshot(settings, version, index.state())
    return index


def _last_complete_index(settings, store: ChunkStore, version: str) -> SearchIndex:
    """While an ingest runs (or after one was interrupted) the store holds a mix of versions:
    readers get the snapshot of the last finished one, or an error saying what to do."""
    index = _index_from_snapshot(settings, version, store) if version else None
    if index is not None:
        return index
    raise IncompleteStoreError(
        f"The index at {store.location} is incomplete: an ingest is running or was interrupted before "
        f"it finished. Ask again when it has finished, or complete it: python -m rag ingest --source "
        f"{settings.source_dir}"
    )


def _index_from_snapshot(settings, version: str, store: ChunkStore | None = None) -> SearchIndex | None:
    from rag.index import snapshot

    state = snapshot.load_snapshot(settings, version)
    if state is None:
        return None
    index = SearchIndex.from_state(state, store)
    index.version = version
    return index


def _load_meaning_vectors(store: ChunkStore, chunks: list[StoredChunk]) -> tuple[np.ndarray, np.ndarray]:
    """The stored meaning vectors and the rows of the chunks they belong to, in row order."""
    by_id = store.meaning.vectors([c.chunk_id for c in chunks]) if chunks else {}
    rows = np.array([i for i, c in enumerate(chunks) if c.chunk_id in by_id], dtype=np.int64)
    if not len(rows):
        return np.zeros((0, 0), dtype=np.float32), rows
    return np.array([by_id[chunks[i].chunk_id] for i in rows], dtype=np.float32), rows
