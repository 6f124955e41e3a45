"""How many threads the numeric library (OpenBLAS, under numpy) may use for a question.

A question's vector products are small, and OpenBLAS splits them over every core. When other
processes keep the cores busy, its threads wait for each other and retrieval slows down several
times (measured in bench/notes.md, session 6; the contention row of bench/results/RESULTS.md). Questions
therefore run their products on ``query_threads`` BLAS threads, like their embedding.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The limit is process-wide in OpenBLAS: entering and leaving it from several threads at once
# could restore the wrong value, so limited sections run one at a time (they last milliseconds).
_LOCK = threading.Lock()
_controller: Any = None


@contextmanager
def limited_blas_threads(threads: int) -> Iterator[None]:
    """Run the block with at most ``threads`` BLAS threads, then restore the previous number."""
    global _controller
    with _LOCK:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()  # finds the loaded BLAS libraries once (~1 ms)
        with _controller.limit(limits=threads, user_api="blas"):
            yield
