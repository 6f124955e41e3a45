"""Deciding whether the retrieved passages can support an answer at all.

Retrieval always returns something; an answer built from irrelevant text is worse than a refusal.
A passage's support is the share of the question's words it contains (weighted by rarity, in any
translation; 0 to 1) plus its embedding cosine with the question: either signal alone can carry a
passage (all the rare words, or a close paraphrase), and two half-matches add up. Summing beat
testing each signal against its own threshold on both kinds of error at once (bench/GATE.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core.schema import NodeWithScore

from rag.types import support


def node_support(node: NodeWithScore) -> float:
    """``rag.types.support`` of a retrieved node, from the scores the retriever stored on it."""
    metadata = node.node.metadata
    return support(metadata.get("coverage", 0.0), metadata.get("dense_cosine"))


@dataclass(frozen=True)
class RelevanceGate:
    min_support: float

    def is_relevant(self, node: NodeWithScore) -> bool:
        return node_support(node) >= self.min_support

    def supports(self, nodes: Sequence[NodeWithScore]) -> bool:
        return any(self.is_relevant(node) for node in nodes)
