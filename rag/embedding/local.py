"""The local model run by sentence-transformers itself (runtime ``torch``; torch is imported lazily).
"""

from __future__ import annotations

import threading
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr

from rag.embedding.backend import EmbeddingBackend
from rag.errors import ConfigError


class LocalEmbedding(EmbeddingBackend):
    """A sentence-transformers model on local disk; never contacts a model hub."""

    model_path: str
    query_threads: int = 1
    ingest_threads: int = 2

    _model: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

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

    def _embed(self, texts: list[str], ingest: bool) -> list[list[float]]:
        """Passages on ``ingest_threads`` in batches of ``embed_batch_size``, queries on
        ``query_threads`` one at a time."""
        import torch

        threads, batch_size = (self.ingest_threads, self.embed_batch_size) if ingest else (self.query_threads, 1)
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
