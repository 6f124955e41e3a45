"""Choosing the sentences of an extractive answer: every sentence of every retrieved passage is a
candidate, scored by how well it answers the question.

A sentence's relevance combines three signals: the share of the question's words it holds (in any
translation, weighted by rarity: ``rag.retrieval.planning.coverage``), its meaning's similarity to
the question (a multilingual sentence embedding, when one is configured: the better of the sentence
read alone and read after the sentence before it, so "Dieser teilt ihm mit, …" is read knowing who
"dieser" is), and a small prior for the rank of its passage. Sentences are then taken greedily,
best first, while they stay within ``min_relative_score`` of the best one; a sentence that adds no
question word and no meaning the chosen ones lack (a near-repeat) is skipped, so an answer that
needs two facts can quote both. The best ``continued`` of them are then quoted with the sentence
that follows them in their passage: in a story the sentence that matches the question's words
often sets the scene, and the next one tells what happened (bench/notes.md, "Quoting what
follows", session 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answer.citations import sentence_spans
from rag.index.lexical import LexicalIndex, namespaced
from rag.retrieval.planning import QueryPlan, coverage
from rag.types import Passage


class SentenceEncoder(Protocol):
    """Multilingual vectors of sentences, comparable with the question's meaning vector
    (rag.embedding.meaning.MeaningModel)."""

    def passage(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SentenceWeights:
    """How the signals of one sentence add up (fitted on the tuning fixtures, bench/answers.py)."""

    lexical: float = 1.0
    semantic: float = 0.0
    passage_rank: float = 0.15  # relevance is divided by (1 + passage_rank * rank)
    min_relative_score: float = 0.5
    min_words: int = 4
    continued: int = 2  # the best sentences quoted together with the sentence after them
    max_embedded: int = 48  # sentences whose meaning is compared (answer latency): the best passages first


#: The weights in use (fitted on the tuning questions of fixtures/reader_questions.jsonl and
#: fixtures/seeds.jsonl; the check questions are reported beside them: bench/results/answers/).
SENTENCE_WEIGHTS = SentenceWeights(semantic=5.0)


@dataclass(frozen=True)
class Candidate:
    passage_rank: int  # 0-based rank of its passage in the retrieval
    start: int  # offsets into the passage text
    end: int
    terms: frozenset[str]  # the question terms it holds (namespaced)
    lexical: float
    semantic: float
    score: float
    index: int = 0  # position among its passage's candidate sentences (sentences of min_words or more)


class SentenceSelector:
    """Scores the sentences of retrieved passages and picks those that answer the question."""

    def __init__(
        self,
        lexical: LexicalIndex,
        encoder: SentenceEncoder | None = None,
        weights: SentenceWeights | None = None,
    ):
        self.lexical = lexical
        self.encoder = encoder
        self.weights = weights or SentenceWeights()

    def candidates(
        self, plan: QueryPlan, passages: Sequence[Passage], question_vector: np.ndarray | None = None
    ) -> list[Candidate]:
        spans = [
            (rank, start, end)
            for rank, passage in enumerate(passages)
            for start, end in sentence_spans(passage.text)
            if len(passage.text[start:end].split()) >= self.weights.min_words
        ]
        texts = [passages[rank].text[start:end] for rank, start, end in spans]
        positions = _positions_in_passage(spans)
        embedded = spans[: self.weights.max_embedded]
        semantic = self._semantic(question_vector, texts[: len(embedded)], in_context(embedded, passages, positions))
        semantic = np.concatenate([semantic, np.zeros(len(texts) - len(semantic))])
        found = []
        for (rank, start, end), text, meaning, position in zip(spans, texts, semantic, positions):
            language = passages[rank].language
            groups = plan.groups.get(language, [])
            analyzed = {namespaced(language, t) for t in self.lexical.analyzer(language).analyze(text)}
            question_terms = {t for g in groups for t, _ in g.targets}
            lexical = coverage(groups, analyzed, self.lexical)
            relevance = self.weights.lexical * lexical + self.weights.semantic * meaning
            score = relevance / (1.0 + self.weights.passage_rank * rank)
            found.append(
                Candidate(
                    rank, start, end, frozenset(analyzed & question_terms), lexical, meaning, score,
                    index=position,
                )
            )
        return found

    def select(
        self, plan: QueryPlan, passages: Sequence[Passage], limit: int, question_vector: np.ndarray | None = None
    ) -> list[Candidate]:
        """The sentences to quote, best first, each of the best ``weights.continued`` followed by
        the sentence after it. ``question_vector``: the question's meaning vector
        (RetrievalResult.meaning_vector); without it, sentences are scored by their words alone."""
        candidates = self.candidates(plan, passages, question_vector)
        chosen = self._best(candidates, limit)
        return with_following(chosen, candidates, self.weights.continued)

    def _best(self, candidates: list[Candidate], limit: int) -> list[Candidate]:
        ranked = sorted(candidates, key=lambda c: -c.score)
        ranked = [c for c in ranked if c.lexical > 0 or c.semantic > 0]
        if not ranked or ranked[0].score <= 0:
            return []
        floor = self.weights.min_relative_score * ranked[0].score
        chosen: list[Candidate] = []
        for candidate in ranked:
            if len(chosen) == limit or candidate.score < floor:
                break
            if chosen and _repeats(candidate, chosen):
                continue
            chosen.append(candidate)
        return chosen

    def _semantic(self, question_vector: np.ndarray | None, alone: list[str], in_context: list[str]) -> np.ndarray:
        """Each sentence's meaning cosine with the question, the better of the sentence read alone
        and read in context, each relative to its kind's mean (the meaning model's cosines crowd
        into a narrow band; short sentences sit higher in it). Both kinds are embedded in one call,
        so their batches share the model's streams."""
        if self.encoder is None or question_vector is None or not alone:
            return np.zeros(len(alone))
        cosines = np.asarray(self.encoder.passage([*alone, *in_context]), dtype=np.float64) @ question_vector
        alone_cosines, context_cosines = cosines[: len(alone)], cosines[len(alone) :]
        return np.maximum(alone_cosines - alone_cosines.mean(), context_cosines - context_cosines.mean())


def with_following(chosen: list[Candidate], candidates: Sequence[Candidate], count: int) -> list[Candidate]:
    """``chosen`` with, after each of its first ``count``, the next candidate sentence of the same
    passage (unless it is already chosen)."""
    following = {(c.passage_rank, c.index - 1): c for c in candidates}
    taken = {(c.passage_rank, c.index) for c in chosen}
    result = []
    for i, sentence in enumerate(chosen):
        result.append(sentence)
        after = following.get((sentence.passage_rank, sentence.index))
        if i < count and after is not None and (after.passage_rank, after.index) not in taken:
            result.append(after)
            taken.add((after.passage_rank, after.index))
    return result


def _positions_in_passage(spans: Sequence[tuple[int, int, int]]) -> list[int]:
    """Each span's position among the spans of its passage (spans come grouped by passage)."""
    positions = []
    for i, (rank, _, _) in enumerate(spans):
        positions.append(positions[-1] + 1 if i > 0 and spans[i - 1][0] == rank else 0)
    return positions


def in_context(
    spans: Sequence[tuple[int, int, int]], passages: Sequence[Passage], positions: Sequence[int] | None = None
) -> list[str]:
    """Each sentence (``(passage rank, start, end)``) with the candidate sentence before it in the
    same passage, or alone when it is its passage's first. ``positions``: the spans' positions in
    their passages (``_positions_in_passage``), when the caller has them already."""
    texts = []
    positions = _positions_in_passage(spans) if positions is None else positions
    for i, ((rank, start, end), position) in enumerate(zip(spans, positions)):
        if position > 0:
            start = spans[i - 1][1]
        texts.append(passages[rank].text[start:end])
    return texts


def _repeats(candidate: Candidate, chosen: list[Candidate]) -> bool:
    """A sentence adds nothing when the question words it holds are already quoted and its
    meaning is no closer to the question than a chosen sentence's of the same passage."""
    covered = frozenset().union(*(c.terms for c in chosen))
    same_passage = [c for c in chosen if c.passage_rank == candidate.passage_rank]
    return bool(candidate.terms) and candidate.terms <= covered and any(
        c.semantic >= candidate.semantic for c in same_passage
    )
