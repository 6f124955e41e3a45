"""What every embedding backend of rag.embedding.factory shares: LlamaIndex's embedding hooks,
answered through one method per backend."""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding


class EmbeddingBackend(BaseEmbedding):
    """A LlamaIndex embedding whose hooks all go through ``_embed(texts, ingest)``.

    A backend implements ``_embed``: L2-normalised vectors in input order, where ``ingest`` says
    whether the texts are a batch of passages (an ingest window) or query-time texts, so that it can
    use other threads or batch sizes for each; and ``fingerprint``. Queries get ``query_prefix`` and
    passages ``passage_prefix`` (for models trained with them, such as E5's ``"query: "``).
    """

    query_prefix: str = ""
    passage_prefix: str = ""

    @classmethod
    def class_name(cls) -> str:
        return cls.__name__

    @property
    def fingerprint(self) -> str:
        """Which vectors this embedding makes: equal fingerprints mean interchangeable vectors."""
        raise NotImplementedError

    def _embed(self, texts: list[str], ingest: bool) -> list[list[float]]:
        raise NotImplementedError

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([self.query_prefix + query], ingest=False)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed([self.passage_prefix + text for text in texts], ingest=True)
