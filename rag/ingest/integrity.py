"""Does the store hold what its manifest promises? (``python -m rag info --verify``)

The manifest vouches for chunk ids that can be derived without reading any text
(rag.ingest.pipeline.expected_chunk_ids), so the check is two passes over ids: the chunks the
manifest vouches for against the chunks stored, and the German chunks against their gloss vectors.
Ingest runs the same comparison and repairs what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.index.store import ChunkStore
from rag.ingest.pipeline import expected_chunk_ids


@dataclass(frozen=True)
class StoreCheck:
    """What a store lacks compared with its manifest."""

    location: str
    files: int
    chunks: int
    complete: bool  # the last ingest finished
    files_missing_chunks: list[str] = field(default_factory=list)
    chunks_missing: int = 0
    chunks_unvouched: int = 0  # stored chunks no manifest entry vouches for (left by an interrupted run)
    glosses_missing: int = 0

    @property
    def ok(self) -> bool:
        return self.complete and not self.files_missing_chunks and not self.glosses_missing

    def summary(self) -> str:
        lines = [f"Index: {self.location}", f"{self.files} documents, {self.chunks} chunks in the manifest"]
        if not self.complete:
            lines.append("the last ingest did not finish")
        if self.files_missing_chunks:
            lines.append(
                f"{self.chunks_missing} chunks of {len(self.files_missing_chunks)} files are missing from the store: "
                + ", ".join(self.files_missing_chunks[:10])
                + (" …" if len(self.files_missing_chunks) > 10 else "")
            )
        if self.chunks_unvouched:
            lines.append(f"{self.chunks_unvouched} stored chunks belong to no manifest entry (ingest deletes them)")
        if self.glosses_missing:
            lines.append(f"{self.glosses_missing} German chunks have no gloss vector")
        if self.ok:
            lines.append("verified: every chunk and gloss the manifest vouches for is stored")
        return "\n".join(lines)


def check_store(store: ChunkStore, glosses_expected: bool) -> StoreCheck:
    """Compare the manifest with the stored chunks and glosses. ``glosses_expected``: whether
    German chunks should have glosses (not when the dictionary is not installed)."""
    records = store.file_records()
    present = store.chunk_ids()
    missing_files, missing_chunks, vouched = [], 0, set()
    german: list[str] = []
    for source, record in sorted(records.items()):
        ids = expected_chunk_ids(record)
        vouched.update(ids)
        absent = sum(1 for i in ids if i not in present)
        if absent:
            missing_files.append(source)
            missing_chunks += absent
        if record.language == "de":
            german.extend(ids)
    glossed = set(store.glosses.hashes()) if glosses_expected and german else set()
    return StoreCheck(
        location=store.location,
        files=len(records),
        chunks=len(vouched),
        complete=store.completion().complete,
        files_missing_chunks=missing_files,
        chunks_missing=missing_chunks,
        chunks_unvouched=len(present - vouched),
        glosses_missing=sum(1 for i in german if i not in glossed) if glosses_expected else 0,
    )
