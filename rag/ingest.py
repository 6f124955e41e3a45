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
from collections.abc import Callable
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode

from rag.config import Settings
from rag.corpus import Chunk, Chunker, SourceDocument, read_folder
from rag.errors import CorpusError
from rag.store import ChunkStore, FileRecord
from rag.types import IngestReport

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]  # (chunks done, chunks to embed, current file)


def chunk_id(chunk: Chunk, fingerprint: str) -> str:
    key = f"{chunk.document.source}\0{chunk.document.content_hash}\0{chunk.index}\0{fingerprint}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def read_corpus(folder: Path, settings: Settings) -> list[SourceDocument]:
    """All documents of the folder; fails before anything is written if one cannot be read."""
    documents, problems = [], []
    iterator = read_folder(folder, settings)
    while True:
        try:
            documents.append(next(iterator))
        except StopIteration:
            break
        except CorpusError as error:
            if "does not exist" in str(error) or "is not a folder" in str(error):
                raise
            problems.append(str(error))
    if problems:
        raise CorpusError("Nothing was ingested; fix these files first:\n  " + "\n  ".join(problems))
    if not documents:
        extensions = " or ".join(settings.file_extensions)
        raise CorpusError(f"No {extensions} files found in {folder}: nothing to ingest.")
    return documents


def ingest_folder(
    folder: Path,
    store: ChunkStore,
    embedding: BaseEmbedding,
    settings: Settings,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    started = time.perf_counter()
    documents = read_corpus(folder, settings)
    chunker = Chunker(settings)
    fingerprint = chunker.fingerprint
    records = store.file_records()
    report = IngestReport(source_dir=str(folder), files_seen=len(documents))

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
    writer.total = sum(len(c) for c in chunks_by_document.values())
    for document in to_write:
        chunks = chunks_by_document[document.source]
        writer.write(document, chunks)
        record = FileRecord(
            source=document.source,
            content_hash=document.content_hash,
            fingerprint=fingerprint,
            title=document.title,
            language=document.language,
            kind=document.kind,
            n_chunks=len(chunks),
            chars=len(document.text),
        )
        store.commit_file(record)
        records[document.source] = record

    present = {d.source for d in documents}
    for source in sorted(set(records) - present):
        store.forget_file(source)
        del records[source]
        report.files_removed.append(source)

    stale = store.delete_stale_chunks(records)
    _update_glosses(store, embedding, settings, records, fingerprint, unchanged=not report.changed and not stale)
    report.chunks_total = sum(r.n_chunks for r in records.values())
    report.seconds = time.perf_counter() - started
    return report


def _update_glosses(
    store: ChunkStore, embedding: BaseEmbedding, settings: Settings, records: dict, fingerprint: str, unchanged: bool
) -> None:
    """Keep the English-gloss vectors of German chunks in step with the chunks (see rag.gloss)."""
    from rag.gloss import update_gloss_vectors
    from rag.translate import dictionary_for

    german_chunks = sum(r.n_chunks for r in records.values() if r.language == "de")
    if unchanged and store.glosses.count() == german_chunks:
        return  # an unchanged corpus whose glosses are complete: nothing to read or embed
    dictionary = dictionary_for(settings) if german_chunks else None
    embedded = update_gloss_vectors(
        store, embedding, dictionary, fingerprint, max(settings.embedding_batch_size, 1) * 4
    )
    if embedded:
        log.info("embedded %d gloss vectors of German chunks", embedded)


class _ChunkWriter:
    """Embeds and stores one file's chunks batch by batch, reusing vectors already stored."""

    def __init__(self, store, embedding, settings, fingerprint, report, progress):
        self.store = store
        self.embedding = embedding
        self.settings = settings
        self.fingerprint = fingerprint
        self.report = report
        self.progress = progress
        self.total = 0
        self.done = 0
        self._stored = None  # read on the first write: an unchanged ingest never needs it

    def write(self, document: SourceDocument, chunks: list[Chunk]) -> None:
        if self._stored is None:
            self._stored = self.store.stored_chunks_by_source(self.fingerprint)
        reusable_by_source, present_by_source = self._stored
        reusable = reusable_by_source.get(document.source, {})
        wanted = {c.text_hash for c in chunks} & set(reusable)
        vectors = self.store.chunk_vectors([reusable[h] for h in wanted]) if wanted else {}
        stored = {h: vectors[reusable[h]] for h in wanted if reusable[h] in vectors}
        ids_present = present_by_source.get(document.source, set())
        batch_size = max(self.settings.embedding_batch_size, 1) * 4
        for offset in range(0, len(chunks), batch_size):
            batch = chunks[offset : offset + batch_size]
            nodes = self._nodes_for(batch, stored, ids_present)
            if nodes:
                self.store.add_nodes(nodes)
            self.done += len(batch)
            if self.progress:
                self.progress(self.done, self.total, document.source)

    def _nodes_for(self, batch: list[Chunk], stored: dict, ids_present: set[str]) -> list[TextNode]:
        missing = [c for c in batch if c.text_hash not in stored]
        if missing:
            vectors = self.embedding.get_text_embedding_batch([c.text for c in missing])
            stored.update({c.text_hash: v for c, v in zip(missing, vectors)})
            self.report.chunks_embedded += len(missing)
        self.report.chunks_reused += len(batch) - len(missing)
        nodes = []
        for chunk in batch:
            node_id = chunk_id(chunk, self.fingerprint)
            if node_id in ids_present:
                continue
            nodes.append(self._node(chunk, node_id, stored[chunk.text_hash]))
        return nodes

    def _node(self, chunk: Chunk, node_id: str, vector: list[float]) -> TextNode:
        document = chunk.document
        return TextNode(
            id_=node_id,
            text=chunk.text,
            embedding=vector,
            start_char_idx=chunk.start,
            end_char_idx=chunk.end,
            metadata={
                "source": document.source,
                "title": document.title,
                "language": document.language,
                "kind": document.kind,
                "start": chunk.start,
                "end": chunk.end,
                "chunk_index": chunk.index,
                "doc_hash": document.content_hash,
                "text_hash": chunk.text_hash,
                "fingerprint": self.fingerprint,
            },
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
