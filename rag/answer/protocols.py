"""The small contracts between the query engine and what it drives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from rag.retrieval.passages import RetrievalResult
from rag.types import Answer, StreamEvent

if TYPE_CHECKING:
    from rag.answer.deadline import Deadline


class Answerer(Protocol):
    """Turns the passages of one search into a cited answer (or the refusal)."""

    mode: str

    def answer(self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None) -> Answer: ...

    def stream(
        self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None
    ) -> Iterator[StreamEvent]:
        """``AnswerDelta`` pieces, then one ``AnswerDone`` whose answer equals ``answer()``'s.
        Answerers that wait on a server finish within ``deadline`` or raise."""
        ...


class QueryTranslator(Protocol):
    """Translates a question into the other corpus languages before it is searched."""

    def translations(
        self, question: str, language: str, corpus_languages: list[str], deadline: Deadline | None = None
    ) -> dict[str, str]: ...
