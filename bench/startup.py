"""Whole-process start-up times: cold start to the first answer and an unchanged re-ingest.

    .venv/bin/python bench/startup.py [--runs 7] [--store-10k DIR] [--seeds-store DIR]

Each run starts a new ``python -m rag`` process for every command in turn, so that load from
other work on a shared machine spreads over all of them; the result is the median and range of
the wall times. The re-ingest is fast only while nothing else opens the store with Chroma
between runs (see rag/snapshot.py): time a copy of the store if other work uses it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STORES = Path("/tmp/rag-bench/stores")
CORPORA = Path("/tmp/rag-bench")


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    return {
        "ask, 10^4 chunks": ["ask", "How do I configure logging handlers?", "--store", str(args.store_10k)],
        "ask, seeds": ["ask", "Why did Clark lose his powers?", "--store", str(args.seeds_store)],
        "unchanged re-ingest, 10^4 chunks": [
            "ingest", "--source", str(args.corpus_10k), "--store", str(args.store_10k), "--no-progress",
        ],
    }


def wall_time(arguments: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "rag", *arguments], cwd=REPO, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"python -m rag {' '.join(arguments)} failed:\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store-10k", type=Path, default=STORES / "project-10000")
    parser.add_argument("--corpus-10k", type=Path, default=CORPORA / "corpus-10000")
    parser.add_argument("--seeds-store", type=Path, default=REPO / "index_store")
    args = parser.parse_args()
    times: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for name, arguments in commands(args).items():
            times.setdefault(name, []).append(wall_time(arguments))
    for name, seconds in times.items():
        print(
            f"{name:34s} median {statistics.median(seconds):.2f} s, "
            f"range {min(seconds):.2f}-{max(seconds):.2f} s ({len(seconds)} runs)"
        )


if __name__ == "__main__":
    main()
