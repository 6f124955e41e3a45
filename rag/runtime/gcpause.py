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
def first_use(process_ends: bool = False) -> Iterator[None]:
    """For the first question of a process, which imports LlamaIndex and loads the index and the
    model: objects that live until the process ends. The collector pauses meanwhile (it would
    spend ~0.2 s of a 2 s cold start rescanning them), and they are frozen afterwards, so that
    later collections, and the one at exit, skip them. ``process_ends``: the process prints this
    one answer and exits, so the collector stays paused: collections after it only scanned what
    the exit frees anyway (~0.08 s of a cold ``rag ask``, bench/notes.md, "A cold start without
    building the gloss tables")."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled and not process_ends:
            gc.enable()
