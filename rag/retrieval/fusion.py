"""Fusing the lexical, dense and gloss signals into one score per chunk, weighted per
(question language, chunk language) pair. Weights were fitted with bench/retrieval_xquad.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FusionWeights:
    """How much each signal counts for one (question language, chunk language) pair."""

    lexical: float
    dense: float
    gloss: float = 0.0
    meaning: float = 0.0

    @property
    def total(self) -> float:
        return self.lexical + self.dense + self.gloss + self.meaning


#: (question language, chunk language) -> weights. German questions are embedded as their English
#: gloss, so "dense" for ("de", "en") compares the glossed question with English text.
FUSION_WEIGHTS: dict[tuple[str, str], FusionWeights] = {
    ("en", "en"): FusionWeights(lexical=1.0, dense=2.0, meaning=0.5),
    ("en", "de"): FusionWeights(lexical=1.0, dense=0.5, gloss=3.0, meaning=0.5),
    ("de", "de"): FusionWeights(lexical=1.0, dense=0.0, gloss=2.0, meaning=0.5),
    ("de", "en"): FusionWeights(lexical=1.0, dense=2.0, meaning=0.5),
}
DEFAULT_WEIGHTS = FusionWeights(lexical=1.0, dense=2.0, meaning=0.5)
MIN_SCORE = 1e-6  # node scores stay in (0, 1]


def fuse(
    weights_for: dict[str, FusionWeights],
    rows_by_language: dict[str, np.ndarray],
    lexical: np.ndarray,
    dense: np.ndarray,
    gloss: np.ndarray,
    allowed: np.ndarray,
    meaning: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted sum of the signals, in (0, 1]; lexical scores relative to their language's best.

    ``weights_for`` maps each chunk language to the weights of (question language, that language).
    ``meaning`` (multilingual cosines, NaN where a chunk has none) enters relative to the allowed
    chunks of the same language: 0 at their mean, 1 at their best (``meaning_by_language``), since
    the meaning model's cosines crowd into a narrow band and favour the question's language.
    The sums are not normalised per language pair: a pair with more weight in total (English
    question, German chunk: lexical + dense + gloss) offsets the systematically lower scores of
    matching across languages. One common ceiling keeps scores in (0, 1].
    """
    fused = np.zeros(len(lexical))
    relative = meaning_by_language(meaning, allowed, rows_by_language) if meaning is not None else None
    ceiling = max(
        (_total(weights_for[language], relative is not None) for language in rows_by_language), default=1.0
    )
    for chunk_language, rows in rows_by_language.items():
        weights = weights_for[chunk_language]
        scores = lexical[rows]
        best = scores[allowed[rows]].max(initial=0.0)
        relative_lexical = scores / best if best > 0 else np.zeros_like(scores)
        combined = weights.lexical * relative_lexical + weights.dense * dense[rows] + weights.gloss * gloss[rows]
        if relative is not None:
            combined = combined + weights.meaning * relative[rows]
        fused[rows] = np.clip(combined / ceiling, MIN_SCORE, 1.0)
    return fused


def meaning_by_language(
    meaning: np.ndarray, allowed: np.ndarray, rows_by_language: dict[str, np.ndarray]
) -> np.ndarray:
    """Meaning cosines rescaled within each chunk language over its allowed chunks that have one: 0
    at their mean (and below), 1 at the best; 0 where a chunk has no meaning vector. The meaning
    model rates text in the question's own language higher, so each language's chunks are compared
    among themselves (as lexical scores are)."""
    out = np.zeros(len(meaning), dtype=np.float64)
    for _, rows in _rows_with_meaning(meaning, allowed, rows_by_language):
        values = meaning[rows]
        mean, best = float(values.mean()), float(values.max())
        if best > mean:
            out[rows] = np.clip((values - mean) / (best - mean), 0.0, 1.0)
    return out


def mean_meaning_by_language(
    meaning: np.ndarray, allowed: np.ndarray, rows_by_language: dict[str, np.ndarray]
) -> dict[str, float]:
    """The question's mean meaning cosine with the allowed chunks of each language that have one
    (the level ``meaning_by_language`` rescales from; the relevance gate's ``meaning_baseline``)."""
    return {
        language: float(meaning[rows].mean())
        for language, rows in _rows_with_meaning(meaning, allowed, rows_by_language)
    }


def _rows_with_meaning(
    meaning: np.ndarray, allowed: np.ndarray, rows_by_language: dict[str, np.ndarray]
) -> Iterator[tuple[str, np.ndarray]]:
    """Per chunk language, its allowed rows that have a meaning cosine (languages with none left out)."""
    for language, rows in rows_by_language.items():
        rows = np.asarray(rows)
        rows = rows[allowed[rows]]
        rows = rows[~np.isnan(meaning[rows])]
        if len(rows):
            yield language, rows


def _total(weights: FusionWeights, with_meaning: bool) -> float:
    return weights.total if with_meaning else weights.total - weights.meaning


def weights_for_question(language: str, chunk_languages: list[str]) -> dict[str, FusionWeights]:
    return {lang: FUSION_WEIGHTS.get((language, lang), DEFAULT_WEIGHTS) for lang in chunk_languages}


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first (a partial sort: the index may be large)."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    candidates = np.argpartition(-scores, k)[:k]
    return candidates[np.argsort(-scores[candidates], kind="stable")]
