"""How OpenVINO compiles a model for questions and runs batches in flight (the English model and
the meaning model alike)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

#: OpenVINO runs one inference at a time in this process. Two threads inferring at once (the
#: warm-up thread and the first question; two questions in the app) deadlocked in the Python
#: binding while copying inputs into their requests (both stuck in ``tensor.data[:] = ...``).
#: A query takes a few milliseconds, so waiting costs little; an ingest holds it per window.
OPENVINO_INFERENCE = threading.Lock()


def query_session_config(threads: int) -> dict[str, Any]:
    """How a model is compiled for questions: for latency, on ``threads`` threads, not pinned to
    cores. Pinned, the English model's and the meaning model's one-thread streams both sat on the
    first core, so a question's two vectors, computed at once, took turns on it (bench/notes.md,
    "The two question vectors at once")."""
    return {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads, "ENABLE_CPU_PINNING": False}


def infer_in_flight(session: Any, feeds: Iterable[dict[str, np.ndarray]], collect: Callable[[int, np.ndarray], None]) -> None:
    """Run each feed through ``session`` with one request in flight per optimal request of the
    compiled model, and hand ``collect(index, first_output)`` each result in the caller's thread,
    in feed order. The output is a view of the request's tensor, valid only during the call.

    No Python runs on OpenVINO's threads: ``AsyncInferQueue.set_callback`` did, and a process
    that exited right after an inference then aborted now and then ("terminate called without an
    active exception", bench/notes.md, "An abort at exit"): the callback's thread took the GIL
    while the interpreter was shutting down."""
    count = max(1, int(session.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    requests = [session.create_infer_request() for _ in range(count)]
    in_flight: deque[tuple[int, Any]] = deque()
    for index, feed in enumerate(feeds):
        if len(in_flight) == count:
            _collect_oldest(in_flight, collect)
        request = requests[index % count]
        request.start_async(feed)
        in_flight.append((index, request))
    while in_flight:
        _collect_oldest(in_flight, collect)


def _collect_oldest(in_flight: deque[tuple[int, Any]], collect: Callable[[int, np.ndarray], None]) -> None:
    index, request = in_flight.popleft()
    request.wait()
    collect(index, request.get_output_tensor(0).data)
