"""Benchmark: the naive LlamaIndex pipeline and this project's, side by side, on the same corpora.

    .venv/bin/python -m bench.run [--sizes 100,1000,10000,100000] [--quick] [--root /tmp/rag-bench]
    .venv/bin/python -m bench.run --render-only      (re-render the report from results.json)

For every size (project chunks, about): builds the corpus from real text on the machine
(bench/lib/corpora.py), then measures in fresh processes (bench.project and bench.naive)
- ingest throughput in source characters per second, split into parse, embed and store;
- an unchanged re-ingest (the naive pipeline has no change detection: it re-embeds everything);
- query latency p50/p95 of retrieve and of a full extractive answer (naive: retrieve only);
- cold start: a new process answering one question (`python -m rag ask`), end to end and by phase;
- peak RSS of each process; latency while two CPU hogs keep both cores busy.
The naive pipeline is ingested up to --naive-max chunks (embedding 10^5 naive chunks takes about an
hour); its retrieval latency is flat in corpus size. The project's 10^5 store is kept under --root
between runs (incremental ingest reuses it; the unchanged re-ingest then measures exactly that).
Writes bench/results/RESULTS.md, growth.png and results.json (bench.lib.report; bench/notes.md
and bench/results/quality.json are included).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from bench.lib import corpora, report
from bench.lib.children import PYTHON, run_json, run_module, wall_seconds
from bench.lib.datasets import xquad_questions
from bench.lib.machine import machine_info
from bench.lib.options import add_root_option, int_list, new_parser
from bench.lib.paths import RESULTS, display_path
from bench.lib.publish import write_json

KEEP_STORES = {100000}
COLD_QUESTION = "Why did Clark lose his powers?"


def questions(quick: bool) -> list[str]:
    """10 (quick) or 40 XQuAD questions spread over the split, each in English and in German."""
    rows = xquad_questions()
    n = 10 if quick else 40
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
    return [r["question_en"] for r in picked] + [r["question_de"] for r in picked]


class CpuHog:
    """Busy loops on every core while in use (started and stopped by pid)."""

    def __enter__(self):
        self.processes = [
            subprocess.Popen([PYTHON, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)
        ]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
            process.wait()


def cold_start(store: Path, question: str, reps: int) -> dict:
    walls = [wall_seconds("rag", ["ask", question, "--store", store]) for _ in range(reps)]
    return {"median_s": statistics.median(walls), "all_s": walls}


def import_times(store: Path, question: str) -> list[tuple[str, float]]:
    """The ten slowest top- and first-level imports of a cold ``python -m rag ask`` (``-X importtime``)."""
    completed = run_module("rag", ["ask", question, "--store", store], python_options=["-X", "importtime"], check=False)
    totals: dict[str, float] = {}
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s*(\d+) \|\s*(\d+) \| (\s*)(\S+)", line)
        if match and len(match.group(3)) <= 2:  # top-level and first-level imports
            name = match.group(4).split(".")[0]
            totals[name] = max(totals.get(name, 0.0), int(match.group(2)) / 1e6)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:10]


def naive_cold_start(store: Path, question: str, reps: int) -> dict:
    walls = [run_json("bench.naive", ["ask", store, question])["process_wall_s"] for _ in range(reps)]
    return {"median_s": statistics.median(walls), "all_s": walls}


def bench_project(size: int, corpus: Path, args: argparse.Namespace, qfile: Path, log) -> dict:
    store = args.root / "stores" / f"project-{size}"
    reps = 5 if args.quick else 9  # cold starts vary by ±0.3 s from one run to the next
    result: dict = {}
    if size in args.store_only:
        log(f"[{size}] using the existing store as it is (no ingest)")
    else:
        if size not in KEEP_STORES and store.exists():
            shutil.rmtree(store)
        log(f"[{size}] project ingest")
        result["project_ingest"] = run_json("bench.project", ["ingest", corpus, store])
        log(f"[{size}] project unchanged re-ingest")
        result["project_reingest"] = run_json("bench.project", ["ingest", corpus, store])
    log(f"[{size}] project queries")
    result["project_query"] = run_json("bench.project", ["query", store, qfile])
    log(f"[{size}] project cold start")
    result["project_cold"] = cold_start(store, COLD_QUESTION, reps)
    result["project_phases"] = run_json("bench.project", ["phases", store, COLD_QUESTION])
    if size == args.contention_size or size == max(args.sizes):
        log(f"[{size}] project queries under contention")
        with CpuHog():
            result["project_query_contended"] = run_json("bench.project", ["query", store, qfile])
        result["import_times"] = import_times(store, COLD_QUESTION)
    return result


def bench_naive(size: int, corpus: Path, args: argparse.Namespace, qfile: Path, log) -> dict:
    store = args.root / "stores" / f"naive-{size}"
    reps = 5 if args.quick else 9
    if store.exists():
        shutil.rmtree(store)
    result: dict = {}
    log(f"[{size}] naive ingest")
    result["naive_ingest"] = run_json("bench.naive", ["ingest", corpus, store])
    log(f"[{size}] naive queries")
    result["naive_query"] = run_json("bench.naive", ["query", store, qfile])
    result["naive_cold"] = naive_cold_start(store, COLD_QUESTION, reps)
    if size == args.contention_size:
        log(f"[{size}] naive queries under contention")
        with CpuHog():
            result["naive_query_contended"] = run_json("bench.naive", ["query", store, qfile])
    shutil.rmtree(store, ignore_errors=True)
    return result


def bench_size(size: int, args: argparse.Namespace, qfile: Path, log) -> dict:
    corpus = corpora.build_corpus(args.root, size)
    result: dict = {"size": size, "corpus": corpora.describe(corpus)}
    result.update(bench_project(size, corpus, args, qfile, log))
    if size <= args.naive_max:
        result.update(bench_naive(size, corpus, args, qfile, log))
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = new_parser("bench.run", __doc__)
    parser.add_argument("--sizes", type=int_list, default="100,1000,10000,100000")
    parser.add_argument("--quick", action="store_true", help="fewer questions and repetitions")
    add_root_option(parser)
    parser.add_argument("--naive-max", type=int, default=10000, help="largest size ingested by the naive pipeline")
    parser.add_argument("--contention-size", type=int, default=10000)
    parser.add_argument(
        "--store-only",
        type=int_list,
        default="",
        help="sizes whose existing project store is measured as it is, without ingesting (e.g. a 10^5 "
        "store whose ingest was interrupted: its committed files are queried)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"folder of the results (default {display_path(RESULTS)})")
    parser.add_argument(
        "--render-only", action="store_true", help="measure nothing: re-render RESULTS.md and growth.png from results.json in --out"
    )
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def measure(args: argparse.Namespace) -> dict:
    """Every size in turn; results.json is rewritten after each, so an interrupted run keeps its sizes."""
    args.root.mkdir(parents=True, exist_ok=True)
    qfile = args.root / "questions.json"
    qfile.write_text(json.dumps(questions(args.quick)))
    results = {"machine": machine_info(), "started": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "sizes": []}
    for size in args.sizes:
        results["sizes"].append(bench_size(size, args, qfile, log))
        write_json(results, args.out / "results.json")
    results["machine"]["load_average_end"] = os.getloadavg()
    quality_file = RESULTS / "quality.json"
    if quality_file.is_file():
        results["quality"] = json.loads(quality_file.read_text())
    write_json(results, args.out / "results.json")
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_only:
        results = json.loads((args.out / "results.json").read_text())
    else:
        results = measure(args)
    report.write(results, args.out)
    print((args.out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
