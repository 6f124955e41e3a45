"""The LlamaIndex query engine: hybrid retrieval, then an extractive or LLM answerer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from pydantic import SkipValidation

from rag.answer.protocols import Answerer, QueryTranslator
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.passages import RetrievalResult
from rag.retrieval.planning import question_language
from rag.types import StreamEvent


class CitedQueryEngine(CustomQueryEngine):
    """``query()`` returns a LlamaIndex ``Response``; its metadata carries the typed ``Answer``.

    Cheap to build: make one per request with that request's ``top_k`` and source filter.
    """

    retriever: Annotated[HybridRetriever, SkipValidation]
    answerer: Annotated[Answerer, SkipValidation]
    top_k: int = 5
    sources: list[str] | None = None
    translator: Annotated[QueryTranslator | None, SkipValidation] = None  # when an LLM translates questions

    def custom_query(self, query_str: str) -> Response:
        retrieval = self._retrieve(query_str)
        answer = self.answerer.answer(query_str, retrieval)
        return Response(response=answer.text, source_nodes=retrieval.nodes, metadata={"answer": answer})

    def stream(self, question: str) -> Iterator[StreamEvent]:
        yield from self.answerer.stream(question, self._retrieve(question))

    def _retrieve(self, question: str) -> RetrievalResult:
        translations = None
        if self.translator is not None:
            languages = self.retriever.index.languages
            translations = self.translator.translations(question, question_language(question), languages)
        return self.retriever.search(question, self.top_k, self.sources, translations)
