"""The local model run by ONNX Runtime on an export cached by rag.embedding.onnx_export
(runtimes ``onnx-int8`` and ``onnx-fp32``): length-sorted batches, separate thread settings for
ingest and queries, and no torch import.
"""

from __future__ import annotations

import threading
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr

from rag.embedding.backend import EmbeddingBackend
from rag.embedding.fingerprint import exported_model_fingerprint
from rag.errors import ConfigError


class OnnxEmbedding(EmbeddingBackend):
    """A local sentence-transformers model run by ONNX Runtime (no torch once exported).

    Passages are tokenised, sorted by length and batched, so a batch pads to similar lengths;
    vectors come back in input order. Queries run on a session with ``query_threads`` intra-op
    threads (one keeps latency stable when the CPU is busy), batches on one with
    ``ingest_threads``.
    """

    model_path: str
    precision: str = "int8"
    cache_dir: str
    query_threads: int = 1
    ingest_threads: int = 2
    run_batch_size: int = 64

    _spec: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)
    _model_file: Any = PrivateAttr(default=None)
    _sessions: dict = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def fingerprint(self) -> str:
        return exported_model_fingerprint(self.model_path, f"onnx-{self.precision}")

    @property
    def model_file(self) -> Any:
        """The cached model file (exported on first use)."""
        self._prepare()
        return self._model_file

    def _ensure_model_file(self) -> Any:
        from rag.embedding.onnx_export import ensure_onnx_model

        return ensure_onnx_model(self.model_path, self.precision, self.cache_dir)

    def _prepare(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            from tokenizers import Tokenizer

            from rag.embedding.onnx_export import OnnxExportError, read_model_spec

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

    def _embed(self, texts: list[str], ingest: bool) -> list[list[float]]:
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

    def _get_text_embedding(self, text: str) -> list[float]:
        """A single passage is embedded like a query, on the query session (the batch session is
        for ingest windows)."""
        return self._embed([self.passage_prefix + text], ingest=False)[0]

    def warm_up(self) -> None:
        """Load the query session now (e.g. while a server starts) instead of at the first question."""
        self._get_query_embedding("warm up")
