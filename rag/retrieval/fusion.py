"""Fusing the lexical, dense and gloss signals into one score per chunk, weighted per
(question language, chunk language) pair. Weights were fitted with bench/retrieval_xquad.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def fuse(
    weights_for: dict[str, FusionWeights],
    rows_by_language: dict[str, np.ndarray],
    lexical: np.ndarray,
    dense: np.ndarray,
    gloss: np.ndarray,
    allowed: np.ndarray,
) -> np.ndarray:
    """Weighted sum of the signals, in (0, 1]; lexical scores relative to their language's best.

    ``weights_for`` maps each chunk language to the weights of (question language, that language).
    The sums are not normalised per language pair: a pair with more weight in total (English
    question, German chunk: lexical + dense + gloss) offsets the systematically lower scores of
    matching across languages. One common ceiling keeps scores in (0, 1].
    """
    fused = np.zeros(len(lexical))
    ceiling = max((weights_for[language].total for language in rows_by_language), default=1.0)
    for chunk_language, rows in rows_by_language.items():
        weights = weights_for[chunk_language]
        scores = lexical[rows]
        best = scores[allowed[rows]].max(initial=0.0)
        relative = scores / best if best > 0 else np.zeros_like(scores)
        combined = weights.lexical * relative + weights.dense * dense[rows] + weights.gloss * gloss[rows]
        fused[rows] = np.clip(combined / ceiling, MIN_SCORE, 1.0)
    return fused


def weights_for_question(language: str, chunk_languages: list[str]) -> dict[str, FusionWeights]:
    return {lang: FUSION_WEIGHTS.get((language, lang), DEFAULT_WEIGHTS) for lang in chunk_languages}


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first (a partial sort: the index may be large)."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    candidates = np.argpartition(-scores, k)[:k]
    return candidates[np.argsort(-scores[candidates], kind="stable")]
