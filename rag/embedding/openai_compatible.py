"""The embeddings endpoint of OpenAI or an OpenAI-compatible server (backend ``openai``).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from rag.errors import LLMError

#: LlamaIndex's upper bound for ``embed_batch_size``.


class OpenAICompatibleEmbedding(BaseEmbedding):
    """The ``/embeddings`` endpoint of OpenAI or any server speaking its protocol."""

    model: str
    base_url: str
    api_key: str
    timeout: float = 60.0
    max_retries: int = 1

    _client: Any = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "OpenAICompatibleEmbedding"

    @property
    def fingerprint(self) -> str:
        return self.model

    def _client_instance(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=self.api_key,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._client

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np
        import openai

        try:
            response = self._client_instance().embeddings.create(model=self.model, input=texts)
        except openai.OpenAIError as error:
            raise LLMError(f"Embedding request to {self.base_url} failed: {error}") from error
        vectors = np.array([item.embedding for item in sorted(response.data, key=lambda d: d.index)])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)


#: LlamaIndex's upper bound for ``embed_batch_size``.
