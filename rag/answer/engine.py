"""The LlamaIndex query engine: hybrid retrieval, then an extractive or LLM answerer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from pydantic import SkipValidation

from rag.answer.deadline import Deadline, LLMTimeouts
from rag.answer.protocols import Answerer, QueryTranslator
from rag.errors import LLMError
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.passages import RetrievalResult
from rag.retrieval.planning import question_language
from rag.types import StreamEvent

log = logging.getLogger(__name__)


class CitedQueryEngine(CustomQueryEngine):
    """``query()`` returns a LlamaIndex ``Response``; its metadata carries the typed ``Answer``.

    Cheap to build: make one per request with that request's ``top_k`` and source filter. With
    ``llm_timeouts`` set, each question runs against one deadline that the query translation and
    the answer share.
    """

    retriever: Annotated[HybridRetriever, SkipValidation]
    answerer: Annotated[Answerer, SkipValidation]
    top_k: int = 5
    sources: list[str] | None = None
    translator: Annotated[QueryTranslator | None, SkipValidation] = None  # when an LLM translates questions
    llm_timeouts: Annotated[LLMTimeouts | None, SkipValidation] = None

    def custom_query(self, query_str: str) -> Response:
        deadline = self._deadline()
        retrieval = self._retrieve(query_str, deadline)
        answer = self.answerer.answer(query_str, retrieval, deadline)
        return Response(response=answer.text, source_nodes=retrieval.nodes, metadata={"answer": answer})

    def stream(self, question: str) -> Iterator[StreamEvent]:
        deadline = self._deadline()
        yield from self.answerer.stream(question, self._retrieve(question, deadline), deadline)

    def _deadline(self) -> Deadline | None:
        return self.llm_timeouts.start() if self.llm_timeouts is not None else None

    def _retrieve(self, question: str, deadline: Deadline | None) -> RetrievalResult:
        return self.retriever.search(question, self.top_k, self.sources, self._translations(question, deadline))

    def _translations(self, question: str, deadline: Deadline | None) -> dict[str, str] | None:
        """The LLM's translations of the question; None (the dictionary translates) when there is no
        translator or it fails, so a server that is down still lets the gate refuse off-topic questions."""
        if self.translator is None:
            return None
        languages = self.retriever.index.languages
        try:
            return self.translator.translations(question, question_language(question), languages, deadline)
        except LLMError as error:
            log.warning("query translation failed, the dictionary translates instead: %s", error)
            return None
