"""Extractive answers: the most relevant sentences of the retrieved passages, quoted as written.

No LLM and nothing invented: every sentence of the answer is a verbatim sentence of a passage,
followed by the marker of that passage and, when its language differs from the question's, a
label naming the language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.answer.citations import sentence_spans
from rag.answer.prompts import language_name
from rag.index.lexical import LexicalIndex, namespaced
from rag.retrieval.passages import RetrievalResult
from rag.retrieval.planning import TermGroup, coverage
from rag.retrieval.relevance import RelevanceGate
from rag.text.tokens import count_tokens
from rag.types import (
    Answer,
    AnswerDelta,
    AnswerDone,
    Citation,
    Passage,
    StreamEvent,
    TokenUsage,
)

if TYPE_CHECKING:
    from rag.answer.deadline import Deadline


@dataclass(frozen=True)
class ScoredSentence:
    passage_rank: int  # 0-based rank of its passage in the retrieval
    start: int  # offsets into the passage text
    end: int
    score: float


class ExtractiveAnswerer:
    """Builds a cited answer from passage sentences, or refuses when nothing is relevant."""

    mode = "extractive"

    def __init__(self, lexical: LexicalIndex, gate: RelevanceGate, max_sentences: int = 3):
        self.lexical = lexical
        self.gate = gate
        self.max_sentences = max_sentences

    def stream(self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None) -> Iterator[StreamEvent]:
        """The whole answer as one piece, then the answer (extractive answers are not generated,
        so there is no deadline to keep)."""
        answer = self.answer(question, retrieval)
        yield AnswerDelta(answer.text)
        yield AnswerDone(answer)

    def answer(self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None) -> Answer:
        passages = retrieval.passages
        usage_prompt = count_tokens(question) + sum(count_tokens(p.text) for p in passages)
        if not self.gate.supports(passages):
            return Answer.refusal(question, self.mode, passages, usage_prompt)
        sentences = self.rank_sentences(retrieval, passages)
        if not sentences:
            return Answer.refusal(question, self.mode, passages, usage_prompt)
        text, citations = self.compose(sentences, passages, retrieval.plan.language)
        usage = TokenUsage(prompt=usage_prompt, completion=count_tokens(text))
        return Answer.cited(question, text, citations, self.mode, usage, passages)

    def rank_sentences(self, retrieval: RetrievalResult, passages: list[Passage]) -> list[ScoredSentence]:
        """The best sentences: those covering most of the question, from the best passages."""
        scored = []
        for rank, passage in enumerate(passages):
            groups = retrieval.plan.groups.get(passage.language, [])
            for start, end in sentence_spans(passage.text):
                sentence_coverage = self._sentence_coverage(passage.text[start:end], passage.language, groups)
                if sentence_coverage <= 0:
                    continue
                score = sentence_coverage * (1.0 + passage.score) / (1.0 + 0.15 * rank)
                scored.append(ScoredSentence(rank, start, end, score))
        scored.sort(key=lambda s: -s.score)
        if not scored:
            return []
        best = scored[0].score
        return [s for s in scored if s.score >= 0.5 * best][: self.max_sentences]

    def _sentence_coverage(self, sentence: str, language: str, groups: list[TermGroup]) -> float:
        terms = {namespaced(language, t) for t in self.lexical.analyzer(language).analyze(sentence)}
        return coverage(groups, terms, self.lexical)

    def compose(
        self, sentences: list[ScoredSentence], passages: list[Passage], question_language: str
    ) -> tuple[str, list[Citation]]:
        numbers: dict[int, int] = {}
        highlights: dict[int, list[tuple[int, int]]] = {}
        lines = []
        for sentence in sentences:
            passage = passages[sentence.passage_rank]
            n = numbers.setdefault(sentence.passage_rank, len(numbers) + 1)
            highlights.setdefault(sentence.passage_rank, []).append(
                (passage.start + sentence.start, passage.start + sentence.end)
            )
            label = ""
            if passage.language not in (question_language, "und"):
                label = f"({language_name(passage.language)}) "
            lines.append(f"{label}“{passage.text[sentence.start:sentence.end]}” [{n}]")
        citations = [
            Citation(n=n, passage=passages[rank], highlights=sorted(highlights[rank]))
            for rank, n in sorted(numbers.items(), key=lambda item: item[1])
        ]
        return "\n".join(lines), citations
