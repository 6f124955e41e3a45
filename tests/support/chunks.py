"""Checks on the chunks a chunker cut, shared by the chunking and streaming tests."""

from __future__ import annotations

from rag.ingest.chunking import MAX_GAP


def assert_gaps_are_the_whitespace_between_neighbours(text, chunks):
    """A chunk records the whitespace before it exactly when it does not overlap the chunk before
    and that whitespace is short: retrieval joins the two with it (rag.retrieval.passages)."""
    if chunks:
        assert chunks[0].gap_before is None
    for before, chunk in zip(chunks, chunks[1:]):
        between = text[before.end : chunk.start] if chunk.start >= before.end else None
        expected = between if between is not None and len(between) <= MAX_GAP and not between.strip() else None
        assert chunk.gap_before == expected
