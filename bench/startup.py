"""Whole-process start-up times: cold start to the first answer and an unchanged re-ingest.

    .venv/bin/python -m bench.startup [--runs 7] [--store-10k DIR] [--corpus-10k DIR] [--seeds-store DIR]

Each run starts a new ``python -m rag`` process for every command in turn, so that load from
other work on a shared machine spreads over all of them; the result is the median and range of
the wall times. The re-ingest is fast only while nothing else opens the store with Chroma
between runs (see rag/index/snapshot.py): time a copy of the store if other work uses it.
The 10^4 store and corpus are the ones bench.run leaves under /tmp/rag-bench.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.lib.children import wall_seconds
from bench.lib.options import new_parser
from bench.lib.paths import REPO, WORK_ROOT


def commands(args) -> dict[str, list[str]]:
    return {
        "ask, 10^4 chunks": ["ask", "How do I configure logging handlers?", "--store", str(args.store_10k)],
        "ask, seeds": ["ask", "Why did Clark lose his powers?", "--store", str(args.seeds_store)],
        "unchanged re-ingest, 10^4 chunks": [
            "ingest", "--source", str(args.corpus_10k), "--store", str(args.store_10k), "--no-progress",
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = new_parser("bench.startup", __doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store-10k", type=Path, default=WORK_ROOT / "stores" / "project-10000")
    parser.add_argument("--corpus-10k", type=Path, default=WORK_ROOT / "corpus-10000")
    parser.add_argument("--seeds-store", type=Path, default=REPO / "index_store")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for name, arguments in commands(args).items():
            times.setdefault(name, []).append(wall_seconds("rag", arguments))
    for name, seconds in times.items():
        print(
            f"{name:34s} median {statistics.median(seconds):.2f} s, "
            f"range {min(seconds):.2f}-{max(seconds):.2f} s ({len(seconds)} runs)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
