"""Query latency at 10^5 chunks: a real 10^5-chunk store (``--copies 1``), or a real 10^4-chunk
store replicated ten times.

Embedding 10^5 chunks takes about an hour on this machine, and query latency depends on the index
sizes, not on which texts fill it. So this takes the in-memory index of a store that the normal
ingest built (bench.run leaves them under /tmp/rag-bench/stores), replicates its chunks, vectors
and BM25 postings ten times (each copy a distinct chunk), and measures the project's retrieve and
extractive answer on it, with the same retriever and answerer the API uses, one query thread.
By design it builds those internal components itself (the public API has no replicated index).

    .venv/bin/python -m bench.scale_latency [--store /tmp/rag-bench/stores/project-10000] [--copies 10]
    .venv/bin/python -m bench.scale_latency --store /tmp/rag-bench/stores/project-100000 --copies 1

Appends its table to bench/results/RESULTS.md (p50 / p95: nearest rank, rag.evaluation.metrics.percentile).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.lib.options import new_parser
from bench.lib.paths import RESULTS, WORK_ROOT, display_path
from bench.lib.publish import append
from rag import open_rag
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.sentences import SentenceSelector
from rag.evaluation.metrics import percentile
from rag.index.chunk_table import ChunkTable
from rag.index.search_index import SearchIndex
from rag.index.store import StoredChunk
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.relevance import RelevanceGate
from rag.text.reading_gloss import DictionaryGlosser


def replicated(corpus: SearchIndex, copies: int) -> SearchIndex:
    import numpy as np

    chunks = [
        StoredChunk(f"{c.chunk_id}-{copy}", c.text, c.metadata) for copy in range(copies) for c in corpus.chunks
    ]
    vectors = np.concatenate([corpus.vectors] * copies)
    glosses = np.concatenate([corpus.gloss_vectors] * copies)
    return SearchIndex(corpus.records, ChunkTable.of(chunks), vectors, glosses)


def measure(retriever: HybridRetriever, answerer: ExtractiveAnswerer, questions: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds of retrieve, and of retrieve plus extractive answer, per question (after a warm-up)."""
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
    return retrieve_ms, answer_ms


def main(argv: list[str] | None = None) -> int:
    parser = new_parser("bench.scale_latency", __doc__)
    parser.add_argument("--store", type=Path, default=WORK_ROOT / "stores" / "project-10000")
    parser.add_argument("--questions", type=Path, default=WORK_ROOT / "questions.json", help="written by bench.run")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS / "RESULTS.md", help="the Markdown file the table is appended to")
    args = parser.parse_args(argv)

    rag = open_rag(store_dir=args.store)
    base = rag.retriever().index
    started = time.perf_counter()
    corpus = replicated(base, args.copies) if args.copies > 1 else base
    build_seconds = time.perf_counter() - started
    retriever = HybridRetriever(corpus, rag.embedding, rag.dictionary, rag.settings.top_k)
    answerer = ExtractiveAnswerer(  # as rag.api builds it, over the replicated index
        SentenceSelector(corpus.lexical),
        RelevanceGate(rag.settings.min_support),
        rag.settings.extractive_sentences,
        glosser=DictionaryGlosser(lambda: rag.dictionary),
    )
    questions = json.loads(args.questions.read_text())[:60]
    retrieve_ms, answer_ms = measure(retriever, answerer, questions)

    if args.copies > 1:
        origin = (
            f"The {len(base.chunks):,}-chunk store `{args.store}` (ingested normally) replicated {args.copies}× "
            f"in memory: {len(corpus.chunks):,} chunks (index built in {build_seconds:.0f} s)."
        )
    else:
        origin = f"The {len(corpus.chunks):,}-chunk store `{args.store}`, ingested normally (not replicated)."
    rows = [
        f"\n## Query latency at {len(corpus.chunks):,} chunks (`python -m bench.scale_latency --copies {args.copies}`)\n",
        f"{origin} {len(questions)} questions, one query thread, after warm-up.\n",
        "| chunks | retrieve p50 / p95 ms | extractive answer p50 / p95 ms |",
        "|---|---|---|",
        f"| {len(corpus.chunks):,} | {percentile(retrieve_ms, 0.5):.1f} / {percentile(retrieve_ms, 0.95):.1f} | "
        f"{percentile(answer_ms, 0.5):.1f} / {percentile(answer_ms, 0.95):.1f} |",
    ]
    append("\n".join(rows) + "\n", args.out)
    print(f"(appended to {display_path(args.out)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
