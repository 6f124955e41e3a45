"""Keeping the chunks' meaning vectors (rag.embedding.meaning) in step with the chunks.

Incremental like the chunks themselves: a vector is stored with the hash of the model fingerprint
and the text it embeds, kept while both are unchanged and reused for any chunk with the same text;
only new texts are embedded, window by window, so an interrupted run keeps its progress.
"""

from __future__ import annotations

import hashlib
import logging

from rag.config import Settings
from rag.embedding.meaning import MeaningModel
from rag.index.store import ChunkStore, StoredChunk

log = logging.getLogger(__name__)


def meaning_hash(text: str, fingerprint: str) -> str:
    return hashlib.sha256(f"{fingerprint}\0{text}".encode()).hexdigest()


def chunks_with_meaning(chunks: list[StoredChunk], settings: Settings) -> list[StoredChunk]:
    """The chunks that get a meaning vector under the setting ``meaning_chunks``."""
    if settings.meaning_chunks == "all":
        return chunks
    return [c for c in chunks if c.metadata.get("language") != "en"]


def update_meaning_vectors(store: ChunkStore, model: MeaningModel | None, settings: Settings) -> int:
    """Give every chunk that should have one the meaning vector of its text; drop the others.
    Returns how many texts were embedded."""
    vectors = store.meaning
    stored = vectors.hashes()
    wanted = chunks_with_meaning(store.current_chunks(), settings) if model is not None else []
    current = {c.chunk_id for c in wanted}
    stale = [chunk_id for chunk_id in stored if chunk_id not in current]
    if stale:
        vectors.delete(stale)
    if not wanted:
        return 0
    fingerprint = model.fingerprint
    hashes = {c.chunk_id: meaning_hash(c.text, fingerprint) for c in wanted}
    missing = [c for c in wanted if stored.get(c.chunk_id) != hashes[c.chunk_id]]
    reusable = vectors.vectors_by_hash(stored, {hashes[c.chunk_id] for c in missing})
    embedded = 0
    window = settings.ingest_window
    for start in range(0, len(missing), window):
        batch = missing[start : start + window]
        texts = {hashes[c.chunk_id]: c.text for c in batch if hashes[c.chunk_id] not in reusable}
        if texts:
            reusable.update(zip(texts, model.passage(list(texts.values())).tolist()))
            embedded += len(texts)
        vectors.put(
            [c.chunk_id for c in batch], [reusable[hashes[c.chunk_id]] for c in batch], [hashes[c.chunk_id] for c in batch]
        )
    if embedded:
        log.info("embedded %d meaning vectors", embedded)
    return embedded
