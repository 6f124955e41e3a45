"""Citation markers: parsing, validating and renumbering ``[n]`` in answers; sentence spans.

An answer may only cite passages it was given. After generation, markers that point to no
passage are dropped (``[7]`` of five passages as much as ``[1000000]`` or ``[-1]``), the cited
passages are renumbered 1, 2, … in order of first appearance, and a sentence left without a valid
citation is marked as unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Citation, Passage

MARKER = re.compile(r"\[([-+]?\d+)\]")
# "[1, 2]" or "[1; 3]" -> "[1][2]", so one pattern handles every marker afterwards.
MARKER_GROUP = re.compile(r"\[([-+]?\d+(?:\s*[,;]\s*[-+]?\d+)+)\]")
# Longer numbers cannot name a passage (and int() refuses numbers of thousands of digits).
MAX_MARKER_DIGITS = 6
UNSUPPORTED = {"en": "[unsupported]", "de": "[nicht belegt]"}
# A sentence ends after . ! ? … and any closing quotes (group 1), before whitespace and a capital.
SENTENCE_END = re.compile(r"(?<=[.!?…])([\"'“”»«)]*)\s+(?=[\"'„“«»(]*[A-ZÄÖÜ0-9])|\n+")


def expand_marker_groups(text: str) -> str:
    return MARKER_GROUP.sub(
        lambda m: "".join(f"[{n.strip()}]" for n in re.split(r"[,;]", m.group(1))), text
    )


def cited_numbers(text: str) -> list[int]:
    """Marker numbers in order of first appearance, without repeats."""
    seen: list[int] = []
    for match in MARKER.finditer(expand_marker_groups(text)):
        number = marker_number(match)
        if number is not None and number not in seen:
            seen.append(number)
    return seen


def renumber_citations(
    text: str, passages: Sequence[Passage], highlights: dict[int, list[tuple[int, int]]] | None = None
) -> tuple[str, list[Citation]]:
    """Drop markers that point to no passage and renumber the rest by first appearance.

    ``passages[i]`` is the passage shown to the answerer as ``[i+1]``. Returns the new text and
    the citations, numbered as in the new text.
    """
    renumberer = StreamingRenumberer(len(passages))
    renumbered = tidy_spacing(renumberer.feed(text) + renumberer.finish())
    return renumbered, renumberer.citations(passages, highlights)


class StreamingRenumberer:
    """Renumbers markers while text streams in, so streamed and final numbering agree.

    Text is held back only while it could still be the start of a marker ("[", "[1", "[1,").
    """

    _PARTIAL = re.compile(r"\[[-+\d,;\s]*$")
    _HOLD_AT_MOST = 32

    def __init__(self, n_passages: int):
        self.n_passages = n_passages
        self.order: list[int] = []  # original numbers, in order of first appearance
        self._pending = ""

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        partial = self._PARTIAL.search(text)
        if partial and len(text) - partial.start() <= self._HOLD_AT_MOST:
            text, self._pending = text[: partial.start()], text[partial.start() :]
        else:
            self._pending = ""
        return self._rewrite(text)

    def finish(self) -> str:
        text, self._pending = self._pending, ""
        return self._rewrite(text)

    def _rewrite(self, text: str) -> str:
        return MARKER.sub(self._replace, expand_marker_groups(text))

    def _replace(self, match: re.Match) -> str:
        old = marker_number(match)
        if old is None or not 1 <= old <= self.n_passages:
            return ""
        if old not in self.order:
            self.order.append(old)
        return f"[{self.order.index(old) + 1}]"

    def citations(
        self, passages: Sequence[Passage], highlights: dict[int, list[tuple[int, int]]] | None = None
    ) -> list[Citation]:
        return [
            Citation(n=new, passage=passages[old - 1], highlights=(highlights or {}).get(old, []))
            for new, old in enumerate(self.order, start=1)
        ]


def marker_number(match: re.Match) -> int | None:
    digits = match.group(1).lstrip("+-")
    return int(match.group(1)) if len(digits) <= MAX_MARKER_DIGITS else None


def drop_markers_beyond(text: str, n_citations: int) -> str:
    """Remove every marker that is not one of ``[1]``..``[n_citations]`` (the streamed text may
    still hold one that arrived in pieces too long to hold back)."""
    def keep_valid(match: re.Match) -> str:
        number = marker_number(match)
        return match.group(0) if number is not None and 1 <= number <= n_citations else ""

    return MARKER.sub(keep_valid, expand_marker_groups(text))


def mark_unsupported_sentences(text: str, language: str) -> str:
    """Each sentence without a citation marker gets ``[unsupported]`` (in the answer's language)
    where its citation would stand, so it is not presented like a cited one."""
    mark = UNSUPPORTED.get(language, UNSUPPORTED["en"])
    pieces, last = [], 0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        if MARKER.search(sentence):
            continue
        body = sentence.rstrip(".!?…:;\"'“”»«) ")
        insert_at = start + len(body)
        pieces.append(text[last:insert_at] + f" {mark}")
        last = insert_at
    return "".join(pieces) + text[last:]


def tidy_spacing(text: str) -> str:
    """Remove the gaps that dropped markers leave ("word [9]." -> "word.")."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (offsets into ``text``, surrounding spaces excluded)."""
    spans = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        sentence_end = match.end(1) if match.group(1) is not None else match.start()
        spans.extend(_stripped_span(text, start, sentence_end))
        start = match.end()
    spans.extend(_stripped_span(text, start, len(text)))
    return spans


def _stripped_span(text: str, start: int, end: int) -> list[tuple[int, int]]:
    piece = text[start:end]
    if not piece.strip():
        return []
    left = len(piece) - len(piece.lstrip())
    right = len(piece.rstrip())
    return [(start + left, start + right)]


_WORD = re.compile(r"[\w-]{4,}", re.UNICODE)


def supporting_sentence_spans(answer_text: str, number: int, passage: Passage) -> list[tuple[int, int]]:
    """Spans (offsets into the source file) of the passage sentence that shares the most words
    with the answer sentences citing ``[number]``; empty when none shares a word (e.g. the answer
    translates the passage)."""
    marker = f"[{number}]"
    citing = [answer_text[a:b] for a, b in sentence_spans(answer_text) if marker in answer_text[a:b]]
    words = {w.lower() for sentence in citing for w in _WORD.findall(sentence)}
    best, best_overlap = None, 0
    for start, end in sentence_spans(passage.text):
        overlap = len(words & {w.lower() for w in _WORD.findall(passage.text[start:end])})
        if overlap > best_overlap:
            best, best_overlap = (start, end), overlap
    if best is None:
        return []
    return [(passage.start + best[0], passage.start + best[1])]
