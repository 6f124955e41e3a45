"""Pausing Python's cyclic garbage collector while building many long-lived objects.

Parsing the dictionary allocates millions of small objects that all stay alive; the collector
would rescan them again and again (a fifth to a third of the time) without freeing anything.
(Index snapshots no longer need it: they load as a few arrays and lists, rag.index.snapshot.)
The same holds for a process's start: see ``first_use``.
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


@contextmanager
def first_use() -> Iterator[None]:
    """For the first question of a process, which imports LlamaIndex and loads the index and the
    model: objects that live until the process ends. The collector pauses meanwhile (it would
    spend ~0.2 s of a 2 s cold start rescanning them), and they are frozen afterwards, so that
    later collections, and the one at exit, skip them."""
    with gc_paused():
        yield
    gc.freeze()
