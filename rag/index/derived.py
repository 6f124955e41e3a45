"""A Chroma collection of vectors derived from chunks (one per chunk id), each stored with the hash
of what was embedded for it, so an ingest re-embeds only what changed."""

from __future__ import annotations

from typing import Any

from rag.index.store import MAX_CHROMA_BATCH, _as_list, batched


class DerivedVectors:
    """``<collection>_<suffix>`` of a store: chunk id -> (hash, vector)."""

    def __init__(self, collection: Any):
        self.collection = collection

    def count(self) -> int:
        return self.collection.count()

    def hashes(self) -> dict[str, str]:
        """Chunk id -> hash of what its stored vector embeds."""
        hashes: dict[str, str] = {}
        for offset in range(0, self.count(), MAX_CHROMA_BATCH):
            page = self.collection.get(include=["metadatas"], limit=MAX_CHROMA_BATCH, offset=offset)
            hashes.update((i, m.get("hash", "")) for i, m in zip(page["ids"], page["metadatas"]))
        return hashes

    def vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of those of the given chunks that have one."""
        vectors: dict[str, list[float]] = {}
        for batch in batched(chunk_ids, MAX_CHROMA_BATCH):
            result = self.collection.get(ids=batch, include=["embeddings"])
            vectors.update((i, list(v)) for i, v in zip(result["ids"], _as_list(result.get("embeddings"))))
        return vectors

    def put(self, chunk_ids: list[str], vectors: list[list[float]], hashes: list[str]) -> None:
        for start in range(0, len(chunk_ids), MAX_CHROMA_BATCH):
            end = start + MAX_CHROMA_BATCH
            self.collection.upsert(
                ids=chunk_ids[start:end],
                embeddings=vectors[start:end],
                metadatas=[{"hash": h} for h in hashes[start:end]],
            )

    def delete(self, chunk_ids: list[str]) -> None:
        for batch in batched(chunk_ids, MAX_CHROMA_BATCH):
            self.collection.delete(ids=batch)
