"""Pausing Python's cyclic garbage collector while building many long-lived objects.

Parsing the dictionary allocates millions of small objects that all stay alive; the collector
would rescan them again and again (a fifth to a third of the time) without freeing anything.
(Index snapshots no longer need it: they load as a few arrays and lists, rag.snapshot.)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
