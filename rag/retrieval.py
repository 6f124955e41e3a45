"""Hybrid, cross-language retrieval as a LlamaIndex retriever.

Three signals per chunk, fused with weights per (question language, chunk language):
- lexical: BM25 over language-aware terms (rag.lexical); a question reaches chunks of another
  language through a dictionary translation of its terms, disambiguated against the corpus
  vocabulary (rag.translate);
- dense: cosine between the question's vector and the chunk's all-MiniLM-L6-v2 vector;
- gloss: cosine between the question's vector and the vector of the chunk's English word-by-word
  gloss (rag.gloss; German chunks only, stored at ingest).
The embedding model only reads English, so a German question is embedded through its English
gloss: all vector comparisons happen in English, in both directions.

Lexical scores are divided by the best score among the chunks of the same language (so every
language's best lexical match counts the same, and a question can reach a language whose terms
it only meets through translation); cosines are used as they are. Weights were fitted on XQuAD
(dev split) and the seed fixtures with bench/retrieval_xquad.py: German-German search relies on
BM25 plus the glosses (MiniLM on raw German text only adds noise), English-German on the glosses.

A chunk overlapping a better-ranked chunk of the same source widens that passage instead of
taking a place of its own (merge_overlapping), so the top k are k distinct stretches of text.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.chunktable import ChunkTable
from rag.cputhreads import limited_blas_threads
from rag.gloss import gloss_german
from rag.language import detect_language
from rag.lexical import LexicalDocument, LexicalIndex, WeightedTerms, namespaced
from rag.store import ChunkStore, FileRecord, StoredChunk
from rag.types import Passage

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class FusionWeights:
    """How much each signal counts for one (question language, chunk language) pair."""

    lexical: float
    dense: float
    gloss: float = 0.0

    @property
    def total(self) -> float:
        return self.lexical + self.dense + self.gloss


#: (question language, chunk language) -> weights. German questions are embedded as their English
#: gloss, so "dense" for ("de", "en") compares the glossed question with English text.
FUSION_WEIGHTS: dict[tuple[str, str], FusionWeights] = {
    ("en", "en"): FusionWeights(lexical=1.0, dense=2.0),
    ("en", "de"): FusionWeights(lexical=1.0, dense=0.5, gloss=3.0),
    ("de", "de"): FusionWeights(lexical=1.0, dense=0.0, gloss=2.0),
    ("de", "en"): FusionWeights(lexical=1.0, dense=2.0),
}
DEFAULT_WEIGHTS = FusionWeights(lexical=1.0, dense=2.0)
MIN_SCORE = 1e-6  # node scores stay in (0, 1]
MIN_RELATIVE_SENSE = 0.3  # translations weaker than this share of the best sense are ignored
MAX_TRANSLATIONS = 4
# Passages are grouped from the best MERGE_POOL chunks (or CANDIDATES_PER_PASSAGE per passage wanted,
# if more) whatever top_k is, so the first k passages of a longer list are the k of a shorter one.
MERGE_POOL = 60
CANDIDATES_PER_PASSAGE = 3
MAX_CHUNKS_PER_PASSAGE = 2
MIN_EXTENDED_TERM = 4


@dataclass
class TermGroup:
    """One word of the question and the terms standing for it in one document language."""

    source: str
    targets: list[tuple[str, float]]  # namespaced terms with weights summing to at most 1


@dataclass
class QueryPlan:
    """How a question is searched: its language, its terms in every corpus language, and the
    English text that is embedded for it (the question itself, or its gloss if German)."""

    question: str
    language: str
    groups: dict[str, list[TermGroup]] = field(default_factory=dict)
    embedded_text: str = ""

    def weighted_terms(self) -> WeightedTerms:
        return [term for groups in self.groups.values() for g in groups for term in g.targets]


@dataclass
class RetrievalResult:
    plan: QueryPlan
    nodes: list[NodeWithScore]

    @property
    def passages(self) -> list[Passage]:
        return [passage_from_node(n) for n in self.nodes]


SNAPSHOT_METADATA_KEYS = ("source", "title", "language", "kind", "start", "end", "chunk_index")


class CorpusIndex:
    """The current chunks of a store with their vectors and lexical index, in memory.

    Built from the store (``from_store``) or from a disk snapshot of an earlier build
    (``from_state``; see rag.snapshot), which needs no Chroma at all. ``chunks`` is a ChunkTable
    (columns, read one chunk at a time); ``vectors`` has a row per chunk; ``gloss_vectors`` a row
    per German chunk (``german_rows``, in order): only German chunks have a gloss, so an English
    corpus does not hold (and load) its vectors twice.
    """

    def __init__(
        self,
        records: dict[str, FileRecord],
        chunks: ChunkTable,
        vectors: np.ndarray,
        gloss_vectors: np.ndarray,
        lexical: LexicalIndex | None = None,
        store: ChunkStore | None = None,
    ):
        self.store = store
        self.records = records
        self.chunks = chunks
        self.vectors = vectors
        self.gloss_vectors = gloss_vectors
        self.lexical = lexical or LexicalIndex(
            [LexicalDocument(c.text, c.metadata.get("language", "und")) for c in chunks]
        )
        rows_by_language = chunks.rows_by_value("language", "und")
        self.languages = sorted(rows_by_language)
        self.indices_by_language = {lang: rows_by_language[lang] for lang in self.languages}
        self.german_rows = self.indices_by_language.get("de", np.zeros(0, dtype=np.int64))
        if len(gloss_vectors) != len(self.german_rows):
            raise ValueError(f"{len(gloss_vectors)} gloss vectors for {len(self.german_rows)} German chunks")

    def gloss_scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of ``vector`` with every German chunk's gloss; 0 for the other chunks."""
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        if len(self.german_rows):
            scores[self.german_rows] = self.gloss_vectors @ vector
        return scores

    @classmethod
    def from_store(cls, store: ChunkStore) -> CorpusIndex:
        chunks = [
            StoredChunk(c.chunk_id, c.text, {k: c.metadata[k] for k in SNAPSHOT_METADATA_KEYS if k in c.metadata})
            for c in store.current_chunks()
        ]
        vectors, gloss_vectors = _load_vectors(store, chunks)
        return cls(store.file_records(), ChunkTable.of(chunks), vectors, gloss_vectors, store=store)

    def state(self) -> dict:
        """What a snapshot stores; ``from_state`` rebuilds an equal index from it."""
        return {
            "records": self.records,
            "chunks": self.chunks,
            "vectors": self.vectors,
            "gloss_vectors": self.gloss_vectors,
            "lexical": self.lexical,
        }

    @classmethod
    def from_state(cls, state: dict, store: ChunkStore | None = None) -> CorpusIndex:
        return cls(state["records"], state["chunks"], state["vectors"], state["gloss_vectors"], state["lexical"], store)

    def vocabulary(self, language: str) -> dict[str, int]:
        return self.lexical.vocabulary(language)


def _load_vectors(store: ChunkStore, chunks: list[StoredChunk]) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors (a row per chunk) and gloss vectors (a row per German chunk, in order; one
    whose gloss is not stored yet gets its own vector). Dense search is then matrix products."""
    ids = [c.chunk_id for c in chunks]
    if not ids:
        return np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.float32)
    by_id = store.chunk_vectors(ids)
    vectors = np.array([by_id[i] for i in ids], dtype=np.float32)
    german = [i for i, c in enumerate(chunks) if c.metadata.get("language") == "de"]
    glosses = vectors[german].copy() if german else np.zeros((0, vectors.shape[1]), dtype=np.float32)
    stored = store.gloss_vectors([ids[i] for i in german]) if german else {}
    for row, i in enumerate(german):
        if ids[i] in stored:
            glosses[row] = stored[ids[i]][1]
    return vectors, glosses


def load_corpus_index(settings, open_store, version: str | None = None) -> CorpusIndex:
    """The index for the store's current version: from a snapshot when one matches, else built
    from the store and snapshotted. ``open_store()`` returns the ChunkStore (opened only if needed);
    ``version`` is the store's index version when the caller knows it already."""
    from rag import snapshot

    stamped = version or snapshot.read_stamp(settings)
    if stamped:
        corpus = _corpus_from_snapshot(settings, stamped)
        if corpus is not None:
            return corpus
    store = open_store()
    version = version or snapshot.index_version(store)
    corpus = _corpus_from_snapshot(settings, version, store)
    if corpus is not None:
        return corpus
    corpus = CorpusIndex.from_store(store)
    snapshot.save_snapshot(settings, version, corpus.state())
    return corpus


def _corpus_from_snapshot(settings, version: str, store: ChunkStore | None = None) -> CorpusIndex | None:
    from rag import snapshot

    state = snapshot.load_snapshot(settings, version)
    return CorpusIndex.from_state(state, store) if state is not None else None


def question_language(question: str) -> str:
    """'en' or 'de'; questions without clear evidence are treated as English."""
    language = detect_language(question)
    return language if language in ("en", "de") else "en"


class QueryPlanner:
    """Turns a question into terms for each corpus language, translating where needed."""

    def __init__(self, corpus: CorpusIndex, dictionary):
        """``dictionary``: a Dictionary, None, or a function returning one of them; a function is
        called on first need only, so questions in a one-language corpus never load it."""
        self.corpus = corpus
        self._dictionary = dictionary
        self._dictionary_resolved = not callable(dictionary)
        self._vocabularies: dict[str, CorpusVocabulary] = {}

    def plan(self, question: str, translations: dict[str, str] | None = None) -> QueryPlan:
        """``translations`` (language -> the question translated, e.g. by an LLM) replace the
        dictionary's word-by-word translation for that language, and the English translation of a
        German question is embedded instead of its gloss."""
        language = question_language(question)
        translations = {k: v for k, v in (translations or {}).items() if k != language and v.strip()}
        source_terms = self._terms(question, language)
        embedded = question
        if language == "de":
            embedded = translations.get("en") or gloss_german(question, self.dictionary)
        plan = QueryPlan(question=question, language=language, embedded_text=embedded)
        for target in self.corpus.languages:
            if target in translations:
                terms = self._terms(translations[target], target)
                plan.groups[target] = [TermGroup(t, [(namespaced(target, t), 1.0)]) for t in terms]
            else:
                plan.groups[target] = [self._group(term, language, target) for term in source_terms]
        return plan

    @property
    def dictionary(self):
        if not self._dictionary_resolved:
            self._dictionary = self._dictionary()
            self._dictionary_resolved = True
        return self._dictionary

    def _terms(self, text: str, language: str) -> list[str]:
        return list(dict.fromkeys(self.corpus.lexical.analyzer(language).analyze(text)))

    def _group(self, term: str, source: str, target: str) -> TermGroup:
        if target == source or target not in ("en", "de") or self.dictionary is None:
            return TermGroup(term, [(namespaced(target, term), 1.0)])
        translations = translate_against_corpus(self.dictionary, term, source, target, self._vocabulary(target))
        return TermGroup(term, [(namespaced(target, t), w) for t, w in translations])

    def _vocabulary(self, language: str) -> CorpusVocabulary:
        """Built on first use: collecting one language's terms walks the whole lexicon (at 10^5
        chunks 0.02-0.08 s per language), and a question only needs those it is translated into."""
        if language not in self._vocabularies:
            nouns = self.corpus.lexical.german_nouns if language == "de" else None
            self._vocabularies[language] = CorpusVocabulary(self.corpus.vocabulary(language), nouns)
        return self._vocabularies[language]


class CorpusVocabulary:
    """The analyzed terms of one language's chunks with their document frequencies, and (German)
    the terms that occur as nouns."""

    def __init__(self, frequencies: dict[str, int], nouns: frozenset[str] | None = None):
        self.frequencies = frequencies
        self.nouns = nouns
        self._sorted: list[str] | None = None

    def __contains__(self, term: str) -> bool:
        return self.frequencies.get(term, 0) > 0

    def used_as_noun(self, term: str) -> bool:
        return self.nouns is None or term in self.nouns

    def one_letter_longer(self, term: str) -> list[str]:
        """Corpus terms that are ``term`` plus one letter.

        The Snowball stemmer leaves the "-t" of German verb forms: a translation "verletz" (from
        "Verletzung", "verletzen") would miss the corpus's "verletzt", "meint" would miss "mein".
        Only terms of at least MIN_EXTENDED_TERM letters are extended (short stems collide).
        """
        if len(term) < MIN_EXTENDED_TERM:
            return []
        if self._sorted is None:
            self._sorted = sorted(self.frequencies)
        found = []
        position = bisect.bisect_left(self._sorted, term)
        while position < len(self._sorted) and self._sorted[position].startswith(term):
            if len(self._sorted[position]) == len(term) + 1:
                found.append(self._sorted[position])
            position += 1
        return found


def translate_against_corpus(
    dictionary, term: str, source: str, target: str, vocabulary: CorpusVocabulary
) -> list[tuple[str, float]]:
    """Plausible translations of one term that occur in the corpus, weighted by plausibility.

    Weights are relative to the dictionary's best sense and never scaled up after filtering: a word
    whose main senses are absent from the corpus keeps only its weak senses' small weights (or
    none), instead of letting a rare sense that happens to occur count as a full match.
    A translation absent from the corpus stands for the corpus terms one letter longer (inflected
    forms the stemmer left apart); one the dictionary gives only as a noun counts only where the
    corpus writes it as one. A word the dictionary does not know (a name) stands for itself.
    """
    candidates = dictionary.candidates(term, source, target)
    if not candidates:
        return [(term, 1.0)]
    nouns = dictionary.noun_only(term, source, target)
    best = max(w for _, w in candidates)
    plausible = [(t, w / best) for t, w in candidates if w / best >= MIN_RELATIVE_SENSE]
    if term in vocabulary and all(t != term for t, _ in plausible):
        plausible.append((term, 1.0))  # loanwords and names shared by both languages
    weights: dict[str, float] = {}
    for translation, weight in plausible:
        forms = [translation] if translation in vocabulary else vocabulary.one_letter_longer(translation)
        if translation in nouns:
            forms = [form for form in forms if vocabulary.used_as_noun(form)]
        for form in forms:
            weights[form] = max(weights.get(form, 0.0), weight)
    in_corpus = sorted(weights.items(), key=lambda tw: -tw[1])[:MAX_TRANSLATIONS]
    total = sum(w for _, w in in_corpus)
    return [(t, w / max(total, 1.0)) for t, w in in_corpus]


class HybridRetriever(BaseRetriever):
    """LlamaIndex retriever fusing BM25 (with translation) and dense search."""

    def __init__(
        self, corpus: CorpusIndex, embedding: BaseEmbedding, dictionary, top_k: int = 5, blas_threads: int = 1
    ):
        super().__init__()
        self.corpus = corpus
        self.embedding = embedding
        self.planner = QueryPlanner(corpus, dictionary)
        self.top_k = top_k
        self.blas_threads = blas_threads
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
        corpus = self.corpus
        plan = self.planner.plan(question, translations)
        if not corpus.chunks:
            return RetrievalResult(plan, [])
        allowed = self._allowed_mask(sources)
        lexical = corpus.lexical.scores(plan.weighted_terms())
        vector = np.asarray(self.embedding.get_query_embedding(plan.embedded_text), dtype=np.float32)
        with limited_blas_threads(self.blas_threads):
            dense = corpus.vectors @ vector
            gloss = corpus.gloss_scores(vector)
        fused = np.where(allowed, self._fuse(plan.language, lexical, dense, gloss, allowed), -np.inf)
        pool = max(MERGE_POOL, top_k * CANDIDATES_PER_PASSAGE)
        ranked = [int(i) for i in top_indices(fused, pool) if np.isfinite(fused[i])]
        passages = merge_overlapping(ranked, self._span)[:top_k]
        nodes = [
            self._node(rows, fused[rows[0]], plan, lexical[rows[0]], self._cosine(rows[0], dense, gloss))
            for rows in passages
        ]
        return RetrievalResult(plan, nodes)

    def _span(self, i: int) -> tuple[str, int, int]:
        chunks = self.corpus.chunks
        return chunks.value(i, "source"), int(chunks.value(i, "start")), int(chunks.value(i, "end"))

    def _fuse(
        self, language: str, lexical: np.ndarray, dense: np.ndarray, gloss: np.ndarray, allowed: np.ndarray
    ) -> np.ndarray:
        """Weighted sum of the signals, in (0, 1]; lexical scores relative to their language's best.

        The sums are not normalised per language pair: a pair with more weight in total (English
        question, German chunk: lexical + dense + gloss) offsets the systematically lower scores of
        matching across languages. One common ceiling keeps scores in (0, 1].
        """
        fused = np.zeros(len(lexical))
        pairs = self.corpus.indices_by_language.items()
        ceiling = max(FUSION_WEIGHTS.get((language, lang), DEFAULT_WEIGHTS).total for lang, _ in pairs)
        for chunk_language, indices in pairs:
            weights = FUSION_WEIGHTS.get((language, chunk_language), DEFAULT_WEIGHTS)
            scores = lexical[indices]
            best = scores[allowed[indices]].max(initial=0.0)
            relative = scores / best if best > 0 else np.zeros_like(scores)
            combined = weights.lexical * relative + weights.dense * dense[indices] + weights.gloss * gloss[indices]
            fused[indices] = np.clip(combined / ceiling, MIN_SCORE, 1.0)
        return fused

    def _cosine(self, i: int, dense: np.ndarray, gloss: np.ndarray) -> float:
        """The question's cosine with the chunk's English form: its gloss if German, else its text."""
        return float(gloss[i] if self.corpus.chunks.value(i, "language") == "de" else dense[i])

    def _allowed_mask(self, sources: list[str] | None) -> np.ndarray:
        if not sources:
            return np.ones(len(self.corpus.chunks), dtype=bool)
        return self.corpus.chunks.rows_with("source", set(sources))

    def _node(
        self, rows: list[int], score: float, plan: QueryPlan, lexical: float, cosine: float | None
    ) -> NodeWithScore:
        """One passage: the best chunk ``rows[0]``, widened to the chunks merged into it (its
        scores stay the best chunk's; matched terms are those of any of them)."""
        members = [self.corpus.chunks[i] for i in rows]
        chunk = members[0]
        language = chunk.metadata.get("language", "und")
        groups = plan.groups.get(language, [])
        terms = [t for g in groups for t, _ in g.targets]
        matched = set().union(*(self.corpus.lexical.matched_terms(i, terms) for i in rows))
        text, start, end = joined_text(members)
        node = TextNode(
            id_=chunk.chunk_id,
            text=text,
            metadata={
                **chunk.metadata,
                "start": start,
                "end": end,
                "lexical_score": float(lexical),
                "dense_cosine": float(cosine) if cosine is not None else None,
                "coverage": self._coverage(groups, matched),
                "query_language": plan.language,
                "matched_terms": sorted(matched),
                "merged_chunks": len(rows),
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


def merge_overlapping(ranked: list[int], span: Callable[[int], tuple[str, int, int]]) -> list[list[int]]:
    """Group ranked chunks into passages, best first, each passage a chunk widened by at most one
    overlapping chunk.

    A chunk that overlaps a passage already chosen (same source, shared characters) never takes a
    place of its own: showing the same sentences twice wastes a place that text not yet shown
    could take. It widens that passage if the passage is still one chunk (the passage then shows
    its best chunk with the neighbour that ranks highest), and is left out otherwise, so a passage
    is at most two chunks long. Returns each passage's chunk rows, its best chunk first.
    """
    passages: list[list[int]] = []
    spans: list[tuple[str, int, int]] = []
    for row in ranked:
        source, start, end = span(row)
        overlapping = [n for n, (s, a, b) in enumerate(spans) if s == source and start < b and end > a]
        if not overlapping:
            passages.append([row])
            spans.append((source, start, end))
        elif len(overlapping) == 1 and len(passages[overlapping[0]]) < MAX_CHUNKS_PER_PASSAGE:
            n = overlapping[0]
            passages[n].append(row)
            spans[n] = (source, min(start, spans[n][1]), max(end, spans[n][2]))
    return passages


def joined_text(chunks: list[StoredChunk]) -> tuple[str, int, int]:
    """The text of overlapping chunks of one source (or of a single chunk) as one span:
    (text, start, end)."""
    ordered = sorted(chunks, key=lambda c: int(c.metadata["start"]))
    text, start, end = ordered[0].text, int(ordered[0].metadata["start"]), int(ordered[0].metadata["end"])
    for chunk in ordered[1:]:
        chunk_start, chunk_end = int(chunk.metadata["start"]), int(chunk.metadata["end"])
        if chunk_end > end:
            text += chunk.text[end - chunk_start :]
            end = chunk_end
    return text, start, end


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first (a partial sort: the index may be large)."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    candidates = np.argpartition(-scores, k)[:k]
    return candidates[np.argsort(-scores[candidates], kind="stable")]


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
        coverage=float(metadata.get("coverage", 0.0)),
        cosine=metadata.get("dense_cosine"),
    )
