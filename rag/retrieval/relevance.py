"""Deciding whether the retrieved passages can support an answer at all.

Retrieval always returns something; an answer built from irrelevant text is worse than a refusal.
A passage's support is the share of the question's words it contains (weighted by rarity, in any
translation; 0 to 1) plus its embedding cosine with the question: either signal alone can carry a
passage (all the rare words, or a close paraphrase), and two half-matches add up. Summing beat
testing each signal against its own threshold on both kinds of error at once (bench/results/GATE.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.types import Passage


@dataclass(frozen=True)
class RelevanceGate:
    min_support: float

    def is_relevant(self, passage: Passage) -> bool:
        return passage.support >= self.min_support

    def supports(self, passages: Sequence[Passage]) -> bool:
        return any(self.is_relevant(passage) for passage in passages)
