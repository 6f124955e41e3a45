"""The LlamaIndex query engine: hybrid retrieval, then an extractive or LLM answerer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine

from rag.generative import AnswerDelta, AnswerDone
from rag.types import Answer


class CitedQueryEngine(CustomQueryEngine):
    """``query()`` returns a LlamaIndex ``Response``; its metadata carries the typed ``Answer``.

    Cheap to build: make one per request with that request's ``top_k`` and source filter.
    """

    retriever: Any  # rag.retrieval.HybridRetriever
    answerer: Any  # rag.extractive.ExtractiveAnswerer or rag.generative.LLMAnswerer
    top_k: int = 5
    sources: list[str] | None = None
    translator: Any = None  # rag.generative.LLMQueryTranslator, when an LLM translates questions

    def custom_query(self, query_str: str) -> Response:
        retrieval = self._retrieve(query_str)
        answer: Answer = self.answerer.answer(query_str, retrieval)
        return Response(response=answer.text, source_nodes=retrieval.nodes, metadata={"answer": answer})

    def stream(self, question: str) -> Iterator[AnswerDelta | AnswerDone]:
        retrieval = self._retrieve(question)
        if hasattr(self.answerer, "stream"):
            yield from self.answerer.stream(question, retrieval)
            return
        answer = self.answerer.answer(question, retrieval)
        yield AnswerDelta(answer.text)
        yield AnswerDone(answer)

    def _retrieve(self, question: str):
        from rag.retrieval import question_language

        translations = None
        if self.translator is not None:
            languages = self.retriever.corpus.languages
            translations = self.translator.translations(question, question_language(question), languages)
        return self.retriever.search(question, self.top_k, self.sources, translations)
