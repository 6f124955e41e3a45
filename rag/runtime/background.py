"""Work started in a background thread whose failure stays quiet: warming a model up, building
a table ahead of its first use. Whoever needs the result later meets the same error and reports it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def start_quietly(work: Callable[[], object], name: str) -> threading.Thread:
    """Run ``work`` in a new thread named ``name``; an exception is logged at debug level only."""
    thread = threading.Thread(target=_quietly, args=(work,), name=name)
    thread.start()
    return thread


def _quietly(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:  # the first use meets the same error and reports it
        log.debug("background work failed", exc_info=True)
