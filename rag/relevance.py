"""Deciding whether the retrieved passages can support an answer at all.

Retrieval always returns something; an answer built from irrelevant text is worse than a refusal.
A passage counts as relevant when it contains most of the question's rarer words (in any
translation) or is close to the question in embedding space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core.schema import NodeWithScore


@dataclass(frozen=True)
class RelevanceGate:
    min_coverage: float
    min_dense_cosine: float

    def is_relevant(self, node: NodeWithScore) -> bool:
        metadata = node.node.metadata
        cosine = metadata.get("dense_cosine")
        return metadata.get("coverage", 0.0) >= self.min_coverage or (
            cosine is not None and cosine >= self.min_dense_cosine
        )

    def supports(self, nodes: Sequence[NodeWithScore]) -> bool:
        return any(self.is_relevant(node) for node in nodes)
