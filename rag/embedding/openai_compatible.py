"""The embeddings endpoint of OpenAI or an OpenAI-compatible server (backend ``openai``).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr

from rag.embedding.backend import EmbeddingBackend
from rag.errors import LLMError

#: LlamaIndex's upper bound for ``embed_batch_size``.


class OpenAICompatibleEmbedding(EmbeddingBackend):
    """The ``/embeddings`` endpoint of OpenAI or any server speaking its protocol."""

    model: str
    base_url: str
    api_key: str
    timeout: float = 60.0
    max_retries: int = 1

    _client: Any = PrivateAttr(default=None)

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

    def _embed(self, texts: list[str], ingest: bool) -> list[list[float]]:
        """One request for all the texts; the server decides how to run it (``ingest`` is not used)."""
        import numpy as np
        import openai

        try:
            response = self._client_instance().embeddings.create(model=self.model, input=texts)
        except openai.OpenAIError as error:
            raise LLMError(f"Embedding request to {self.base_url} failed: {error}") from error
        vectors = np.array([item.embedding for item in sorted(response.data, key=lambda d: d.index)])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).tolist()


#: LlamaIndex's upper bound for ``embed_batch_size``.
