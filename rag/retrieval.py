"""Hybrid, cross-language retrieval as a LlamaIndex retriever.

Two rankings are fused:
- lexical: BM25 over language-aware terms (rag.lexical); a question reaches chunks of another
  language through a dictionary translation of its terms, disambiguated against the corpus
  vocabulary (rag.translate);
- dense: all-MiniLM-L6-v2 vectors in Chroma (English-only, so weaker on German).
Fusion is reciprocal-rank fusion weighted per (question language, chunk language): dense search
helps English and cross-language questions but hurts German-German ones, so it weighs less there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.language import detect_language
from rag.lexical import LexicalDocument, LexicalIndex, WeightedTerms, namespaced
from rag.store import ChunkStore, FileRecord, StoredChunk
from rag.types import Passage

log = logging.getLogger(__name__)

RRF_K = 10
CANDIDATES = 50
#: (question language, chunk language) -> (lexical weight, dense weight)
FUSION_WEIGHTS: dict[tuple[str, str], tuple[float, float]] = {
    ("en", "en"): (1.0, 0.5),
    ("de", "de"): (1.0, 0.15),
    ("en", "de"): (1.0, 0.6),
    ("de", "en"): (1.0, 0.3),
}
DEFAULT_WEIGHTS = (1.0, 0.5)
MIN_RELATIVE_SENSE = 0.3  # translations weaker than this share of the best sense are ignored
MAX_TRANSLATIONS = 4


@dataclass
class TermGroup:
    """One word of the question and the terms standing for it in one document language."""

    source: str
    targets: list[tuple[str, float]]  # namespaced terms with weights summing to at most 1


@dataclass
class QueryPlan:
    """How a question is searched: its language and its terms in every corpus language."""

    question: str
    language: str
    groups: dict[str, list[TermGroup]] = field(default_factory=dict)

    def weighted_terms(self) -> WeightedTerms:
        return [term for groups in self.groups.values() for g in groups for term in g.targets]


@dataclass
class RetrievalResult:
    plan: QueryPlan
    nodes: list[NodeWithScore]

    @property
    def passages(self) -> list[Passage]:
        return [passage_from_node(n) for n in self.nodes]


class CorpusIndex:
    """The current chunks of a store with their lexical index, loaded once per store version."""

    def __init__(self, store: ChunkStore):
        self.store = store
        self.records: dict[str, FileRecord] = store.file_records()
        self.chunks: list[StoredChunk] = store.current_chunks()
        self.position = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self.lexical = LexicalIndex(
            [LexicalDocument(c.text, c.metadata.get("language", "und")) for c in self.chunks]
        )
        self.languages = sorted({c.metadata.get("language", "und") for c in self.chunks})
        chunk_languages = np.array([c.metadata.get("language", "und") for c in self.chunks])
        self.indices_by_language = {
            lang: np.flatnonzero(chunk_languages == lang) for lang in self.languages
        }

    def vocabulary(self, language: str) -> dict[str, int]:
        return self.lexical.vocabulary(language)


class QueryPlanner:
    """Turns a question into terms for each corpus language, translating where needed."""

    def __init__(self, corpus: CorpusIndex, dictionary):
        self.corpus = corpus
        self.dictionary = dictionary
        self._vocabularies = {lang: corpus.vocabulary(lang) for lang in corpus.languages}

    def plan(self, question: str) -> QueryPlan:
        language = detect_language(question)
        if language not in ("en", "de"):
            language = "en"
        source_terms = list(dict.fromkeys(self.corpus.lexical.analyzer(language).analyze(question)))
        plan = QueryPlan(question=question, language=language)
        for target in self.corpus.languages:
            plan.groups[target] = [self._group(term, language, target) for term in source_terms]
        return plan

    def _group(self, term: str, source: str, target: str) -> TermGroup:
        if target == source or target not in ("en", "de") or self.dictionary is None:
            return TermGroup(term, [(namespaced(target, term), 1.0)])
        translations = translate_against_corpus(
            self.dictionary, term, source, target, self._vocabularies.get(target, {})
        )
        return TermGroup(term, [(namespaced(target, t), w) for t, w in translations])


def translate_against_corpus(
    dictionary, term: str, source: str, target: str, vocabulary: dict[str, int]
) -> list[tuple[str, float]]:
    """Plausible translations of one term that occur in the corpus, weighted by plausibility.

    Weights are relative to the dictionary's best sense and never scaled up after filtering: a word
    whose main senses are absent from the corpus keeps only its weak senses' small weights (or
    none), instead of letting a rare sense that happens to occur count as a full match.
    A word the dictionary does not know (a name) stands for itself.
    """
    candidates = dictionary.lookup(term, source, target) or dictionary._compound_translations(
        term, source, target
    )
    if not candidates:
        return [(term, 1.0)]
    best = max(w for _, w in candidates)
    plausible = [(t, w / best) for t, w in candidates if w / best >= MIN_RELATIVE_SENSE]
    if vocabulary.get(term, 0) > 0 and all(t != term for t, _ in plausible):
        plausible.append((term, 1.0))  # loanwords and names shared by both languages
    in_corpus = sorted(((t, w) for t, w in plausible if vocabulary.get(t, 0) > 0), key=lambda tw: -tw[1])
    in_corpus = in_corpus[:MAX_TRANSLATIONS]
    total = sum(w for _, w in in_corpus)
    return [(t, w / max(total, 1.0)) for t, w in in_corpus]


class HybridRetriever(BaseRetriever):
    """LlamaIndex retriever fusing BM25 (with translation) and dense search."""

    def __init__(self, corpus: CorpusIndex, embedding: BaseEmbedding, dictionary, top_k: int = 5):
        super().__init__()
        self.corpus = corpus
        self.embedding = embedding
        self.planner = QueryPlanner(corpus, dictionary)
        self.top_k = top_k
        self.sources: list[str] | None = None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.search(query_bundle.query_str, self.top_k, self.sources).nodes

    def search(self, question: str, top_k: int, sources: list[str] | None = None) -> RetrievalResult:
        corpus = self.corpus
        plan = self.planner.plan(question)
        if not corpus.chunks:
            return RetrievalResult(plan, [])
        allowed = self._allowed_mask(sources)
        lexical_scores = corpus.lexical.scores(plan.weighted_terms())
        dense_cosine = self._dense_cosines(question, sources)
        dense_scores = np.full(len(corpus.chunks), -np.inf)
        for index, cosine in dense_cosine.items():
            dense_scores[index] = cosine
        # Scores are not comparable across languages (an English question is always closer to
        # English text), so each language's chunks are ranked among themselves, then fused.
        lexical_rank = self._ranks_per_language(np.where(allowed & (lexical_scores > 0), lexical_scores, -np.inf))
        dense_rank = self._ranks_per_language(np.where(allowed, dense_scores, -np.inf))
        fused = np.where(allowed, self._fuse(plan.language, lexical_rank, dense_rank), 0.0)
        best = [int(i) for i in np.argsort(-fused, kind="stable")[:top_k] if fused[i] > 0]
        ceiling = _fusion_ceiling(plan.language, corpus.languages)
        nodes = [
            self._node(i, fused[i] / ceiling, plan, lexical_scores[i], dense_cosine.get(i))
            for i in best
        ]
        return RetrievalResult(plan, nodes)

    def _ranks_per_language(self, scores: np.ndarray) -> np.ndarray:
        """1-based rank of each chunk among the chunks of its language; 0 when unranked."""
        ranks = np.zeros(len(scores), dtype=np.int64)
        for indices in self.corpus.indices_by_language.values():
            order = indices[np.argsort(-scores[indices], kind="stable")][:CANDIDATES]
            order = order[np.isfinite(scores[order])]
            ranks[order] = np.arange(1, len(order) + 1)
        return ranks

    def _allowed_mask(self, sources: list[str] | None) -> np.ndarray:
        if not sources:
            return np.ones(len(self.corpus.chunks), dtype=bool)
        wanted = set(sources)
        return np.array([c.metadata["source"] in wanted for c in self.corpus.chunks])

    def _dense_cosines(self, question: str, sources: list[str] | None) -> dict[int, float]:
        vector = self.embedding.get_query_embedding(question)
        hits = self.corpus.store.dense_search(vector, CANDIDATES, self.corpus.records, sources)
        return {
            self.corpus.position[h.chunk_id]: h.score for h in hits if h.chunk_id in self.corpus.position
        }

    def _fuse(self, language: str, lexical_rank: np.ndarray, dense_rank: np.ndarray) -> np.ndarray:
        chunk_languages = [c.metadata.get("language", "und") for c in self.corpus.chunks]
        weights = np.array([FUSION_WEIGHTS.get((language, lang), DEFAULT_WEIGHTS) for lang in chunk_languages])
        lexical = np.where(lexical_rank > 0, 1.0 / (RRF_K + lexical_rank), 0.0)
        dense = np.where(dense_rank > 0, 1.0 / (RRF_K + dense_rank), 0.0)
        return weights[:, 0] * lexical + weights[:, 1] * dense

    def _node(self, i: int, score: float, plan: QueryPlan, lexical: float, cosine: float | None) -> NodeWithScore:
        chunk = self.corpus.chunks[i]
        language = chunk.metadata.get("language", "und")
        groups = plan.groups.get(language, [])
        matched = self.corpus.lexical.matched_terms(i, [t for g in groups for t, _ in g.targets])
        node = TextNode(
            id_=chunk.chunk_id,
            text=chunk.text,
            metadata={
                **chunk.metadata,
                "lexical_score": float(lexical),
                "dense_cosine": float(cosine) if cosine is not None else None,
                "coverage": self._coverage(groups, matched),
                "query_language": plan.language,
                "matched_terms": sorted(matched),
            },
        )
        return NodeWithScore(node=node, score=float(score))

    def _coverage(self, groups: list[TermGroup], matched: set[str]) -> float:
        return coverage(groups, matched, self.corpus.lexical)


def coverage(groups: list[TermGroup], matched: set[str], lexical: LexicalIndex) -> float:
    """Share of the question's words (weighted by rarity) found in a text, in any translation."""
    total = found = 0.0
    for group in groups:
        # A word with no counterpart in the corpus weighs like a rare word that is missing.
        weight = max((lexical.idf(t) for t, _ in group.targets), default=lexical.idf(""))
        total += weight
        best_match = max((w for t, w in group.targets if t in matched), default=0.0)
        found += weight * min(1.0, best_match / max(w for _, w in group.targets)) if best_match else 0.0
    return found / total if total else 0.0


def _fusion_ceiling(language: str, corpus_languages: list[str]) -> float:
    """The best fused score possible (rank 1 in both lists), so scores fall in (0, 1]."""
    best = max(
        (sum(FUSION_WEIGHTS.get((language, lang), DEFAULT_WEIGHTS)) for lang in corpus_languages),
        default=sum(DEFAULT_WEIGHTS),
    )
    return best / (RRF_K + 1)


def passage_from_node(node: NodeWithScore) -> Passage:
    metadata = node.node.metadata
    return Passage(
        source=metadata["source"],
        title=metadata.get("title", metadata["source"]),
        language=metadata.get("language", "und"),
        kind=metadata.get("kind", ""),
        text=node.node.get_content(),
        start=int(metadata["start"]),
        end=int(metadata["end"]),
        score=float(node.score or 0.0),
        chunk_id=node.node.node_id,
    )
