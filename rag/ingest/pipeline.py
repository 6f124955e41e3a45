"""Incremental ingestion: a folder in, an up-to-date store out.

- Unchanged files (same content hash, same chunker and model) are skipped: nothing is re-embedded.
- A changed file's chunks are replaced; chunks whose text did not change keep their vectors.
- A deleted file's chunks are removed.
- Every file is committed to the manifest only after all its chunks are stored, so an interrupted
  run leaves nothing that readers trust, and the next run resumes without re-embedding what was
  already stored.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.config import Settings
from rag.errors import CorpusError
from rag.embedding.meaning import MeaningModel
from rag.index.store import ChunkStore, FileRecord
from rag.ingest.meaning import update_meaning_vectors
from rag.ingest.chunking import Chunk, Chunker
from rag.ingest.documents import FolderReading, PageProgress, SourceDocument, read_documents
from rag.types import IngestReport

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]  # (chunks done, chunks to embed, current file)


def chunk_id(chunk: Chunk, fingerprint: str) -> str:
    key = f"{chunk.document.source}\0{chunk.document.content_hash}\0{chunk.index}\0{fingerprint}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def read_corpus(folder: Path, settings: Settings, on_page: PageProgress | None = None) -> FolderReading:
    """All readable documents of the folder, and the files skipped with their reasons; fails
    before anything is written when no file can be read."""
    reading = read_documents(folder, settings, on_page)
    if not reading.documents:
        if reading.skipped:
            reasons = "\n  ".join(f"{f.source}: {f.reason}" for f in reading.skipped)
            raise CorpusError(f"Nothing was ingested: no file of {folder} can be read.\n  {reasons}")
        extensions = " or ".join(settings.file_extensions)
        raise CorpusError(f"No {extensions} files found in {folder}: nothing to ingest.")
    return reading


def ingest_folder(
    folder: Path,
    store: ChunkStore,
    embedding: BaseEmbedding,
    settings: Settings,
    progress: ProgressCallback | None = None,
    on_page: PageProgress | None = None,
    meaning: MeaningModel | None = None,
) -> IngestReport:
    started = time.perf_counter()
    reading = read_corpus(folder, settings, on_page)
    documents = reading.documents
    chunker = Chunker(settings)
    fingerprint = chunker.fingerprint
    records = store.file_records()
    report = IngestReport(
        source_dir=str(folder), files_seen=len(documents) + len(reading.skipped), files_skipped=reading.skipped
    )

    to_write = []
    for document in documents:
        record = records.get(document.source)
        if record and record.content_hash == document.content_hash and record.fingerprint == fingerprint:
            report.files_unchanged.append(document.source)
        else:
            (report.files_updated if record else report.files_added).append(document.source)
            to_write.append(document)

    chunks_by_document = {d.source: chunker.chunk(d) for d in to_write}
    writer = _ChunkWriter(store, embedding, settings, fingerprint, report, progress)
    for record in writer.write(to_write, chunks_by_document):
        records[record.source] = record

    present = {d.source for d in documents}
    for source in sorted(set(records) - present):
        store.forget_file(source)
        del records[source]
        report.files_removed.append(source)

    stale = store.delete_stale_chunks(records)
    _update_glosses(store, embedding, settings, records, fingerprint, unchanged=not report.changed and not stale)
    _update_meaning(store, meaning, settings, records, unchanged=not report.changed and not stale)
    report.chunks_total = sum(r.n_chunks for r in records.values())
    report.seconds = time.perf_counter() - started
    return report


def _update_glosses(
    store: ChunkStore, embedding: BaseEmbedding, settings: Settings, records: dict, fingerprint: str, unchanged: bool
) -> None:
    """Keep the English-gloss vectors of German chunks in step with the chunks (see rag.text.gloss)."""
    from rag.text.gloss import update_gloss_vectors
    from rag.text.translate import dictionary_for

    german_chunks = sum(r.n_chunks for r in records.values() if r.language == "de")
    if unchanged and store.glosses.count() == german_chunks:
        return  # an unchanged corpus whose glosses are complete: nothing to read or embed
    dictionary = dictionary_for(settings) if german_chunks else None
    embedded = update_gloss_vectors(store, embedding, dictionary, fingerprint, settings.ingest_window)
    if embedded:
        log.info("embedded %d gloss vectors of German chunks", embedded)


def _update_meaning(
    store: ChunkStore, meaning: MeaningModel | None, settings: Settings, records: dict, unchanged: bool
) -> None:
    """Keep the meaning vectors in step with the chunks (see rag.ingest.meaning)."""
    if meaning is not None and unchanged:
        expected = sum(
            r.n_chunks for r in records.values() if settings.meaning_chunks == "all" or r.language != "en"
        )
        if store.meaning.count() == expected:
            return  # an unchanged corpus whose meaning vectors are complete
    update_meaning_vectors(store, meaning, settings)


class _ChunkWriter:
    """Embeds and stores the chunks of many files in windows of ``settings.ingest_window`` chunks.

    A window spans files: small files no longer make tiny model batches, the embedding sorts a
    whole window by length (less padding), and Chroma gets one write per window instead of one
    per file (each write costs ~30 ms however small). Identical texts (5% of the chunks of the
    10^4 benchmark corpus: licences, boilerplate) are embedded once. A file is committed to the
    manifest in the first window that completes it, after its chunks are stored, so an
    interrupted run keeps every finished window and readers never see a half-written file.
    """

    def __init__(self, store, embedding, settings, fingerprint, report, progress):
        self.store = store
        self.embedding = embedding
        self.fingerprint = fingerprint
        self.report = report
        self.progress = progress
        self.window = settings.ingest_window
        self._shared: dict[str, list[float]] = {}  # vectors of texts that occur more than once

    def write(self, documents: list[SourceDocument], chunks_by_document: dict[str, list[Chunk]]) -> Iterator[FileRecord]:
        """Embeds, stores and commits every document; yields each manifest record once committed."""
        if not documents:
            return
        reusable_by_source, present_by_source = self.store.stored_chunks_by_source(self.fingerprint)
        pending = [c for d in documents for c in chunks_by_document[d.source]]
        uncommitted = deque(_chunk_ends(documents, chunks_by_document))
        repeated = {h for h, n in Counter(c.text_hash for c in pending).items() if n > 1}
        for offset in range(0, len(pending), self.window):
            window = pending[offset : offset + self.window]
            vectors = self._vectors_for(window, reusable_by_source)
            self._shared.update((h, v) for h, v in vectors.items() if h in repeated)
            self._store(window, vectors, present_by_source)
            yield from self._commit(uncommitted, chunks_by_document, stored=offset + len(window))
            if self.progress:
                self.progress(offset + len(window), len(pending), window[-1].document.source)
        yield from self._commit(uncommitted, chunks_by_document, stored=len(pending))

    def _commit(self, uncommitted: deque, chunks_by_document: dict, stored: int) -> Iterator[FileRecord]:
        """Commits, in one manifest write, the documents whose chunks are all among the first
        ``stored`` (``uncommitted`` holds (end, document) in order)."""
        records = []
        while uncommitted and uncommitted[0][0] <= stored:
            document = uncommitted.popleft()[1]
            records.append(_record(document, chunks_by_document[document.source], self.fingerprint))
        if records:
            self.store.commit_files(records)
        yield from records

    def _vectors_for(self, window: list[Chunk], reusable_by_source: dict) -> dict[str, list[float]]:
        """Text hash -> vector for every chunk of the window: stored vectors of unchanged texts are
        read back in one call, the other distinct texts embedded in one call."""
        reuse_ids = {}
        for chunk in window:
            stored_id = reusable_by_source.get(chunk.document.source, {}).get(chunk.text_hash)
            if stored_id is not None:
                reuse_ids[chunk.text_hash] = stored_id
        stored = self.store.chunk_vectors(list(reuse_ids.values())) if reuse_ids else {}
        vectors = {h: stored[i] for h, i in reuse_ids.items() if i in stored}
        vectors.update((c.text_hash, self._shared[c.text_hash]) for c in window if c.text_hash in self._shared)
        missing = {c.text_hash: c.text for c in window if c.text_hash not in vectors}
        if missing:
            embedded = self.embedding.get_text_embedding_batch(list(missing.values()))
            vectors.update(zip(missing, embedded))
            self.report.chunks_embedded += len(missing)
        self.report.chunks_reused += len(window) - len(missing)
        return vectors

    def _store(self, window: list[Chunk], vectors: dict[str, list[float]], present_by_source: dict) -> None:
        """Writes the window's chunks that are not stored yet (a resumed run kept the others)."""
        ids = [chunk_id(chunk, self.fingerprint) for chunk in window]
        new = [(c, i) for c, i in zip(window, ids) if i not in present_by_source.get(c.document.source, ())]
        if new:
            self.store.add_chunks(
                ids=[i for _, i in new],
                vectors=[vectors[c.text_hash] for c, _ in new],
                texts=[c.text for c, _ in new],
                metadatas=[self._metadata(c) for c, _ in new],
            )

    def _metadata(self, chunk: Chunk) -> dict:
        document = chunk.document
        return {
            "source": document.source,
            "title": document.title,
            "language": document.language,
            "kind": document.kind,
            "start": chunk.start,
            "end": chunk.end,
            **document.location(chunk.start, chunk.end).to_metadata(),
            "chunk_index": chunk.index,
            "doc_hash": document.content_hash,
            "text_hash": chunk.text_hash,
            "fingerprint": self.fingerprint,
        }


def _chunk_ends(documents: list[SourceDocument], chunks_by_document: dict) -> Iterator[tuple[int, SourceDocument]]:
    """(number of chunks up to and including the document's, document), in ingest order."""
    end = 0
    for document in documents:
        end += len(chunks_by_document[document.source])
        yield end, document


def _record(document: SourceDocument, chunks: list[Chunk], fingerprint: str) -> FileRecord:
    return FileRecord(
        source=document.source,
        content_hash=document.content_hash,
        fingerprint=fingerprint,
        title=document.title,
        language=document.language,
        kind=document.kind,
        n_chunks=len(chunks),
        chars=len(document.text),
    )


def tqdm_progress(enabled: bool) -> tuple[ProgressCallback | None, Callable[[], None]]:
    """A progress callback drawing a tqdm bar (chunks, rate, ETA, current file), and its closer."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int, source: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="chunk", desc="Embedding", dynamic_ncols=True)
        bar.set_postfix_str(source[-40:], refresh=False)
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close
