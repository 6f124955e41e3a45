"""Fresh-ingest throughput only: the naive LlamaIndex pipeline and the project's, in one run.

    .venv/bin/python -m bench.ingest_compare [--sizes 1000,10000] [--overlaps 40,20,0]
        [--runtimes onnx-int8,openvino-int8] [--rounds 1]

A shorter companion of bench.run for the ingest target (>= 2x the naive pipeline's source
characters per second): per round and size, the naive pipeline and then the project, once per
chunk overlap (``RAG_CHUNK_OVERLAP``) and embedding runtime (``RAG_EMBEDDING_RUNTIME``), each into
a new store in its own process. On a shared machine only ratios measured within one round mean
much, so every row carries the load average at its start and the ratio to the naive run of the
same round. Corpora are bench/lib/corpora.py's,
under --root. Prints a Markdown table; --json writes the raw rows.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.lib import corpora
from bench.lib.children import run_json
from bench.lib.options import add_root_option, int_list, name_list, new_parser
from bench.lib.publish import write_json


def fresh_ingest(worker: str, corpus: Path, store: Path, environment: dict[str, str] | None = None) -> dict:
    """One ingest into a new store, in a new process with ``environment`` added to this one's; the
    store is removed afterwards."""
    shutil.rmtree(store, ignore_errors=True)
    load = os.getloadavg()[0]
    try:
        result = run_json(worker, ["ingest", corpus, store], env={**os.environ, **(environment or {})})
    finally:
        shutil.rmtree(store, ignore_errors=True)
    result["load_average"] = load
    return result


def project_variants(overlaps: list[int], runtimes: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(label, environment) of every combination measured for the project."""
    return [
        (f"project, {runtime}, overlap {overlap}", {"RAG_CHUNK_OVERLAP": str(overlap), "RAG_EMBEDDING_RUNTIME": runtime})
        for runtime in runtimes
        for overlap in overlaps
    ]


def compare_round(size: int, variants: list[tuple[str, dict[str, str]]], root: Path) -> list[dict]:
    corpus = corpora.build_corpus(root, size)
    naive = fresh_ingest("bench.naive", corpus, root / "stores" / f"compare-naive-{size}")
    chars = naive["chars"]
    rows = [{"size": size, "pipeline": "naive", **naive}]
    for label, environment in variants:
        project = fresh_ingest("bench.project", corpus, root / "stores" / f"compare-project-{size}", environment)
        rows.append({"size": size, "pipeline": label, "chars": chars, **project})
    for row in rows:
        row["chars_per_s"] = chars / row["total_s"]
        row["ratio"] = naive["total_s"] / row["total_s"]
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| size | pipeline | load avg at start | chunks | parse s | embed s | store s | total s | chars/s | × naive |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['pipeline']} | {r['load_average']:.1f} | {r['chunks']} | {r['parse_s']:.1f} | "
            f"{r['embed_s']:.1f} | {r['store_s']:.1f} | {r['total_s']:.1f} | {r['chars_per_s']:,.0f} | "
            f"{r['ratio']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = new_parser("bench.ingest_compare", __doc__)
    parser.add_argument("--sizes", type=int_list, default="1000,10000")
    parser.add_argument("--overlaps", type=int_list, default="40", help="project chunk overlaps to measure, in word pieces")
    parser.add_argument(
        "--runtimes",
        type=name_list,
        default="openvino-int8",
        help="embedding runtimes to measure, comma-separated (default: the default)",
    )
    parser.add_argument("--rounds", type=int, default=1)
    add_root_option(parser)
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    args = parser.parse_args(argv)
    variants = project_variants(args.overlaps, args.runtimes)
    rows = []
    for _ in range(args.rounds):
        for size in args.sizes:
            rows += compare_round(size, variants, args.root)
            print(table(rows[-1 - len(variants) :]), flush=True)
    print(table(rows))
    if args.json:
        write_json(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
