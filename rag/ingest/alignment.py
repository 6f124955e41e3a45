"""Locating the splitter's pieces in the source text, so every chunk has exact offsets.
"""

from __future__ import annotations

import re

from rag.errors import CorpusError


def align_pieces(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Character spans of the splitter's consecutive pieces in ``text``.

    Each piece starts inside the previous one (overlap) or after it, and ends after it. Where a
    text repeats itself a piece may occur several times: the last occurrence starting within the
    previous piece is taken (else the first one after it), so consecutive spans leave no gap.
    That choice can still strand the end of the text (a last piece that also occurs inside the one
    before it); the pieces are then aligned from the end backwards, which cannot. Pieces are
    normally exact substrings; if the splitter changed whitespace, any run of whitespace matches
    any other.
    """
    spans = _align_forwards(text, pieces)
    if pieces and not _covers(text, spans):
        backwards = _align_backwards(text, pieces)
        if backwards is not None and _covers(text, backwards):
            return backwards
    return spans


def _align_forwards(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    previous_start, previous_end = -1, 0
    for piece in pieces:
        start = text.rfind(piece, previous_start + 1, previous_end + len(piece))
        if start < 0 or start + len(piece) <= previous_end:  # none there that moves forward
            start = text.find(piece, previous_end)
        if start >= 0:
            end = start + len(piece)
        else:
            start, end = _find_ignoring_whitespace(text, piece, previous_start + 1)
        spans.append((start, end))
        previous_start, previous_end = start, end
    return spans


def _align_backwards(text: str, pieces: list[str]) -> list[tuple[int, int]] | None:
    """Mirror of ``_align_forwards`` from the last piece (exact substrings only, else None)."""
    spans: list[tuple[int, int]] = []
    next_start, next_end = len(text), len(text) + 1
    for piece in reversed(pieces):
        start = text.find(piece, max(next_start - len(piece), 0), next_end - 1)
        if start < 0 or start + len(piece) > next_end - 1 or start >= next_start:
            start = text.rfind(piece, 0, next_start)
        if start < 0:
            return None
        spans.append((start, start + len(piece)))
        next_start, next_end = start, start + len(piece)
    return spans[::-1]


def _covers(text: str, spans: list[tuple[int, int]]) -> bool:
    """Whether the spans move forward and leave nothing but whitespace uncovered."""
    if text[: spans[0][0]].strip() or text[spans[-1][1] :].strip():
        return False
    return all(
        a_start < b_start and a_end < b_end and not text[a_end:b_start].strip()
        for (a_start, a_end), (b_start, b_end) in zip(spans, spans[1:])
    )


def _find_ignoring_whitespace(text: str, piece: str, cursor: int) -> tuple[int, int]:
    words = piece.split()
    pattern = r"\s+".join(re.escape(word) for word in words)
    match = re.compile(pattern).search(text, cursor) or re.compile(pattern).search(text)
    if match is None:
        raise CorpusError(f"Internal error: a chunk could not be located in its source ({piece[:60]!r}).")
    return match.start(), match.end()
