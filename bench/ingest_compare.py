"""Fresh-ingest throughput only: the naive LlamaIndex pipeline and the project's, in one run.

    .venv/bin/python bench/ingest_compare.py [--sizes 1000,10000] [--overlaps 40,20,0]
        [--runtimes onnx-int8,openvino-int8] [--rounds 1]

A shorter companion of bench/run.py for the ingest target (>= 2x the naive pipeline's source
characters per second): per round and size, the naive pipeline and then the project, once per
chunk overlap (``RAG_CHUNK_OVERLAP``) and embedding runtime (``RAG_EMBEDDING_RUNTIME``), each into
a new store in its own process. On a shared
machine only ratios measured within one round mean much, so every row carries the load average
at its start and the ratio to the naive run of the same round. Corpora are bench/corpora.py's,
under --root. Prints a Markdown table; --json writes the raw rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import corpora  # noqa: E402
from run import run_json  # noqa: E402


def fresh_ingest(worker: str, corpus: Path, store: Path, environment: dict[str, str] | None = None) -> dict:
    """One ingest into a new store, in a new process with ``environment`` set; the store is removed
    afterwards."""
    shutil.rmtree(store, ignore_errors=True)
    previous = {name: os.environ.get(name) for name in environment or {}}
    os.environ.update(environment or {})
    load = os.getloadavg()[0]
    try:
        result = run_json([str(BENCH / worker), "ingest", str(corpus), str(store)])
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
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
    naive = fresh_ingest("naive.py", corpus, root / "stores" / f"compare-naive-{size}")
    chars = naive["chars"]
    rows = [{"size": size, "pipeline": "naive", **naive}]
    for label, environment in variants:
        project = fresh_ingest("project.py", corpus, root / "stores" / f"compare-project-{size}", environment)
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--overlaps", default="40", help="project chunk overlaps to measure, in word pieces")
    parser.add_argument(
        "--runtimes", default="openvino-int8", help="embedding runtimes to measure, comma-separated (default: the default)"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--root", type=Path, default=Path("/tmp/rag-bench"))
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    args = parser.parse_args(argv)
    variants = project_variants([int(o) for o in args.overlaps.split(",")], args.runtimes.split(","))
    rows = []
    for _ in range(args.rounds):
        for size in (int(s) for s in args.sizes.split(",")):
            rows += compare_round(size, variants, args.root)
            print(table(rows[-1 - len(variants) :]), flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
