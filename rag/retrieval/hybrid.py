"""Hybrid, cross-language retrieval as a LlamaIndex retriever.

Three signals per chunk, fused with weights per (question language, chunk language):
- lexical: BM25 over language-aware terms (rag.index.lexical); a question reaches chunks of another
  language through a dictionary translation of its terms, disambiguated against the corpus
  vocabulary (rag.text.translate);
- dense: cosine between the question's vector and the chunk's all-MiniLM-L6-v2 vector;
- gloss: cosine between the question's vector and the vector of the chunk's English word-by-word
  gloss (rag.text.gloss; German chunks only, stored at ingest).
The embedding model only reads English, so a German question is embedded through its English
gloss: all vector comparisons happen in English, in both directions.

Lexical scores are divided by the best score among the chunks of the same language (so every
language's best lexical match counts the same, and a question can reach a language whose terms
it only meets through translation); cosines are used as they are. Weights were fitted on XQuAD
(dev split) and the seed fixtures with bench/retrieval_xquad.py: German-German search relies on
BM25 plus the glosses (MiniLM on raw German text only adds noise), English-German on the glosses.

A chunk overlapping a better-ranked chunk of the same source widens that passage instead of
taking a place of its own, and a chunk continuing it after a paragraph break joins it
(merge_neighbours), so the top k are k distinct stretches of text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle

from rag.index.search_index import SearchIndex
from rag.retrieval.fusion import fuse, mean_meaning_by_language, top_indices, weights_for_question
from rag.retrieval.passages import (
    CANDIDATES_PER_PASSAGE,
    MERGE_POOL,
    RetrievalResult,
    joined_location,
    joined_text,
    merge_neighbours,
)
from rag.retrieval.planning import DictionarySource, QueryPlan, QueryPlanner, coverage
from rag.embedding.meaning import MeaningModel
from rag.runtime.threads import limited_blas_threads
from rag.types import Passage

log = logging.getLogger(__name__)


class HybridRetriever(BaseRetriever):
    """LlamaIndex retriever fusing BM25 (with translation) and dense search."""

    def __init__(
        self,
        index: SearchIndex,
        embedding: BaseEmbedding,
        dictionary: DictionarySource,
        top_k: int = 5,
        blas_threads: int = 1,
        meaning: MeaningModel | None = None,
    ):
        super().__init__()
        self.index = index
        self.embedding = embedding
        self.planner = QueryPlanner(index, dictionary)
        self.top_k = top_k
        self.blas_threads = blas_threads
        self.meaning = meaning if index.has_meaning else None
        self.sources: list[str] | None = None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.search(query_bundle.query_str, self.top_k, self.sources).nodes

    def search(
        self,
        question: str,
        top_k: int,
        sources: list[str] | None = None,
        translations: dict[str, str] | None = None,
    ) -> RetrievalResult:
        index = self.index
        if not index.chunks:
            return RetrievalResult(self.planner.plan(question, translations), [])
        # The meaning vector needs only the question as asked: it is computed while the question
        # is planned, the English vector computed and compared with the chunks (bench/notes.md,
        # "A question's work beside its meaning vector").
        meaning_vector_when_done = self._start_meaning_vector(question)
        try:
            plan = self.planner.plan(question, translations)
            allowed = self._allowed_mask(sources)
            lexical = index.lexical.scores(plan.weighted_terms())
            vector = np.asarray(self.embedding.get_query_embedding(plan.embedded_text), dtype=np.float32)
            with limited_blas_threads(self.blas_threads):
                dense = index.vectors @ vector
                gloss = index.gloss_scores(vector)
        finally:  # a started inference is always collected, also when planning fails
            meaning_vector = meaning_vector_when_done()
        with limited_blas_threads(self.blas_threads):
            meaning = index.meaning_scores(meaning_vector) if meaning_vector is not None else None
        weights = weights_for_question(plan.language, index.languages)
        fused = fuse(weights, index.indices_by_language, lexical, dense, gloss, allowed, meaning)
        fused = np.where(allowed, fused, -np.inf)
        pool = max(MERGE_POOL, top_k * CANDIDATES_PER_PASSAGE)
        ranked = [int(i) for i in top_indices(fused, pool) if np.isfinite(fused[i])]
        groups = merge_neighbours(ranked, self._span, self._gap_before)[:top_k]
        baselines = mean_meaning_by_language(meaning, allowed, index.indices_by_language) if meaning is not None else {}
        passages = [
            self._passage(rows, float(fused[rows[0]]), plan, self._cosine(rows[0], dense, gloss), meaning, baselines)
            for rows in groups
        ]
        return RetrievalResult(plan, passages, meaning_vector)

    def _start_meaning_vector(self, question: str) -> Callable[[], np.ndarray | None]:
        """The question's multilingual vector (the question as asked: the model reads both
        languages), started before the English vector so that the two are computed at once."""
        if self.meaning is None:
            return lambda: None
        return self.meaning.start_query(question)

    def _span(self, i: int) -> tuple[str, int, int]:
        chunks = self.index.chunks
        return chunks.value(i, "source"), int(chunks.value(i, "start")), int(chunks.value(i, "end"))

    def _gap_before(self, i: int) -> str | None:
        return self.index.chunks.value(i, "gap_before")

    def _cosine(self, i: int, dense: np.ndarray, gloss: np.ndarray) -> float:
        """The question's cosine with the chunk's English form: its gloss if German, else its text."""
        return float(gloss[i] if self.index.chunks.value(i, "language") == "de" else dense[i])

    def _allowed_mask(self, sources: list[str] | None) -> np.ndarray:
        if not sources:
            return np.ones(len(self.index.chunks), dtype=bool)
        return self.index.chunks.rows_with("source", set(sources))

    def _passage(
        self,
        rows: list[int],
        score: float,
        plan: QueryPlan,
        cosine: float,
        meaning: np.ndarray | None,
        baselines: dict[str, float],
    ) -> Passage:
        """One passage: the best chunk ``rows[0]``, widened to the chunks merged into it (its
        scores stay the best chunk's; matched terms are those of any of them)."""
        members = [self.index.chunks[i] for i in rows]
        chunk = members[0]
        metadata = chunk.metadata
        language = metadata.get("language", "und")
        groups = plan.groups.get(language, [])
        terms = [t for g in groups for t, _ in g.targets]
        matched = set().union(*(self.index.lexical.matched_terms(i, terms) for i in rows))
        text, start, end = joined_text(members)
        return Passage(
            source=metadata["source"],
            title=metadata.get("title", metadata["source"]),
            language=language,
            kind=metadata.get("kind", ""),
            text=text,
            start=start,
            end=end,
            score=score,
            chunk_id=chunk.chunk_id,
            coverage=coverage(groups, matched, self.index.lexical),
            cosine=cosine,
            **joined_location(members).model_dump(),
            meaning=_best_meaning(meaning, rows),
            meaning_baseline=baselines.get(language),
        )


def _best_meaning(meaning: np.ndarray | None, rows: list[int]) -> float | None:
    """The passage's meaning cosine: its best chunk's, among those that have one."""
    if meaning is None:
        return None
    values = meaning[rows]
    values = values[~np.isnan(values)]
    return float(values.max()) if len(values) else None
