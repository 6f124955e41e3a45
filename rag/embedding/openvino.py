"""The local model quantised to int8 by NNCF and run by OpenVINO (runtime ``openvino-int8``, the
default), on a model cached by rag.embedding.openvino_export.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr

from rag.embedding.fingerprint import exported_model_fingerprint
from rag.embedding.onnx import OnnxEmbedding
from rag.embedding.openvino_export import blob_folder
from rag.runtime.openvino import (
    OPENVINO_INFERENCE,
    compile_model,
    import_openvino,
    infer_in_flight,
    query_session_config,
    throughput_session_config,
    throughput_streams,
)



class OpenVinoEmbedding(OnnxEmbedding):
    """The model quantised to int8 by NNCF and run by OpenVINO (``rag.embedding.openvino_export``).

    Ingest compiles for throughput: ``min(2, ingest_threads)`` streams share ``ingest_threads``
    threads and ``infer_in_flight`` keeps one length-sorted batch in flight per stream
    (faster than ONNX Runtime int8: bench/results/RESULTS.md). Queries compile for latency on ``query_threads``.
    Compiled models are cached under the model's cache folder (compiling drops from ~360 to
    ~95 ms), and widths are padded to a multiple of 8 (mask 0: the same vectors) so that a new
    query length rarely pays for a kernel compile. What is not int8 (attention products, softmax,
    normalisation) runs in ``inference_precision``: the setting ``openvino_precision``, the same for
    queries and passages.
    """

    precision: str = "int8"
    inference_precision: str = "bf16"

    _core: Any = PrivateAttr(default=None)

    @property
    def fingerprint(self) -> str:
        from rag.embedding.openvino_export import PRECISION

        return exported_model_fingerprint(self.model_path, PRECISION, self.inference_precision)

    def _ensure_model_file(self) -> Any:
        from rag.embedding.openvino_export import ensure_openvino_model

        return ensure_openvino_model(self.model_path, self.cache_dir)

    def _session(self, ingest: bool) -> Any:
        with self._lock:
            compiled = self._sessions.get(ingest)
            if compiled is None:
                compiled = self._compile(ingest)
                self._sessions[ingest] = compiled
            return compiled

    def _compile(self, ingest: bool) -> Any:
        ov = import_openvino()

        if self._core is None:
            self._core = ov.Core()
            self._core.set_property({"CACHE_DIR": str(blob_folder(self._model_file, self.inference_precision))})
        if ingest:
            config = throughput_session_config(self.ingest_threads, self.inference_precision)
        else:
            config = query_session_config(self.query_threads, self.inference_precision)
        return compile_model(self._core, self._model_file, config)

    def _streams(self) -> int:
        return throughput_streams(self.ingest_threads)

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
            feeds = (self._feeds(ids, mask) for ids, mask in batches)
            infer_in_flight(session, feeds, lambda index, hidden, _feed: keep(index, hidden))
