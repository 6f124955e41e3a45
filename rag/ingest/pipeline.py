"""Incremental ingestion: a folder in, an up-to-date store out.

- Unchanged files (same content hash, same chunker and model) are skipped: nothing is re-embedded.
- A changed file's chunks are replaced; chunks whose text did not change keep their vectors.
- A file whose title, language or kind changed in the metadata file keeps its vectors; its chunks'
  metadata and its manifest entry are rewritten.
- A deleted file's chunks are removed (not by a partial corpus: one re-ingested document leaves the
  other files' chunks as they are).
- Every run checks the manifest against the store: a file whose chunks are missing (deleted behind
  our back, or lost by an interrupted writer) is repaired, and glosses are completed.
- Every file is committed to the manifest only after all its chunks are stored, so an interrupted
  run leaves nothing that readers trust, and the next run resumes without re-embedding what was
  already stored.
- The folder's reading keeps no texts (rag.ingest.documents.SourceDocument): a file is read again
  when its chunks are made, checked against its first reading. A file that changed in between is
  skipped with its reason and its index entry left as it was, never stored with chunks of another
  version.

The caller (rag.api) holds the store's write lease and marks the store incomplete before, and
complete after, ``ingest_folder``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.config import Settings
from rag.errors import CorpusError
from rag.embedding.meaning import MeaningModel
from rag.index.store import MAX_CHROMA_BATCH, ChunkStore, FileRecord, batched
from rag.ingest.documents import DocumentChanged, PageProgress, SourceDocument, read_documents
from rag.ingest.fingerprints import chunk_fingerprint
from rag.ingest.meaning import update_meaning_vectors
from rag.types import IngestReport, SkippedFile

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]  # (characters done, characters to ingest, current file)


@dataclass(frozen=True)
class Corpus:
    """The documents of a folder, read and checked, and the files left out.

    ``partial``: the documents are some files of the folder, not all of them (one document
    re-ingested, rag.api.Rag.reingest_document), so files of the index that are not among them
    are kept rather than removed."""

    folder: Path
    documents: list[SourceDocument]
    skipped: list[SkippedFile]
    partial: bool = False


class Guard:
    """What the writer checks between windows (the write lease); the default checks nothing."""

    def check(self) -> None:
        return None


def chunk_id_for(source: str, content_hash: str, index: int, fingerprint: str) -> str:
    key = f"{source}\0{content_hash}\0{index}\0{fingerprint}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def chunk_id(chunk, fingerprint: str) -> str:
    return chunk_id_for(chunk.document.source, chunk.document.content_hash, chunk.index, fingerprint)


def expected_chunk_ids(record: FileRecord) -> list[str]:
    """The ids the manifest entry vouches for (chunk ids are derived, so no chunking is needed)."""
    return [chunk_id_for(record.source, record.content_hash, i, record.fingerprint) for i in range(record.n_chunks)]


def read_corpus(folder: Path, settings: Settings, on_page: PageProgress | None = None) -> Corpus:
    """All readable documents of the folder but those removed from the index
    (rag.ingest.exclusions), and the files skipped with their reasons (unreadable: encrypted or
    text-less PDFs, damaged files, text that is not UTF-8; names that are not UTF-8, links leading
    outside). Fails before anything is written when the metadata file is invalid or no file can
    be read."""
    reading = read_documents(folder, settings, on_page)
    if not reading.documents:
        if reading.skipped:
            reasons = "\n  ".join(f"{f.source}: {f.reason}" for f in reading.skipped)
            raise CorpusError(f"Nothing was ingested: no file of {folder} can be read.\n  {reasons}")
        extensions = " or ".join(settings.file_extensions)
        raise CorpusError(f"No {extensions} files found in {folder}: nothing to ingest.")
    for skipped in reading.skipped:
        log.warning("skipped %s: %s", skipped.source, skipped.reason)
    return Corpus(folder, reading.documents, reading.skipped)


def is_described_as_recorded(document: SourceDocument, record: FileRecord) -> bool:
    """Whether the manifest has the document's title, kind and (declared) language. A detected
    language is not recomputed for an unchanged file: detection needs the text, and its answer
    would not change."""
    language = document.declared_language or record.language
    return (document.title, document.kind, language) == (record.title, record.kind, record.language)


def is_unchanged(document: SourceDocument, record: FileRecord | None, fingerprint: str) -> bool:
    return (
        record is not None
        and record.content_hash == document.content_hash
        and record.fingerprint == fingerprint
        and is_described_as_recorded(document, record)
    )


def ingest_folder(
    corpus: Corpus | Path,
    store: ChunkStore,
    embedding: BaseEmbedding,
    settings: Settings,
    progress: ProgressCallback | None = None,
    meaning: MeaningModel | None = None,
    guard: Guard | None = None,
    was_complete: bool = True,
) -> IngestReport:
    """Bring the store in line with the corpus, or the folder (read here; see the module
    docstring). ``was_complete`` is whether the store's last ingest finished (if not, glosses and
    meaning vectors are checked even when nothing changed)."""
    started = time.perf_counter()
    if not isinstance(corpus, Corpus):
        corpus = read_corpus(Path(corpus), settings)
    guard = guard or Guard()
    documents = corpus.documents
    fingerprint = chunk_fingerprint(settings)
    records = store.file_records()
    present = store.chunk_ids()
    report = IngestReport(source_dir=str(corpus.folder), files_seen=len(documents), files_skipped=corpus.skipped)

    to_write, to_describe = [], []
    for document in documents:
        record = records.get(document.source)
        if record is None or record.content_hash != document.content_hash or record.fingerprint != fingerprint:
            (report.files_updated if record else report.files_added).append(document.source)
            to_write.append(document)
        elif not present.issuperset(expected_chunk_ids(record)):
            report.files_repaired.append(document.source)
            to_write.append(document)
        elif not is_described_as_recorded(document, record):
            report.files_updated.append(document.source)
            to_describe.append(document)
        else:
            report.files_unchanged.append(document.source)
    if report.files_repaired:
        log.warning("chunks missing from the store for %d files; restoring them", len(report.files_repaired))

    if to_write:
        from rag.ingest.chunking import Chunker

        writer = _ChunkWriter(store, embedding, settings, fingerprint, report, progress, guard)
        for record in writer.write(to_write, Chunker(settings)):
            records[record.source] = record
    for record in _describe_again(store, to_describe, records):
        records[record.source] = record

    if not corpus.partial:
        _forget_files_gone(store, documents, records, report)

    stale = store.delete_stale_chunks(records)
    guard.check()
    log.info("chunks and manifest written; checking gloss vectors")
    unchanged = was_complete and not report.changed and not stale
    report.glosses_embedded = _update_glosses(store, embedding, settings, records, fingerprint, unchanged)
    _update_meaning(store, meaning, settings, records, unchanged)
    report.chunks_total = sum(r.n_chunks for r in records.values())
    report.seconds = time.perf_counter() - started
    return report


def _forget_files_gone(store: ChunkStore, documents: list[SourceDocument], records: dict, report: IngestReport) -> None:
    """Remove the chunks and manifest entries of files no longer in the corpus."""
    current = {d.source for d in documents}
    for source in sorted(set(records) - current):
        store.forget_file(source)
        del records[source]
        report.files_removed.append(source)


def _describe_again(store: ChunkStore, documents: list[SourceDocument], records: dict) -> list[FileRecord]:
    """New title, language or kind for unchanged texts: chunk metadata and manifest entries are
    rewritten, vectors kept."""
    updated = []
    for document in documents:
        old = records[document.source]
        fields = {"title": document.title, "language": document.declared_language or old.language, "kind": document.kind}
        for ids in batched(expected_chunk_ids(old), MAX_CHROMA_BATCH):
            stored = store.chunks.get(ids=ids, include=["metadatas"])
            store.update_chunk_metadata(stored["ids"], [{**m, **fields} for m in stored["metadatas"]])
        updated.append(FileRecord(**{**old.to_metadata(), **fields}))
    if updated:
        store.commit_files(updated)
    return updated


def _update_glosses(
    store: ChunkStore, embedding: BaseEmbedding, settings: Settings, records: dict, fingerprint: str, unchanged: bool
) -> int:
    """Keep the English-gloss vectors of German chunks in step with the chunks (see rag.text.gloss);
    returns how many were embedded."""
    from rag.text.gloss import update_gloss_vectors
    from rag.text.translate import dictionary_for

    german_chunks = sum(r.n_chunks for r in records.values() if r.language == "de")
    if unchanged and store.glosses.count() == german_chunks:
        return 0  # a finished, unchanged store whose glosses are complete: nothing to read or embed
    dictionary = dictionary_for(settings) if german_chunks else None
    embedded = update_gloss_vectors(store, embedding, dictionary, fingerprint, settings.ingest_window)
    if embedded:
        log.info("embedded %d gloss vectors of German chunks", embedded)
    return embedded


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
    per file (each write costs ~30 ms however small). Files are read again and cut into chunks a
    block at a time as the windows take them (rag.ingest.chunking.Chunker.chunks), so memory
    holds one block's chunks and one window's vectors, not a whole file's nor the corpus's
    texts. Identical texts (5% of the chunks of the 10^4 benchmark corpus: licences,
    boilerplate) are embedded once: later copies read the stored vector back. A file is committed
    to the manifest in the first window that completes it, after its chunks are stored, so an
    interrupted run keeps every finished window and readers never see a half-written file.
    """

    def __init__(self, store, embedding, settings, fingerprint, report, progress, guard):
        self.store = store
        self.embedding = embedding
        self.fingerprint = fingerprint
        self.report = report
        self.progress = progress
        self.guard = guard
        self.window = settings.ingest_window
        self._stored_by_hash: dict[str, str] = {}  # text hash -> id of a chunk stored in this run

    def write(self, documents: list[SourceDocument], chunker) -> Iterator[FileRecord]:
        """Embeds, stores and commits every document; yields each manifest record once committed.

        A document's chunks are made as the windows take them, so its chunk count is known, and
        the document joins ``uncommitted``, only once the last is made: no window can commit it
        before all its chunks are stored. A document whose text changed since the folder was
        read (DocumentChanged) is never committed: the chunks it gave, all of the version read
        (its blocks are checked before they are cut), stay unvouched for and are deleted with
        the stale chunks; it is reported as skipped."""
        reusable_by_source, present_by_source = self.store.stored_chunks_by_source(self.fingerprint)
        total_chars = sum(d.chars for d in documents)
        done_chars = 0
        uncommitted: deque = deque()  # (chunks up to and including the document's, document, its chunks' count)
        queued = flushed = 0
        window = []
        for document in documents:
            first = queued
            try:
                _ = document.language  # detected before any chunk: a file unreadable now is skipped here
                for chunk in chunker.chunks(document):
                    window.append(chunk)
                    queued += 1
                    if len(window) == self.window:
                        flushed += self._flush(window, reusable_by_source, present_by_source)
                        yield from self._commit(uncommitted, flushed)
                        self._report_progress(done_chars + chunk.end, total_chars, document.source)
                        window = []
            except DocumentChanged as changed:
                self._skip(changed)
            else:
                uncommitted.append((queued, document, queued - first))
            done_chars += document.chars
        if window:
            flushed += self._flush(window, reusable_by_source, present_by_source)
        yield from self._commit(uncommitted, flushed)
        self._report_progress(total_chars, total_chars, documents[-1].source if documents else "")

    def _skip(self, changed: DocumentChanged) -> None:
        """Report a document left uncommitted because its file changed while it was ingested."""
        log.warning("skipped %s: %s", changed.source, changed.reason)
        report = self.report
        for outcome in (report.files_added, report.files_updated, report.files_repaired):
            if changed.source in outcome:
                outcome.remove(changed.source)
        report.files_skipped = [*report.files_skipped, SkippedFile(source=changed.source, reason=changed.reason)]

    def _report_progress(self, done: int, total: int, source: str) -> None:
        if self.progress:
            self.progress(done, total, source)

    def _flush(self, window: list, reusable_by_source: dict, present_by_source: dict) -> int:
        self.guard.check()
        vectors = self._vectors_for(window, reusable_by_source)
        self._store(window, vectors, present_by_source)
        log.info("stored chunks of %s to %s", window[0].document.source, window[-1].document.source)
        return len(window)

    def _commit(self, uncommitted: deque, stored: int) -> Iterator[FileRecord]:
        """Commits, in one manifest write, the documents whose chunks are all among the first
        ``stored`` (``uncommitted`` holds them in order)."""
        records = []
        while uncommitted and uncommitted[0][0] <= stored:
            _, document, n_chunks = uncommitted.popleft()
            records.append(_record(document, n_chunks, self.fingerprint))
        if records:
            self.guard.check()
            self.store.commit_files(records)
            log.info("committed %d files to the manifest (%d chunks stored so far)", len(records), stored)
        yield from records

    def _vectors_for(self, window: list, reusable_by_source: dict) -> dict[str, list[float]]:
        """Text hash -> vector for every chunk of the window: stored vectors of unchanged texts
        (of the same file, or stored earlier in this run) are read back in one call, the other
        distinct texts embedded in one call."""
        reuse_ids = {}
        for chunk in window:
            stored_id = reusable_by_source.get(chunk.document.source, {}).get(chunk.text_hash)
            stored_id = stored_id or self._stored_by_hash.get(chunk.text_hash)
            if stored_id is not None:
                reuse_ids[chunk.text_hash] = stored_id
        stored = self.store.chunk_vectors(list(reuse_ids.values())) if reuse_ids else {}
        vectors = {h: stored[i] for h, i in reuse_ids.items() if i in stored}
        missing = {c.text_hash: c.text for c in window if c.text_hash not in vectors}
        if missing:
            embedded = self.embedding.get_text_embedding_batch(list(missing.values()))
            vectors.update(zip(missing, embedded))
            self.report.chunks_embedded += len(missing)
        self.report.chunks_reused += len(window) - len(missing)
        return vectors

    def _store(self, window: list, vectors: dict[str, list[float]], present_by_source: dict) -> None:
        """Writes the window's chunks that are not stored yet (a resumed run kept the others)."""
        ids = [chunk_id(chunk, self.fingerprint) for chunk in window]
        for chunk, i in zip(window, ids):
            self._stored_by_hash.setdefault(chunk.text_hash, i)
        new = [(c, i) for c, i in zip(window, ids) if i not in present_by_source.get(c.document.source, ())]
        if new:
            self.store.add_chunks(
                ids=[i for _, i in new],
                vectors=[vectors[c.text_hash] for c, _ in new],
                texts=[c.text for c, _ in new],
                metadatas=[self._metadata(c) for c, _ in new],
            )

    def _metadata(self, chunk) -> dict:
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
            **({"gap_before": chunk.gap_before} if chunk.gap_before is not None else {}),
        }


def _record(document: SourceDocument, n_chunks: int, fingerprint: str) -> FileRecord:
    return FileRecord(
        source=document.source,
        content_hash=document.content_hash,
        fingerprint=fingerprint,
        title=document.title,
        language=document.language,
        kind=document.kind,
        n_chunks=n_chunks,
        chars=document.chars,
    )


def tqdm_progress(enabled: bool) -> tuple[ProgressCallback | None, Callable[[], None]]:
    """A progress callback drawing a tqdm bar (characters, rate, ETA, current file), and its closer."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int, source: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="char", unit_scale=True, desc="Embedding", dynamic_ncols=True)
        bar.set_postfix_str(source[-40:], refresh=False)
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return update, close


