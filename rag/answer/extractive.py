"""Extractive answers: the most relevant sentences of the retrieved passages, quoted as written.

No LLM and nothing invented: every quoted sentence is a verbatim sentence of a passage, followed by
the marker of that passage and, when its language differs from the question's, a label naming the
language and a line with a word-by-word machine gloss (marked as such). Which sentences are quoted
is decided in rag.answer.sentences.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from rag.answer.prompts import language_name
from rag.answer.sentences import Candidate, SentenceSelector
from rag.retrieval.passages import RetrievalResult
from rag.retrieval.relevance import RelevanceGate
from rag.text.gloss import names_for_gloss
from rag.types import (
    Answer,
    AnswerDelta,
    AnswerDone,
    Citation,
    Passage,
    StreamEvent,
)

if TYPE_CHECKING:
    from rag.answer.deadline import Deadline


class ExtractiveAnswerer:
    """Builds a cited answer from passage sentences, or refuses when nothing is relevant."""

    mode = "extractive"

    def __init__(
        self,
        selector: SentenceSelector,
        gate: RelevanceGate,
        max_sentences: int = 3,
        glosser: Glosser | None = None,
    ):
        self.selector = selector
        self.gate = gate
        self.max_sentences = max_sentences
        self.glosser = glosser

    def stream(self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None) -> Iterator[StreamEvent]:
        """The whole answer as one piece, then the answer (extractive answers are not generated,
        so there is no deadline to keep)."""
        answer = self.answer(question, retrieval)
        yield AnswerDelta(answer.text)
        yield AnswerDone(answer)

    def answer(self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None) -> Answer:
        passages = retrieval.passages
        if not self.gate.supports(passages):
            return Answer.refusal(question, self.mode, passages)
        if self.glosser is not None and any(p.language != retrieval.plan.language for p in passages):
            self.glosser.prepare_in_background()
        sentences = self.selector.select(retrieval.plan, passages, self.max_sentences, retrieval.meaning_vector)
        if not sentences:
            return Answer.refusal(question, self.mode, passages)
        text, citations = self.compose(sentences, passages, retrieval.plan.language, question)
        return Answer.cited(question, text, citations, self.mode, None, passages)  # usage: counted when asked

    def compose(
        self, sentences: list[Candidate], passages: list[Passage], question_language: str, question: str = ""
    ) -> tuple[str, list[Citation]]:
        """One line per quote (sentences that follow each other in a paragraph make one quote), in
        reading order within each source (sources in the order of their best sentence), each
        followed by its passage's marker; a quote in another language than the question's is
        labelled and followed by a machine gloss in the question's language (names the question or
        the passage shows are kept as written: rag.text.gloss.names_for_gloss)."""
        numbers: dict[int, int] = {}
        highlights: dict[int, list[tuple[int, int]]] = {}
        lines = []
        for rank, start, end in excerpts(reading_order(sentences, passages), passages):
            passage = passages[rank]
            n = numbers.setdefault(rank, len(numbers) + 1)
            highlights.setdefault(rank, []).append((passage.start + start, passage.start + end))
            quote = passage.text[start:end]
            foreign = passage.language not in (question_language, "und")
            label = f"({language_name(passage.language)}) " if foreign else ""
            lines.append(f"{label}{quoted(quote)} [{n}]")
            if foreign and self.glosser is not None:
                keep = names_for_gloss(question, passage.text, passage.language)
                gloss = self.glosser.gloss(quote, passage.language, question_language, keep)
                if gloss:
                    lines.append(f"{GLOSS_PREFIX}{gloss}")
        citations = [
            Citation(n=n, passage=passages[rank], highlights=sorted(highlights[rank]))
            for rank, n in sorted(numbers.items(), key=lambda item: item[1])
        ]
        return "\n".join(lines), citations


#: Starts the line under a foreign-language quote that glosses it word by word (not a citation).
GLOSS_PREFIX = "    ↳ machine gloss: "

_QUOTE_MARKS = "\"'“”„‚‘’«»"


class Glosser(Protocol):
    """A rough rendering of a quote in the question's language, or None when there is none."""

    def gloss(
        self, text: str, source_language: str, target_language: str, keep: frozenset[str] = frozenset()
    ) -> str | None: ...

    def prepare_in_background(self) -> None:
        """Get ready to gloss without making the caller wait (called before the sentences are chosen)."""


def quoted(sentence: str) -> str:
    """The sentence in quotation marks, unless it already starts or ends with its own."""
    if sentence[:1] in _QUOTE_MARKS or sentence[-1:] in _QUOTE_MARKS:
        return sentence
    return f"“{sentence}”"


def excerpts(ordered: list[Candidate], passages: list[Passage]) -> list[tuple[int, int, int]]:
    """``(passage rank, start, end)`` of each quote: sentences in reading order, where a sentence
    that directly follows the one before it in the same paragraph of its passage joins its quote."""
    spans: list[tuple[int, int, int]] = []
    for i, sentence in enumerate(ordered):
        previous = ordered[i - 1] if i > 0 else None
        if previous is not None and _continues(previous, sentence, passages[sentence.passage_rank].text):
            rank, start, _ = spans[-1]
            spans[-1] = (rank, start, sentence.end)
        else:
            spans.append((sentence.passage_rank, sentence.start, sentence.end))
    return spans


def _continues(previous: Candidate, sentence: Candidate, text: str) -> bool:
    return (
        previous.passage_rank == sentence.passage_rank
        and previous.index + 1 == sentence.index
        and "\n" not in text[previous.end : sentence.start]
    )


def reading_order(sentences: list[Candidate], passages: list[Passage]) -> list[Candidate]:
    """Sentences grouped by source (in the order of each source's best sentence) and, within a
    source, in the order they are written."""
    first_seen: dict[str, int] = {}
    for position, sentence in enumerate(sentences):
        first_seen.setdefault(passages[sentence.passage_rank].source, position)

    def key(sentence: Candidate) -> tuple[int, int]:
        passage = passages[sentence.passage_rank]
        return first_seen[passage.source], passage.start + sentence.start

    return sorted(sentences, key=key)
