"""Citation markers: parsing, validating and renumbering ``[n]`` in answers; sentence spans.

An answer may only cite passages it was given. After generation, markers that point to no
passage are dropped, and the cited passages are renumbered 1, 2, … in order of first appearance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Citation, Passage

MARKER = re.compile(r"\[(\d{1,3})\]")
# "[1, 2]" or "[1; 3]" -> "[1][2]", so one pattern handles every marker afterwards.
MARKER_GROUP = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})+)\]")
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
        number = int(match.group(1))
        if number not in seen:
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

    _PARTIAL = re.compile(r"\[[\d,;\s]*$")

    def __init__(self, n_passages: int):
        self.n_passages = n_passages
        self.order: list[int] = []  # original numbers, in order of first appearance
        self._pending = ""

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        partial = self._PARTIAL.search(text)
        if partial and len(text) - partial.start() <= 12:
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
        old = int(match.group(1))
        if not 1 <= old <= self.n_passages:
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
