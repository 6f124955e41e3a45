"""The project's pipeline as a benchmark worker, through its public API (``rag.open_rag``).

Run by bench.run and bench.ingest_compare, one process per measurement; prints one JSON object:
    python -m bench.project ingest CORPUS STORE          (phases: parse, embed, store; peak RSS)
    python -m bench.project query STORE QUESTIONS.json [--repeat N]   (retrieve and extractive ask)
    python -m bench.project phases STORE QUESTION         (cold start, phase by phase)

Phases of an ingest are measured by timing the embedding's batch calls and the store's writes
(by design the two internal components are wrapped: ``Rag.embedding``'s class and ChunkStore);
parse is the rest (reading, language detection, chunking, manifest, and the meaning vectors:
``meaning_s`` says how much of it the meaning model's step took, rag.ingest.pipeline's
update_meaning_vectors, wrapped too). The settings that decide those costs are printed with
the result (``settings``), so a run under ``RAG_*`` variables shows what the child used.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before any other import: the cold start's phases count from here

import json
import sys
from pathlib import Path

from bench.lib.worker import Command, peak_rss_mb, run_worker


def used_settings(settings) -> dict:
    """The settings that change what an ingest computes, as the child process read them."""
    names = ("preset", "embedding_runtime", "meaning_model", "meaning_precision", "meaning_chunks")
    return {name: getattr(settings, name) for name in names}


def ingest(corpus: str, store: str) -> dict:
    from collections import Counter

    from rag import open_rag
    from rag.index.store import ChunkStore
    from rag.ingest import pipeline

    timers = {"embed": 0.0, "store": 0.0, "meaning": 0.0}
    meaning_vectors = []
    rag = open_rag(store_dir=store, show_progress=False)
    embedding = rag.embedding
    embed_batch = type(embedding)._get_text_embeddings
    add_chunks = ChunkStore.add_chunks

    def timed_embed(self, texts):
        started = time.perf_counter()
        try:
            return embed_batch(self, texts)
        finally:
            timers["embed"] += time.perf_counter() - started

    def timed_add(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return add_chunks(self, *args, **kwargs)
        finally:
            timers["store"] += time.perf_counter() - started

    update_meaning = pipeline.update_meaning_vectors

    def timed_meaning(*args, **kwargs):
        started = time.perf_counter()
        try:
            embedded = update_meaning(*args, **kwargs)
            meaning_vectors.append(embedded)
            return embedded
        finally:
            timers["meaning"] += time.perf_counter() - started

    type(embedding)._get_text_embeddings = timed_embed
    ChunkStore.add_chunks = timed_add
    pipeline.update_meaning_vectors = timed_meaning
    started = time.perf_counter()
    report = rag.ingest(corpus, progress=False)
    total = time.perf_counter() - started
    languages = Counter(c.metadata.get("language", "?") for c in rag.store().current_chunks())
    chars = sum(p.stat().st_size for p in Path(corpus).rglob("*.txt"))  # ASCII-dominated: ~chars
    return {
        "chunks": report.chunks_total,
        "chunks_embedded": report.chunks_embedded,
        "files_unchanged": len(report.files_unchanged),
        "bytes": chars,
        "parse_s": total - timers["embed"] - timers["store"],
        "embed_s": timers["embed"],
        "store_s": timers["store"],
        "meaning_s": timers["meaning"],
        "meaning_vectors_embedded": sum(meaning_vectors),
        "chunk_languages": dict(languages.most_common()),
        "total_s": total,
        "process_s": time.perf_counter() - T0,
        "runtime": rag.settings.embedding_runtime,
        "settings": used_settings(rag.settings),
        "peak_rss_mb": peak_rss_mb(),
    }


def query(store: str, questions_file: str, repeat: int = 1) -> dict:
    from rag import open_rag

    rag = open_rag(store_dir=store, show_progress=False)
    questions = json.loads(Path(questions_file).read_text())
    for question in questions[:: max(1, len(questions) // 4)]:  # warm-up in both languages: the
        rag.ask(question)  # first German question loads the dictionary's gloss table (~0.2 s)
    retrieve_ms, ask_ms = [], []
    for _ in range(repeat):
        for question in questions:
            started = time.perf_counter()
            rag.retrieve(question)
            retrieve_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            rag.ask(question)
            ask_ms.append((time.perf_counter() - started) * 1000)
    return {
        "retrieve_ms": retrieve_ms,
        "ask_ms": ask_ms,
        "chunks": rag.info().chunks,
        "peak_rss_mb": peak_rss_mb(),
        "torch_imported": "torch" in sys.modules,
        "settings": used_settings(rag.settings),
    }


def phases(store: str, question: str) -> dict:
    marks = {"python_start": T0}

    def mark(name: str) -> None:
        marks[name] = time.perf_counter()

    import rag.api  # noqa: F401  (the package, settings, offline environment)

    mark("import_rag")
    from rag.api import open_rag

    instance = open_rag(store_dir=store, show_progress=False)
    instance.store()
    mark("open_store")
    embedding = instance.embedding
    embedding.get_query_embedding("warm up")
    mark("load_embedding")
    instance.retriever()
    mark("load_index")
    instance.ask(question)
    mark("first_answer")
    names = list(marks)
    result = {f"{b}_s": marks[b] - marks[a] for a, b in zip(names, names[1:])}
    result["total_in_process_s"] = marks[names[-1]] - T0
    result["torch_imported"] = "torch" in sys.modules
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def main(argv: list[str] | None = None) -> int:
    return run_worker(
        "bench.project",
        __doc__,
        argv,
        ingest=Command("ingest", "a fresh or incremental ingest, phase by phase", ingest),
        query=Command("query", "retrieve and extractive ask latency per question", query),
        cold_start=Command("phases", "a cold start to the first answer, phase by phase", phases),
    )


if __name__ == "__main__":
    raise SystemExit(main())
