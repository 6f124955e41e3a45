"""A Chroma collection of vectors derived from chunks (one per chunk id), each stored with the hash
of what was embedded for it, so an ingest re-embeds only what changed."""

from __future__ import annotations

from typing import Any

from rag.index.store import MAX_CHROMA_BATCH, _as_list, batched


class DerivedVectors:
    """``<collection>_<suffix>`` of a store: chunk id -> (hash, vector).

    ``hash_key`` is the metadata key the hash is stored under: ``hash``, except in the gloss
    collection, which names it ``gloss_hash`` (it predates this class; existing stores keep it).
    """

    def __init__(self, collection: Any, hash_key: str = "hash"):
        self.collection = collection
        self.hash_key = hash_key

    def count(self) -> int:
        return self.collection.count()

    def hashes(self) -> dict[str, str]:
        """Chunk id -> hash of what its stored vector embeds."""
        hashes: dict[str, str] = {}
        for offset in range(0, self.count(), MAX_CHROMA_BATCH):
            page = self.collection.get(include=["metadatas"], limit=MAX_CHROMA_BATCH, offset=offset)
            hashes.update((i, m.get(self.hash_key, "")) for i, m in zip(page["ids"], page["metadatas"]))
        return hashes

    def vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of those of the given chunks that have one."""
        vectors: dict[str, list[float]] = {}
        for batch in batched(chunk_ids, MAX_CHROMA_BATCH):
            result = self.collection.get(ids=batch, include=["embeddings"])
            vectors.update((i, list(v)) for i, v in zip(result["ids"], _as_list(result.get("embeddings"))))
        return vectors

    def vectors_by_hash(self, stored: dict[str, str], wanted: set[str]) -> dict[str, list[float]]:
        """Hash -> stored vector, for the wanted hashes that ``stored`` (chunk id -> hash, as from
        ``hashes()``) holds: a vector is reused for every chunk that embeds the same thing."""
        ids = [chunk_id for chunk_id, h in stored.items() if h in wanted]
        return {stored[chunk_id]: vector for chunk_id, vector in self.vectors(ids).items()} if ids else {}

    def put(
        self, chunk_ids: list[str], vectors: list[list[float]], hashes: list[str], texts: list[str] | None = None
    ) -> None:
        """Store the vectors with their hashes, and ``texts`` (what was embedded), where given, as the
        records' documents: the gloss collection keeps its glosses so."""
        for start in range(0, len(chunk_ids), MAX_CHROMA_BATCH):
            end = start + MAX_CHROMA_BATCH
            documents = {} if texts is None else {"documents": texts[start:end]}
            self.collection.upsert(
                ids=chunk_ids[start:end],
                embeddings=vectors[start:end],
                metadatas=[{self.hash_key: h} for h in hashes[start:end]],
                **documents,
            )

    def delete(self, chunk_ids: list[str]) -> None:
        for batch in batched(chunk_ids, MAX_CHROMA_BATCH):
            self.collection.delete(ids=batch)
