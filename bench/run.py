"""Benchmark: the naive LlamaIndex pipeline and this project's, side by side, on the same corpora.

    .venv/bin/python bench/run.py [--sizes 100,1000,10000,100000] [--quick] [--root /tmp/rag-bench]

For every size (project chunks, about): builds the corpus from real text on the machine
(bench/corpora.py), then measures in fresh processes
- ingest throughput in source characters per second, split into parse, embed and store;
- an unchanged re-ingest (the naive pipeline has no change detection: it re-embeds everything);
- query latency p50/p95 of retrieve and of a full extractive answer (naive: retrieve only);
- cold start: a new process answering one question (`python -m rag ask`), end to end and by phase;
- peak RSS of each process; latency while two CPU hogs keep both cores busy.
The naive pipeline is ingested up to --naive-max chunks (embedding 10^5 naive chunks takes about an
hour); its retrieval latency is flat in corpus size. The project's 10^5 store is kept under --root
between runs (incremental ingest reuses it; the unchanged re-ingest then measures exactly that).
Writes bench/RESULTS.md, bench/growth.png and bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

import corpora  # noqa: E402

PY = sys.executable
KEEP_STORES = {100000}


def run_json(args: list[str], timeout: float = 7200) -> dict:
    started = time.perf_counter()
    result = subprocess.run([PY, *args], capture_output=True, text=True, cwd=REPO, timeout=timeout)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["process_wall_s"] = wall
    return data


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}


def machine() -> dict:
    info = {"python": platform.python_version(), "cores": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info["cpu"] = re.search(r"Model name:\s*(.+)", lscpu).group(1).strip()
        flags = re.search(r"Flags:\s*(.+)", lscpu).group(1).split()
        info["simd"] = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8") if f in flags)
    except Exception:
        info["cpu"] = platform.processor()
    meminfo = Path("/proc/meminfo").read_text()
    info["ram_gb"] = round(int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1)) / 1024**2, 1)
    info["load_average"] = os.getloadavg()
    import onnxruntime
    import openvino
    import torch

    from rag.config import Settings

    info["onnxruntime"] = onnxruntime.__version__
    info["openvino"] = openvino.__version__.split("-")[0]
    info["torch"] = torch.__version__
    info["embedding_runtime"] = Settings().embedding_runtime
    return info


def questions(quick: bool) -> list[str]:
    rows = [json.loads(line) for line in (corpora.XQUAD / "questions.jsonl").read_text().splitlines() if line]
    n = 10 if quick else 40
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
    return [r["question_en"] for r in picked] + [r["question_de"] for r in picked]


class CpuHog:
    """Busy loops on every core while in use (started and stopped by pid)."""

    def __enter__(self):
        self.processes = [
            subprocess.Popen([PY, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)
        ]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
            process.wait()


def cold_start(store: Path, question: str, reps: int) -> dict:
    walls = []
    for _ in range(reps):
        started = time.perf_counter()
        result = subprocess.run(
            [PY, "-m", "rag", "ask", question, "--store", str(store)], capture_output=True, text=True, cwd=REPO
        )
        walls.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-2000:])
    return {"median_s": statistics.median(walls), "all_s": walls}


def import_times(store: Path, question: str) -> list[tuple[str, float]]:
    result = subprocess.run(
        [PY, "-X", "importtime", "-m", "rag", "ask", question, "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s*(\d+) \|\s*(\d+) \| (\s*)(\S+)", line)
        if match and len(match.group(3)) <= 2:  # top-level and first-level imports
            name = match.group(4).split(".")[0]
            totals[name] = max(totals.get(name, 0.0), int(match.group(2)) / 1e6)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:10]


def naive_cold_start(store: Path, question: str, reps: int) -> dict:
    walls = [run_json([str(BENCH / "naive.py"), "ask", str(store), question])["process_wall_s"] for _ in range(reps)]
    return {"median_s": statistics.median(walls), "all_s": walls}


def bench_size(size: int, args, qfile: Path, log) -> dict:
    corpus = corpora.build_corpus(args.root, size)
    described = corpora.describe(corpus)
    result: dict = {"size": size, "corpus": described}
    store = args.root / "stores" / f"project-{size}"
    naive_store = args.root / "stores" / f"naive-{size}"
    question = "Why did Clark lose his powers?"
    reps = 5 if args.quick else 9  # cold starts vary by ±0.3 s from one run to the next

    if size in args.store_only:
        log(f"[{size}] using the existing store as it is (no ingest)")
    else:
        if size not in KEEP_STORES and store.exists():
            shutil.rmtree(store)
        log(f"[{size}] project ingest")
        result["project_ingest"] = run_json([str(BENCH / "project.py"), "ingest", str(corpus), str(store)])
        log(f"[{size}] project unchanged re-ingest")
        result["project_reingest"] = run_json([str(BENCH / "project.py"), "ingest", str(corpus), str(store)])
    log(f"[{size}] project queries")
    result["project_query"] = run_json([str(BENCH / "project.py"), "query", str(store), str(qfile)])
    log(f"[{size}] project cold start")
    result["project_cold"] = cold_start(store, question, reps)
    result["project_phases"] = run_json([str(BENCH / "project.py"), "phases", str(store), question])
    if size == args.contention_size or size == max(args.sizes):
        log(f"[{size}] project queries under contention")
        with CpuHog():
            result["project_query_contended"] = run_json([str(BENCH / "project.py"), "query", str(store), str(qfile)])
        result["import_times"] = import_times(store, question)

    if size <= args.naive_max:
        if naive_store.exists():
            shutil.rmtree(naive_store)
        log(f"[{size}] naive ingest")
        result["naive_ingest"] = run_json([str(BENCH / "naive.py"), "ingest", str(corpus), str(naive_store)])
        log(f"[{size}] naive queries")
        result["naive_query"] = run_json([str(BENCH / "naive.py"), "query", str(naive_store), str(qfile)])
        result["naive_cold"] = naive_cold_start(naive_store, question, reps)
        if size == args.contention_size:
            log(f"[{size}] naive queries under contention")
            with CpuHog():
                result["naive_query_contended"] = run_json([str(BENCH / "naive.py"), "query", str(naive_store), str(qfile)])
        shutil.rmtree(naive_store, ignore_errors=True)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--quick", action="store_true", help="fewer questions and repetitions")
    parser.add_argument("--root", type=Path, default=Path("/tmp/rag-bench"))
    parser.add_argument("--naive-max", type=int, default=10000, help="largest size ingested by the naive pipeline")
    parser.add_argument("--contention-size", type=int, default=10000)
    parser.add_argument(
        "--store-only",
        default="",
        help="sizes whose existing project store is measured as it is, without ingesting (e.g. a 10^5 "
        "store whose ingest was interrupted: its committed files are queried)",
    )
    parser.add_argument("--out", type=Path, default=BENCH)
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.store_only = {int(s) for s in args.store_only.split(",") if s}
    args.root.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    qfile = args.root / "questions.json"
    qfile.write_text(json.dumps(questions(args.quick)))

    def log(message: str) -> None:
        print(time.strftime("%H:%M:%S"), message, flush=True)

    results = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick, "sizes": []}
    for size in args.sizes:
        results["sizes"].append(bench_size(size, args, qfile, log))
        (args.out / "results.json").write_text(json.dumps(results, indent=1))
    results["machine"]["load_average_end"] = os.getloadavg()
    quality_file = BENCH / "quality.json"
    if quality_file.is_file():
        results["quality"] = json.loads(quality_file.read_text())
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    import report

    report.write(results, args.out)
    print((args.out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
