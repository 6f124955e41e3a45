"""Cited question answering over a folder of English and German texts, offline by default.

Public API: ``open_rag`` / ``Rag`` (rag.api), ``Settings`` / ``load_settings`` (rag.config),
result types (rag.types) and errors (rag.errors). Heavy libraries load lazily on first use.
"""

from rag.api import Rag, StreamEvent, open_rag
from rag.config import Settings, load_settings
from rag.errors import RagError
from rag.generative import AnswerDelta, AnswerDone
from rag.types import REFUSAL, Answer, Citation, IndexInfo, IngestReport, Passage, TokenUsage

__all__ = [
    "REFUSAL",
    "Answer",
    "AnswerDelta",
    "AnswerDone",
    "Citation",
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
