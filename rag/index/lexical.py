"""Language-aware BM25 over the stored chunks.

Each chunk is analysed in its own language (stemming; German compounds split against the corpus
vocabulary). Terms are namespaced by language ("de:kraft", "en:power"), so a query reaches a
German chunk only through German terms: its own, or its dictionary translation. The index also
knows which German terms occur as nouns (capitalised), so that a translation the dictionary
gives only as a noun ("power" -> "Macht") is not matched with a verb form ("er macht").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.text.language import Analyzer, capitalized_words, tokenize

K1 = 1.2
B = 0.75

WeightedTerms = list[tuple[str, float]]


@dataclass(frozen=True)
class LexicalDocument:
    text: str
    language: str


def namespaced(language: str, term: str) -> str:
    return f"{language}:{term}"


class LexicalIndex:
    """BM25 term weights as inverted lists: for each term, the documents it occurs in (sorted) and
    its BM25 weight there (the columns of a sparse documents x terms matrix, in numpy arrays; scipy
    would cost its import time on every cold start)."""

    def __init__(self, documents: Sequence[LexicalDocument]):
        self.size = len(documents)
        self.languages = sorted({d.language for d in documents} | {"en"})
        self.german_vocabulary = _surface_vocabulary(d.text for d in documents if d.language == "de")
        self.analyzers = {
            lang: Analyzer(lang, vocabulary=self.german_vocabulary if lang == "de" else None)
            for lang in self.languages
        }
        self.german_nouns = self._noun_terms(d.text for d in documents if d.language == "de")
        term_counts = [
            Counter(namespaced(d.language, t) for t in self.analyzers[d.language].analyze(d.text))
            for d in documents
        ]
        self.term_ids: dict[str, int] = {}
        for counts in term_counts:
            for term in counts:
                self.term_ids.setdefault(term, len(self.term_ids))
        self.postings = self._bm25_postings(term_counts, [d.language for d in documents])

    def __getstate__(self) -> dict:
        # Pickled (inside an index snapshot) as a list in id order: unpickling the dict of 190,000
        # terms (10^5 chunks) took three times as long as the list plus rebuilding the dict.
        return {**{k: v for k, v in self.__dict__.items() if k != "term_ids"}, "terms": list(self.term_ids)}

    def __setstate__(self, state: dict) -> None:
        terms = state.pop("terms")
        self.__dict__.update(state)
        self.term_ids = dict(zip(terms, range(len(terms))))

    def analyzer(self, language: str) -> Analyzer:
        if language not in self.analyzers:
            self.analyzers[language] = Analyzer(language if language in ("en", "de") else "und")
        return self.analyzers[language]

    def vocabulary(self, language: str) -> dict[str, int]:
        """Terms of one language's chunks (without namespace) with their document frequencies."""
        prefix = f"{language}:"
        frequencies = self.postings.lengths().tolist()
        return {t[len(prefix):]: frequencies[i] for t, i in self.term_ids.items() if t.startswith(prefix)}

    def document_frequency(self, term: str) -> int:
        """How many documents hold the namespaced term: the length of its postings list."""
        column = self.term_ids.get(term)
        return 0 if column is None else int(self.postings.indptr[column + 1] - self.postings.indptr[column])

    def _noun_terms(self, texts) -> frozenset[str]:
        """German terms (unnamespaced) of words written with a capital: nouns, and the odd
        sentence-initial word."""
        if "de" not in self.analyzers:
            return frozenset()
        analyzer = self.analyzers["de"]
        words: set[str] = set()
        for text in texts:
            words.update(capitalized_words(text))
        return frozenset(term for word in words for term in analyzer.analyze_token(word))

    def _bm25_postings(self, term_counts: list[Counter], document_languages: list[str]) -> Postings:
        lengths = np.array([sum(c.values()) for c in term_counts], dtype=np.float64)
        docs_per_language = Counter(document_languages)
        average_length = {
            lang: max(float(np.mean([lengths[i] for i, l in enumerate(document_languages) if l == lang])), 1.0)
            for lang in docs_per_language
        }
        df = Counter(t for counts in term_counts for t in counts)
        rows, cols, values = [], [], []
        for doc, counts in enumerate(term_counts):
            lang = document_languages[doc]
            norm = K1 * (1 - B + B * lengths[doc] / average_length[lang])
            n_lang = docs_per_language[lang]
            for term, tf in counts.items():
                idf = math.log(1 + (n_lang - df[term] + 0.5) / (df[term] + 0.5))
                rows.append(doc)
                cols.append(self.term_ids[term])
                values.append(idf * tf * (K1 + 1) / (tf + norm))
        return Postings.from_triples(rows, cols, values, n_terms=max(len(self.term_ids), 1))

    def _query_weights(self, weighted_terms: WeightedTerms) -> dict[int, float]:
        weights: dict[int, float] = {}
        for term, weight in weighted_terms:
            index = self.term_ids.get(term)
            if index is not None:
                weights[index] = weights.get(index, 0.0) + weight
        return weights

    def scores(self, weighted_terms: WeightedTerms) -> np.ndarray:
        """BM25 score of every document for namespaced, weighted query terms.

        Only the query's columns are touched (column-major matrix), so the cost follows the
        postings of the question's terms, not the size of the whole index."""
        weights = self._query_weights(weighted_terms)
        if self.size == 0 or not weights:
            return np.zeros(self.size, dtype=np.float32)
        scores = np.zeros(self.size, dtype=np.float32)
        for column, weight in weights.items():
            documents, values = self.postings.column(column)
            scores[documents] += weight * values  # a term occurs once per document: no collisions
        return scores

    def matched_terms(self, document: int, terms: Sequence[str]) -> set[str]:
        """Which of the namespaced terms occur in the document."""
        found = set()
        for term in terms:
            column = self.term_ids.get(term)
            if column is None:
                continue
            documents, _ = self.postings.column(column)
            position = np.searchsorted(documents, document)
            if position < len(documents) and documents[position] == document:
                found.add(term)
        return found

    def idf(self, term: str) -> float:
        df = self.document_frequency(term)
        n = max(self.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class Postings:
    """Column-major sparse matrix: column c's rows are indices[indptr[c]:indptr[c+1]], sorted."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @classmethod
    def from_triples(cls, rows: list[int], cols: list[int], values: list[float], n_terms: int) -> Postings:
        rows_array = np.asarray(rows, dtype=np.int32)
        cols_array = np.asarray(cols, dtype=np.int64)
        order = np.lexsort((rows_array, cols_array))
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols_array, minlength=n_terms), out=indptr[1:])
        return cls(indptr, rows_array[order], np.asarray(values, dtype=np.float32)[order])

    def lengths(self) -> np.ndarray:
        """Documents per column (a term occurs at most once per document: its document frequency)."""
        return np.diff(self.indptr)

    def column(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.indptr[column], self.indptr[column + 1]
        return self.indices[start:end], self.data[start:end]


def _surface_vocabulary(texts) -> set[str]:
    vocabulary: set[str] = set()
    for text in texts:
        vocabulary.update(t for t in tokenize(text) if len(t) >= 3)
    return vocabulary
