"""The local model run by sentence-transformers itself (runtime ``torch``; torch is imported lazily).
"""

from __future__ import annotations

import threading
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from rag.errors import ConfigError


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

    @property
    def fingerprint(self) -> str:
        return self.model_path

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
