"""Cross-language retrieval benchmark: XQuAD (dev split) and the seed fixtures.

    .venv/bin/python bench/retrieval_xquad.py [--xquad DIR] [--keep DIR] [--no-write]

Ingests ../shared/data/xquad-dev/corpus_en, corpus_de and seeds/ into temporary stores the normal
way (`python -m rag ingest`), sends every question through `python -m rag retrieve - --json
--top-k 5` (one batch per setting), and prints hit@1 / hit@5 next to the reference points of the
XQuAD README; then the seed fixtures (a hit is a passage containing a gold quote) and the
retrieval latency per question, measured in-process through the same API after a warm-up.
The output, with a description of the machine, is written to bench/RETRIEVAL.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_XQUAD = REPO / ".." / "shared" / "data" / "xquad-dev"
FIXTURES = REPO / "fixtures" / "seeds.jsonl"
SEEDS = REPO / "seeds"
REPORT = REPO / "bench" / "RETRIEVAL.md"
TOP_K = 5
SEED_TOP_K = 3
LATENCY_WARMUP = 20

#: (question language, corpus language) -> reference points of the XQuAD README: (method, hit@1, hit@5)
BASELINES = {
    ("en", "en"): [("BM25, English stemmer", 0.93, 0.99)],
    ("de", "de"): [("BM25, German stemmer", 0.89, 0.97), ("all-MiniLM-L6-v2 dense", 0.57, 0.79)],
    ("en", "de"): [
        ("BM25 on the untranslated question", 0.31, 0.51),
        ("all-MiniLM-L6-v2 dense", 0.52, 0.79),
        ("dictionary-translated BM25", 0.70, 0.89),
        ("that, fused (RRF) with dense", 0.70, 0.92),
    ],
    ("de", "en"): [],
}
#: The goals of issue 3 (hit@1, hit@5); None where none is set.
GOALS = {("en", "en"): (0.95, None), ("de", "de"): (0.93, None), ("en", "de"): (0.85, 0.97), ("de", "en"): (None, None)}
SETTINGS = [("en", "en"), ("de", "de"), ("en", "de"), ("de", "en")]
LANGUAGE_NAMES = {"en": "EN", "de": "DE"}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    xquad = args.xquad.resolve()
    if not (xquad / "questions.jsonl").is_file():
        print(f"error: XQuAD data not found in {xquad} (expected questions.jsonl)", file=sys.stderr)
        return 2
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    env = bench_environment(workdir)
    stores = {
        "en": ingest(xquad / "corpus_en", workdir / "xquad_en", env),
        "de": ingest(xquad / "corpus_de", workdir / "xquad_de", env),
        "seeds": ingest(SEEDS, workdir / "seeds", env),
    }
    questions = [json.loads(line) for line in (xquad / "questions.jsonl").open(encoding="utf-8")]
    fixtures = [json.loads(line) for line in FIXTURES.open(encoding="utf-8") if line.strip()]
    answerable = [f for f in fixtures if f["answerable"]]

    xquad_results = {}
    for question_language, corpus_language in SETTINGS:
        texts = [q[f"question_{question_language}"] for q in questions]
        retrieved = retrieve_via_cli(texts, stores[corpus_language], TOP_K, env)
        xquad_results[(question_language, corpus_language)] = xquad_hits(questions, retrieved)
    seed_retrieved = retrieve_via_cli([f["question"] for f in answerable], stores["seeds"], SEED_TOP_K, env)
    seed_result = seed_hits(answerable, seed_retrieved)
    latency = {
        "seeds": measure_latency([f["question"] for f in fixtures], stores["seeds"], env),
        "xquad_de": measure_latency(
            [q["question_en"] for q in questions] + [q["question_de"] for q in questions], stores["de"], env
        ),
    }
    publish(render(xquad_results, seed_result, latency, len(questions), xquad), REPORT, write=not args.no_write)
    return 0


def parse_args(argv: list[str] | None, report: Path = REPORT, description: str = __doc__) -> argparse.Namespace:
    """The options of the XQuAD benchmarks (this one and bench/gate.py)."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD, help="The xquad-dev folder.")
    parser.add_argument("--keep", default=None, help="Build the stores in this folder and keep them.")
    parser.add_argument(
        "--no-write", action="store_true", help=f"Print only; do not rewrite {report.relative_to(REPO)}."
    )
    return parser.parse_args(argv)


def publish(report: str, path: Path, write: bool) -> None:
    """Print the report and, unless told not to, write it to ``path`` in the repository."""
    print(report)
    if write:
        path.write_text(report + "\n", encoding="utf-8")
        print(f"\n(written to {path.relative_to(REPO)})")


def bench_environment(workdir: Path) -> dict[str, str]:
    """The environment of the CLI runs: default settings, one shared cache (the dictionary)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_CACHE_DIR"] = str(workdir / "cache")
    env["RAG_SHOW_PROGRESS"] = "false"
    return env


# --- through the CLI ----------------------------------------------------------------------------


def ingest(source: Path, store: Path, env: dict[str, str]) -> Path:
    """`python -m rag ingest` (incremental: a kept store is only brought up to date)."""
    command = [sys.executable, "-m", "rag", "ingest", "--source", str(source), "--store", str(store), "--no-progress"]
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"ingest of {source} failed:\n{completed.stderr}")
    print(f"ingest {source.name}: {completed.stdout.strip()}", file=sys.stderr)
    return store


def retrieve_via_cli(questions: list[str], store: Path, top_k: int, env: dict[str, str]) -> list[list[dict]]:
    """Passages per question from one batch run of `python -m rag retrieve - --json`."""
    command = [sys.executable, "-m", "rag", "retrieve", "-", "--json", "--top-k", str(top_k), "--store", str(store)]
    completed = subprocess.run(
        command, cwd=REPO, env=env, input="\n".join(questions) + "\n", capture_output=True, text=True
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or len(lines) != len(questions):
        raise SystemExit(f"retrieve failed ({completed.returncode}, {len(lines)} results):\n{completed.stderr}")
    return [line.get("passages", []) for line in lines]


# --- scoring --------------------------------------------------------------------------------------


def xquad_hits(questions: list[dict], retrieved: list[list[dict]]) -> tuple[float, float]:
    """hit@1 and hit@5: the answering paragraph's file among the first 1 / 5 passages."""
    first = top = 0
    for question, passages in zip(questions, retrieved):
        paragraphs = [Path(p["source"]).stem for p in passages]
        first += bool(paragraphs) and paragraphs[0] == question["paragraph"]
        top += question["paragraph"] in paragraphs[:TOP_K]
    return first / len(questions), top / len(questions)


def normalised(text: str) -> str:
    return " ".join(text.split())


def passage_hits(fixture: dict, passage: dict) -> bool:
    """A passage hits when it contains one of the fixture's gold quotes (whitespace-normalised)."""
    text = normalised(passage["text"])
    return any(normalised(quote) in text for quote in fixture["gold_quotes"])


def seed_hits(fixtures: list[dict], retrieved: list[list[dict]]) -> dict:
    first = top = 0
    misses = []
    for fixture, passages in zip(fixtures, retrieved):
        hits = [passage_hits(fixture, p) for p in passages[:SEED_TOP_K]]
        first += bool(hits) and hits[0]
        top += any(hits)
        if not any(hits):
            misses.append(fixture)
    lengths = [len(p["text"]) for passages in retrieved for p in passages[:SEED_TOP_K]]
    return {
        "n": len(fixtures),
        "top1": first,
        "top3": top,
        "misses": misses,
        "by_pair": seed_hits_by_pair(fixtures, retrieved),
        "mean_chars": statistics.mean(lengths) if lengths else 0.0,
        "max_chars": max(lengths, default=0),
    }


def seed_hits_by_pair(fixtures: list[dict], retrieved: list[list[dict]]) -> dict[str, tuple[int, int]]:
    """Top-3 hits per kind of question: same language, across languages, spanning both."""
    pairs: dict[str, list[int]] = {}
    for fixture, passages in zip(fixtures, retrieved):
        key = fixture_pair(fixture)
        counts = pairs.setdefault(key, [0, 0])
        counts[0] += any(passage_hits(fixture, p) for p in passages[:SEED_TOP_K])
        counts[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(pairs.items())}


def fixture_pair(fixture: dict) -> str:
    languages = sorted({source_language(s) for s in fixture["gold_sources"]})
    return f"{fixture['lang'].upper()} question, {'+'.join(l.upper() for l in languages)} text"


def source_language(source: str) -> str:
    meta = json.loads((SEEDS / "sources.json").read_text(encoding="utf-8"))["documents"]
    return meta.get(source, {}).get("language", "und")


# --- latency ------------------------------------------------------------------------------------


def measure_latency(questions: list[str], store: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """p50 and p95 milliseconds per question through rag.api (index loaded, after a warm-up)."""
    os.environ["RAG_CACHE_DIR"] = env["RAG_CACHE_DIR"]
    sys.path.insert(0, str(REPO))
    from rag.api import open_rag

    rag = open_rag(store_dir=store, show_progress=False, query_threads=1)
    for question in questions[:LATENCY_WARMUP]:
        rag.retrieve(question, top_k=TOP_K)
    timings = []
    for question in questions:
        started = time.perf_counter()
        rag.retrieve(question, top_k=TOP_K)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], len(timings)


# --- report -------------------------------------------------------------------------------------


def render(results: dict, seeds: dict, latency: dict, n_questions: int, xquad: Path) -> str:
    lines = [
        "# Retrieval benchmark: XQuAD (dev split) and the seed fixtures",
        "",
        f"Command: `.venv/bin/python bench/retrieval_xquad.py` ({time.strftime('%Y-%m-%d')}). "
        f"{n_questions} XQuAD questions, 120 paragraphs per corpus, from `{display_path(xquad)}`; corpora "
        "ingested with `python -m rag ingest`, questions run through `python -m rag retrieve - --json --top-k 5`. "
        "A hit is the answering paragraph's file among the passages. Baselines are the reference points of the "
        "XQuAD README (all 48 articles).",
        "",
        "| setting | method | hit@1 | hit@5 | goal |",
        "|---|---|---|---|---|",
    ]
    for pair in SETTINGS:
        setting = f"{LANGUAGE_NAMES[pair[0]]} question, {LANGUAGE_NAMES[pair[1]]} corpus"
        for method, h1, h5 in BASELINES[pair]:
            lines.append(f"| {setting} | baseline: {method} | {h1:.2f} | {h5:.2f} | |")
        h1, h5 = results[pair]
        lines.append(f"| {setting} | **this project** (`rag retrieve`) | **{h1:.3f}** | **{h5:.3f}** | {goal_text(pair, h1, h5)} |")
    lines += [
        "",
        f"## Seed fixtures ({seeds['n']} answerable questions of fixtures/seeds.jsonl)",
        "",
        "A hit is a passage containing one of the question's gold quotes. A passage is a chunk (200 word "
        "pieces, about 600 characters), widened by an overlapping neighbour when one ranks too "
        f"(`rag.retrieval.hybrid.merge_overlapping`): the top-3 passages average {seeds['mean_chars']:.0f} characters "
        f"(longest {seeds['max_chars']}).",
        "",
        f"- top-1: {seeds['top1']}/{seeds['n']}; top-3: {seeds['top3']}/{seeds['n']} (goal: all)",
    ]
    for pair, (hit, total) in seeds["by_pair"].items():
        lines.append(f"- {pair}: {hit}/{total} in the top 3")
    if seeds["misses"]:
        lines.append("- not in the top 3: " + "; ".join(f"`{m['id']}` {m['question']}" for m in seeds["misses"]))
    lines += [
        "",
        "## Latency per question (in-process `Rag.retrieve`, index loaded, 1 query thread)",
        "",
        "| corpus | questions | p50 ms | p95 ms |",
        "|---|---|---|---|",
    ]
    for name, (p50, p95, n) in latency.items():
        lines.append(f"| {name} | {n} | {p50:.1f} | {p95:.1f} |")
    lines += ["", f"Machine: {machine_description()}"]
    return "\n".join(lines)


def goal_text(pair: tuple[str, str], h1: float, h5: float) -> str:
    goal1, goal5 = GOALS[pair]
    parts = []
    if goal1 is not None:
        parts.append(f"hit@1 ≥ {goal1:.2f} {'met' if h1 >= goal1 else 'MISSED'}")
    if goal5 is not None:
        parts.append(f"hit@5 ≥ {goal5:.2f} {'met' if h5 >= goal5 else 'MISSED'}")
    return "; ".join(parts) or "(reported)"


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path, REPO)
    except ValueError:
        return str(path)


def machine_description() -> str:
    model = cores = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "CPU(s)":
                cores = value.strip()
    except OSError:
        pass
    return f"{model}, {cores} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"


if __name__ == "__main__":
    raise SystemExit(main())
