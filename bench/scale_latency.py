"""Query latency at 10^5 chunks: a real 10^5-chunk store (``--copies 1``), or a real 10^4-chunk
store replicated ten times.

Embedding 10^5 chunks takes about an hour on this machine, and query latency depends on the index
sizes, not on which texts fill it. So this takes the in-memory index of a store that the normal
ingest built (bench/run.py leaves them under /tmp/rag-bench/stores), replicates its chunks, vectors
and BM25 postings ten times (each copy a distinct chunk), and measures the project's retrieve and
extractive answer on it, with the same retriever and answerer the API uses, one query thread.

    .venv/bin/python bench/scale_latency.py [--store /tmp/rag-bench/stores/project-10000] [--copies 10]
    .venv/bin/python bench/scale_latency.py --store /tmp/rag-bench/stores/project-100000 --copies 1

Appends its table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.api import open_rag  # noqa: E402
from rag.index.chunk_table import ChunkTable  # noqa: E402
from rag.answer.extractive import ExtractiveAnswerer  # noqa: E402
from rag.retrieval.relevance import RelevanceGate  # noqa: E402
from rag.index.search_index import SearchIndex  # noqa: E402
from rag.retrieval.hybrid import HybridRetriever  # noqa: E402
from rag.index.store import StoredChunk  # noqa: E402


def replicated(corpus: SearchIndex, copies: int) -> SearchIndex:
    import numpy as np

    chunks = [
        StoredChunk(f"{c.chunk_id}-{copy}", c.text, c.metadata) for copy in range(copies) for c in corpus.chunks
    ]
    vectors = np.concatenate([corpus.vectors] * copies)
    glosses = np.concatenate([corpus.gloss_vectors] * copies)
    return SearchIndex(corpus.records, ChunkTable.of(chunks), vectors, glosses)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="/tmp/rag-bench/stores/project-10000")
    parser.add_argument("--questions", default="/tmp/rag-bench/questions.json")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--out", default=str(REPO / "bench" / "RESULTS.md"))
    args = parser.parse_args()

    rag = open_rag(store_dir=args.store)
    base = rag.retriever().index
    started = time.perf_counter()
    corpus = replicated(base, args.copies) if args.copies > 1 else base
    build_seconds = time.perf_counter() - started
    retriever = HybridRetriever(corpus, rag.embedding, rag.dictionary, rag.settings.top_k)
    answerer = ExtractiveAnswerer(
        corpus.lexical, RelevanceGate(rag.settings.min_support)
    )
    questions = json.loads(Path(args.questions).read_text())[:60]
    for question in questions[::4]:  # warm-up, in both languages (German loads the gloss table)
        answerer.answer(question, retriever.search(question, 5))

    retrieve_ms, answer_ms = [], []
    for question in questions:
        t0 = time.perf_counter()
        result = retriever.search(question, 5)
        t1 = time.perf_counter()
        answerer.answer(question, result)
        t2 = time.perf_counter()
        retrieve_ms.append((t1 - t0) * 1000)
        answer_ms.append((t2 - t0) * 1000)

    if args.copies > 1:
        origin = (
            f"The {len(base.chunks):,}-chunk store `{args.store}` (ingested normally) replicated {args.copies}× "
            f"in memory: {len(corpus.chunks):,} chunks (index built in {build_seconds:.0f} s)."
        )
    else:
        origin = f"The {len(corpus.chunks):,}-chunk store `{args.store}`, ingested normally (not replicated)."
    rows = [
        f"\n## Query latency at {len(corpus.chunks):,} chunks (`bench/scale_latency.py --copies {args.copies}`)\n",
        f"{origin} {len(questions)} questions, one query thread, after warm-up.\n",
        "| chunks | retrieve p50 / p95 ms | extractive answer p50 / p95 ms |",
        "|---|---|---|",
        f"| {len(corpus.chunks):,} | {statistics.median(retrieve_ms):.1f} / {percentile(retrieve_ms, 0.95):.1f} | "
        f"{statistics.median(answer_ms):.1f} / {percentile(answer_ms, 0.95):.1f} |",
    ]
    text = "\n".join(rows) + "\n"
    print(text)
    with open(args.out, "a", encoding="utf-8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
