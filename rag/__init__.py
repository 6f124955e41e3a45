"""Cited question answering over a folder of English and German texts, offline by default.

Public API: ``open_rag`` / ``Rag`` (rag.api), ``Settings`` / ``load_settings`` (rag.config),
result types (rag.types) and errors (rag.errors). Every name is imported on first access, so
``import rag`` (and ``python -m rag``) costs nothing until a command needs LlamaIndex or Chroma.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_MODULE_OF = {
    "Rag": "rag.api",
    "StreamEvent": "rag.types",
    "open_rag": "rag.api",
    "Settings": "rag.config",
    "load_settings": "rag.config",
    "RagError": "rag.errors",
    "AnswerDelta": "rag.types",
    "AnswerDone": "rag.types",
    "REFUSAL": "rag.types",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "IndexInfo": "rag.types",
    "IngestReport": "rag.types",
    "DocumentIngestReport": "rag.types",
    "Passage": "rag.types",
    "TokenUsage": "rag.types",
}

__all__ = [
    "REFUSAL",
    "Answer",
    "AnswerDelta",
    "AnswerDone",
    "Citation",
    "DocumentIngestReport",
    "IndexInfo",
    "IngestReport",
    "Passage",
    "Rag",
    "RagError",
    "Settings",
    "StreamEvent",
    "TokenUsage",
    "load_settings",
    "open_rag",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from rag.api import Rag, open_rag
    from rag.config import Settings, load_settings
    from rag.errors import RagError
    from rag.types import (
        REFUSAL,
        Answer,
        AnswerDelta,
        AnswerDone,
        Citation,
        IndexInfo,
        IngestReport,
        Passage,
        StreamEvent,
        TokenUsage,
    )
