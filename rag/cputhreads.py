"""How many threads the numeric library (OpenBLAS, under numpy) may use for a question.

A question's vector products are small (10^4 chunks: 0.1 ms; 10^5: 3-5 ms), and OpenBLAS splits
them over every core. When other processes keep the cores busy, its threads wait for each other:
retrieval p50 at 10^4 chunks under two busy loops went from 4.9-8.2 ms with one thread to
13.7-15.3 ms with two (bench/notes.md, session 6). Questions therefore run their products on
``query_threads`` BLAS threads, like their embedding.
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
