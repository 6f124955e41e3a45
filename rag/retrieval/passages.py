"""From ranked chunks to passages: neighbouring chunks of one source merge into one passage, and the
result of a search is a typed list of passages with the plan that found them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from llama_index.core.schema import NodeWithScore, TextNode

from rag.index.store import StoredChunk
from rag.retrieval.planning import QueryPlan
from rag.types import Location, Passage

# Passages are grouped from the best MERGE_POOL chunks (or CANDIDATES_PER_PASSAGE per passage wanted,
# if more) whatever top_k is, so the first k passages of a longer list are the k of a shorter one.
MERGE_POOL = 60
CANDIDATES_PER_PASSAGE = 3
MAX_CHUNKS_PER_PASSAGE = 2


@dataclass
class RetrievalResult:
    """The passages a search found, best first, and the plan that found them (its terms tell the
    answerers which words of a passage match the question)."""

    plan: QueryPlan
    passages: list[Passage]
    meaning_vector: np.ndarray | None = None  # the question's multilingual vector, when there is one

    @property
    def nodes(self) -> list[NodeWithScore]:
        """The passages as LlamaIndex nodes (for ``Response.source_nodes``)."""
        return [node_from_passage(p) for p in self.passages]


def merge_neighbours(
    ranked: list[int],
    span: Callable[[int], tuple[str, int, int]],
    gap_before: Callable[[int], str | None] = lambda row: None,
) -> list[list[int]]:
    """Group ranked chunks into passages, best first, each passage a chunk widened by at most one
    neighbour: a chunk that overlaps it, or the chunk right before or after it.

    A chunk that overlaps a passage already chosen (same source, shared characters) never takes a
    place of its own: showing the same sentences twice wastes a place that text not yet shown
    could take. It widens that passage if the passage is still one chunk (the passage then shows
    its best chunk with the neighbour that ranks highest), and is left out otherwise, so a passage
    is at most two chunks long. A chunk that continues a passage's text after a paragraph break
    (``gap_before``: the whitespace between the chunk and the one before it, None when they
    overlap or are far apart) widens it the same way, or takes its own place when the passage is
    full: both halves of a paragraph the question matches show as one stretch of text (bench/notes.md,
    "Neighbouring chunks as one passage"). Returns each passage's chunk rows, its best chunk first.
    """
    passages: list[_Growing] = []
    for row in ranked:
        source, start, end = span(row)
        overlapping = [p for p in passages if p.source == source and start < p.end and end > p.start]
        if overlapping:
            if len(overlapping) == 1 and overlapping[0].has_room:
                overlapping[0].widen(row, start, end)
            continue
        gap = gap_before(row)
        touching = [
            p for p in passages
            if p.source == source and p.has_room
            and (_bridges(p.end, start, gap) or (end <= p.start and _bridges(end, p.start, gap_before(p.first))))
        ]
        if touching:
            touching[0].widen(row, start, end)
        else:
            passages.append(_Growing([row], source, start, end, first=row))
    return [p.rows for p in passages]


@dataclass
class _Growing:
    """A passage while ``merge_neighbours`` builds it: its chunk rows (best first), the characters
    of ``source`` they cover, and the row of its chunk that starts first."""

    rows: list[int]
    source: str
    start: int
    end: int
    first: int

    @property
    def has_room(self) -> bool:
        return len(self.rows) < MAX_CHUNKS_PER_PASSAGE

    def widen(self, row: int, start: int, end: int) -> None:
        self.rows.append(row)
        if start < self.start:
            self.first = row
        self.start, self.end = min(start, self.start), max(end, self.end)


def _bridges(end: int, start: int, gap: str | None) -> bool:
    """Whether ``gap`` is exactly the text between a chunk ending at ``end`` and one starting at ``start``."""
    return gap is not None and end + len(gap) == start


def joined_text(chunks: list[StoredChunk]) -> tuple[str, int, int]:
    """The text of neighbouring chunks of one source (or of a single chunk) as one span:
    (text, start, end). Chunks that do not overlap are joined by the whitespace recorded between
    them (``gap_before``), so the text is still exactly the source's ``[start:end]``."""
    ordered = sorted(chunks, key=lambda c: int(c.metadata["start"]))
    text, start, end = ordered[0].text, int(ordered[0].metadata["start"]), int(ordered[0].metadata["end"])
    for chunk in ordered[1:]:
        chunk_start, chunk_end = int(chunk.metadata["start"]), int(chunk.metadata["end"])
        if chunk_start >= end:
            gap = chunk.metadata.get("gap_before")
            if not _bridges(end, chunk_start, gap):
                raise ValueError(f"chunks {end} and {chunk_start} of {chunk.metadata.get('source')} are not neighbours")
            text += gap + chunk.text
            end = chunk_end
        elif chunk_end > end:
            text += chunk.text[end - chunk_start :]
            end = chunk_end
    return text, start, end


def joined_location(chunks: list[StoredChunk]) -> Location:
    """Where chunks of one source that form a passage lie: from the first page of any to the last
    page of any, under the heading path of the first."""
    locations = [Location.from_metadata(c.metadata) for c in sorted(chunks, key=lambda c: int(c.metadata["start"]))]
    starts = [loc.page_start for loc in locations if loc.page_start is not None]
    ends = [loc.page_end for loc in locations if loc.page_end is not None]
    return Location(
        page_start=min(starts) if starts else None,
        page_end=max(ends) if ends else None,
        section=locations[0].section,
    )


def node_from_passage(passage: Passage) -> NodeWithScore:
    """A LlamaIndex node carrying the passage's text, location and scores."""
    metadata = passage.model_dump(exclude={"text", "score", "chunk_id"})
    return NodeWithScore(node=TextNode(id_=passage.chunk_id, text=passage.text, metadata=metadata), score=passage.score)
