"""Checks of what callers pass to ``Rag``'s questions: the question text, ``top_k``, sources.

Everything arriving here may come from a person (a terminal, a form, a script reading files of
unknown encoding), so each check ends in a specific ``RagError`` or a clean value, never a
``TypeError`` further down.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from pathlib import Path

from rag.config import Settings
from rag.errors import InvalidArgumentError, InvalidQuestionError, StoreError

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_question(question: object, max_chars: int) -> str:
    """The question on one line, control characters replaced by spaces."""
    if isinstance(question, (bytes, bytearray)):
        raise InvalidQuestionError("The question must be text, not bytes: decode it first (UTF-8).")
    if not isinstance(question, str):
        raise InvalidQuestionError(f"The question must be text, not {type(question).__name__}.")
    surrogate = _SURROGATE.search(question)
    if surrogate:
        raise InvalidQuestionError(
            f"The question has an invalid character at position {surrogate.start() + 1} (bytes that are "
            "not UTF-8 text). Retype it, or save the questions as UTF-8."
        )
    text = " ".join("".join(" " if _is_control(c) else c for c in question).split())
    if not text:
        raise InvalidQuestionError("The question is empty. Ask something about the texts.")
    if len(text) > max_chars:
        raise InvalidQuestionError(f"The question is {len(text)} characters long; the limit is {max_chars}. Shorten it.")
    return text


def _is_control(character: str) -> bool:
    return unicodedata.category(character) == "Cc"


def checked_top_k(top_k: object, default: int) -> int:
    """``top_k`` as a whole number within the bounds of the ``top_k`` setting; None: the default."""
    if top_k is None:
        return default
    low, high = _top_k_bounds()
    value = _whole_number(top_k)
    if value is None or not low <= value <= high:
        raise InvalidArgumentError(f"top_k must be a whole number from {low} to {high}; got {top_k!r:.40}.")
    return value


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,6}\s*", value):
        return int(value)
    return None


def _top_k_bounds() -> tuple[int, int]:
    metadata = Settings.model_fields["top_k"].metadata
    low = next(m.ge for m in metadata if hasattr(m, "ge"))
    high = next(m.le for m in metadata if hasattr(m, "le"))
    return low, high


def checked_sources(sources: object, known: Collection[str], index_location: str) -> list[str] | None:
    """The source filter as a list of known file names; None (or empty): every source."""
    if sources is None:
        return None
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, (list, tuple, set, frozenset)) or not all(isinstance(s, str) for s in sources):
        raise InvalidArgumentError("sources must be a list of file names as the index knows them.")
    unknown = [s for s in sources if s not in known]
    if unknown:
        listed = ", ".join(sorted(known)[:10]) + (" …" if len(known) > 10 else "")
        raise InvalidArgumentError(
            f"No document {unknown[0]!r:.120} in the index at {index_location}; it holds {len(known)} "
            f"documents: {listed}. `python -m rag info` lists them."
        )
    return list(sources) or None


def check_store_folder(settings: Settings) -> None:
    """An embedded store must be a folder: a file at its path is named as such, not as "no index"."""
    if settings.uses_chroma_server:
        return
    path = Path(settings.store_dir)
    if path.exists() and not path.is_dir():
        raise StoreError(
            f"The store location {path} is a file, not a folder. Pass a folder with --store (or RAG_STORE_DIR)."
        )


def index_location(settings: Settings) -> str:
    if settings.uses_chroma_server:
        return f"the Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return str(settings.store_dir)
