"""OpenVINO in this process, for the English model and the meaning model alike: one inference at a
time, how a model is compiled for questions (and compiled ahead at a cold start), and batches run
in flight."""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

#: OpenVINO runs one inference at a time in this process. Two threads inferring at once (the
#: warm-up thread and the first question; two questions in the app) deadlocked in the Python
#: binding while copying inputs into their requests (both stuck in ``tensor.data[:] = ...``).
#: A query takes a few milliseconds, so waiting costs little; an ingest holds it per window.
OPENVINO_INFERENCE = threading.Lock()

#: One compile at a time in this process. OpenVINO 2026.4 switches the process's C locale to "C"
#: while it compiles and restores the one it found: two compiles at once (the warm-up threads)
#: could restore each other's "C" and leave Python decoding text as ASCII for the rest of the
#: process (bench/notes.md, "Compiles one at a time").
_COMPILING = threading.Lock()

_IMPORTING = threading.Lock()
_CONVERSION_API = "openvino.tools.ovc"


def import_openvino() -> Any:
    """The ``openvino`` module, imported without its model-conversion API.

    The package imports ``openvino.tools.ovc`` (and through it its telemetry client) as it loads,
    and tolerates that import failing. Nothing here converts a model in this process (the one-time
    exports run in a child process: rag.embedding.openvino_export, rag.embedding.e5_export), and
    that import is GIL-bound work a cold start's warm-up threads did beside the LlamaIndex import:
    without it, a cold ``rag ask`` at 10^4 chunks took 1.85-2.00 s instead of 1.93-2.08 s
    (bench/notes.md, "A cold start without building the gloss tables"). Once ``openvino`` is
    loaded, the conversion API imports normally (``from openvino.tools.ovc import convert_model``).
    """
    with _IMPORTING:
        if "openvino" not in sys.modules:
            blocked = sys.modules.setdefault(_CONVERSION_API, None) is None
            try:
                import openvino  # noqa: F401
            finally:
                if blocked and sys.modules.get(_CONVERSION_API, ...) is None:
                    del sys.modules[_CONVERSION_API]
    return sys.modules["openvino"]


def query_session_config(threads: int, inference_precision: str) -> dict[str, Any]:
    """How a model is compiled for questions: for latency, on ``threads`` threads, not pinned to
    cores. Pinned, the English model's and the meaning model's one-thread streams both sat on the
    first core, so a question's two vectors, computed at once, took turns on it (bench/notes.md,
    "The two question vectors at once"). What is not int8 runs in ``inference_precision``."""
    return {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": threads,
        "ENABLE_CPU_PINNING": False,
        "INFERENCE_PRECISION_HINT": inference_precision,
    }


def throughput_streams(threads: int) -> int:
    """Streams of a model compiled for ingest on ``threads`` threads: one batch in flight per stream."""
    return min(2, threads)


def throughput_session_config(threads: int, inference_precision: str) -> dict[str, Any]:
    """How a model is compiled for batches (ingest, an answer's sentences): ``throughput_streams``
    streams sharing ``threads`` threads."""
    return {
        "PERFORMANCE_HINT": "THROUGHPUT",
        "NUM_STREAMS": throughput_streams(threads),
        "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": inference_precision,
    }


def infer_in_flight(
    session: Any,
    feeds: Iterable[dict[str, np.ndarray]],
    collect: Callable[[int, np.ndarray, dict[str, np.ndarray]], None],
) -> None:
    """Run each feed through ``session`` with one request in flight per optimal request of the
    compiled model, and hand ``collect(index, first_output, feed)`` each result in the caller's
    thread, in feed order. The output is a view of the request's tensor, valid only during the call.

    No Python runs on OpenVINO's threads: ``AsyncInferQueue.set_callback`` did, and a process
    that exited right after an inference then aborted now and then ("terminate called without an
    active exception", bench/notes.md, "An abort at exit"): the callback's thread took the GIL
    while the interpreter was shutting down."""
    count = max(1, int(session.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    requests = [session.create_infer_request() for _ in range(count)]
    in_flight: deque[tuple[int, Any, dict[str, np.ndarray]]] = deque()
    for index, feed in enumerate(feeds):
        if len(in_flight) == count:
            _collect_oldest(in_flight, collect)
        request = requests[index % count]
        request.start_async(feed)
        in_flight.append((index, request, feed))
    while in_flight:
        _collect_oldest(in_flight, collect)


def _collect_oldest(
    in_flight: deque[tuple[int, Any, dict[str, np.ndarray]]],
    collect: Callable[[int, np.ndarray, dict[str, np.ndarray]], None],
) -> None:
    index, request, feed = in_flight.popleft()
    request.wait()
    collect(index, request.get_output_tensor(0).data, feed)


_AHEAD: dict[tuple[str, str], Future] = {}  # compiled models nobody has taken yet
_AHEAD_LOCK = threading.Lock()


def compile_ahead(model_file: Path, blob_dir: Path, config: dict[str, Any]) -> None:
    """Compile ``model_file`` for the CPU with ``config`` now, in the calling thread, for the next
    ``compile_model`` of the same file and config to take (a cold start compiles the English
    model's query session while LlamaIndex is imported: bench/notes.md, "Cold start: the LlamaIndex
    import beside the meaning model"). A failure is kept for nobody: ``compile_model`` then compiles itself
    and reports its own error."""
    ov = import_openvino()

    future: Future = Future()
    with _AHEAD_LOCK:
        if _key(model_file, config) in _AHEAD:
            return
        _AHEAD[_key(model_file, config)] = future
    try:
        core = ov.Core()
        core.set_property({"CACHE_DIR": str(blob_dir)})
        future.set_result(compiled_on_cpu(core, str(model_file), config))
    except Exception as error:
        future.set_exception(error)


def compile_model(core: Any, model_file: Path, config: dict[str, Any]) -> Any:
    """``core.compile_model(model_file, "CPU", config)``, or the model ``compile_ahead`` compiled for
    the same file and config (waited for while it compiles)."""
    with _AHEAD_LOCK:
        ahead = _AHEAD.pop(_key(model_file, config), None)
    if ahead is not None and ahead.exception() is None:
        return ahead.result()
    return compiled_on_cpu(core, str(model_file), config)


def compiled_on_cpu(core: Any, model: Any, config: dict[str, Any]) -> Any:
    """``core.compile_model(model, "CPU", config)``, never beside another compile (``_COMPILING``)."""
    with _COMPILING:
        return core.compile_model(model, "CPU", config)


def _key(model_file: Path, config: dict[str, Any]) -> tuple[str, str]:
    return str(Path(model_file).resolve()), json.dumps(config, sort_keys=True, default=str)
