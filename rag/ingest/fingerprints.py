"""Fingerprints of content and of the settings that shape chunks and vectors.

The store records the chunk fingerprint with every chunk: when it changes, chunks are cut and
embedded again, so the store never mixes vectors of different models, runtimes or prefixes.
"""

from __future__ import annotations

import hashlib

from rag.config import Settings

CHUNKER_VERSION = "5"  # 3: runs of 100+ punctuation characters are cut around before NLTK (rag.ingest.chunking);
# 4: chunks record the whitespace before them (gap_before), so neighbouring chunks can form one passage;
# 5: not across a page break or a heading


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_fingerprint(settings: Settings) -> str:
    """Changes whenever chunk boundaries or their vectors could change: the store never mixes
    vectors of different models, runtimes or prefixes. (Cheap: builds no splitter, so an
    unchanged re-ingest can check it without loading LlamaIndex.)"""
    s = settings
    return f"chunker{CHUNKER_VERSION}:{vector_fingerprint(s)}:{s.chunk_size}:{s.chunk_overlap}"


def vector_fingerprint(settings: Settings) -> str:
    """The part of the chunk fingerprint that says which vectors a chunk has: questions must be
    embedded the same way (backend, model and runtime, passage prefix)."""
    from rag.embedding.fingerprint import embedding_fingerprint

    s = settings
    return f"{s.embedding_backend}:{embedding_fingerprint(s)}:{s.embedding_passage_prefix}"


def vector_fingerprint_of(fingerprint: str) -> str:
    """The vector part of a chunk fingerprint made by ``chunk_fingerprint``."""
    return fingerprint.split(":", 1)[-1].rsplit(":", 2)[0]
