"""Cross-language retrieval benchmark: XQuAD (dev split) and the seed fixtures.

    .venv/bin/python -m bench.retrieval_xquad [--xquad DIR] [--keep DIR] [--no-write]

Ingests ../shared/data/xquad-dev/corpus_en, corpus_de and seeds/ into temporary stores the normal
way (`python -m rag ingest`), sends every question through `python -m rag retrieve - --json
--top-k 5` (one batch per setting), and prints hit@1 / hit@5 next to the reference points of the
XQuAD README; then the seed fixtures (a hit is a passage containing a gold quote) and the
retrieval latency per question, measured in-process through the same API after a warm-up
(p50 / p95: nearest rank, rag.evaluation.metrics.percentile). The caller's RAG_* settings are
ignored: every run measures the defaults. The output, with a description of the machine, is
written to bench/results/RETRIEVAL.md.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.lib.datasets import (
    holds_gold_quote,
    seed_fixtures,
    seed_language,
    xquad_questions,
)
from bench.lib.environment import clean_environment, forget_caller_settings
from bench.lib.machine import machine_description
from bench.lib.options import add_xquad_options, new_parser
from bench.lib.paths import RESULTS, SEEDS, display_path
from bench.lib.publish import publish
from bench.lib.rag_cli import ingest, retrieve_batch
from rag import open_rag
from rag.evaluation.metrics import percentile

REPORT = RESULTS / "RETRIEVAL.md"
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
    forget_caller_settings()
    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    cache = workdir / "cache"
    env = clean_environment(cache)
    stores = {
        "en": ingest(xquad / "corpus_en", workdir / "xquad_en", env),
        "de": ingest(xquad / "corpus_de", workdir / "xquad_de", env),
        "seeds": ingest(SEEDS, workdir / "seeds", env),
    }
    questions = xquad_questions(xquad)
    fixtures = seed_fixtures()
    answerable = [f for f in fixtures if f["answerable"]]

    xquad_results = {}
    for question_language, corpus_language in SETTINGS:
        texts = [q[f"question_{question_language}"] for q in questions]
        retrieved = retrieve_batch(texts, stores[corpus_language], TOP_K, env)
        xquad_results[(question_language, corpus_language)] = xquad_hits(questions, retrieved)
    seed_retrieved = retrieve_batch([f["question"] for f in answerable], stores["seeds"], SEED_TOP_K, env)
    seed_result = seed_hits(answerable, seed_retrieved)
    latency = {
        "seeds": measure_latency([f["question"] for f in fixtures], stores["seeds"], cache),
        "xquad_de": measure_latency(
            [q["question_en"] for q in questions] + [q["question_de"] for q in questions], stores["de"], cache
        ),
    }
    publish(render(xquad_results, seed_result, latency, len(questions), xquad), REPORT, write=not args.no_write)
    return 0


def parse_args(argv: list[str] | None):
    parser = new_parser("bench.retrieval_xquad", __doc__)
    add_xquad_options(parser, REPORT)
    return parser.parse_args(argv)


# --- scoring --------------------------------------------------------------------------------------


def xquad_hits(questions: list[dict], retrieved: list[list[dict]]) -> tuple[float, float]:
    """hit@1 and hit@5: the answering paragraph's file among the first 1 / 5 passages."""
    first = top = 0
    for question, passages in zip(questions, retrieved):
        paragraphs = [Path(p["source"]).stem for p in passages]
        first += bool(paragraphs) and paragraphs[0] == question["paragraph"]
        top += question["paragraph"] in paragraphs[:TOP_K]
    return first / len(questions), top / len(questions)


def seed_hits(fixtures: list[dict], retrieved: list[list[dict]]) -> dict:
    first = top = 0
    misses = []
    for fixture, passages in zip(fixtures, retrieved):
        hits = [holds_gold_quote(fixture, p["text"]) for p in passages[:SEED_TOP_K]]
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
        counts[0] += any(holds_gold_quote(fixture, p["text"]) for p in passages[:SEED_TOP_K])
        counts[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(pairs.items())}


def fixture_pair(fixture: dict) -> str:
    languages = sorted({seed_language(s) for s in fixture["gold_sources"]})
    return f"{fixture['lang'].upper()} question, {'+'.join(l.upper() for l in languages)} text"


# --- latency ------------------------------------------------------------------------------------


def measure_latency(questions: list[str], store: Path, cache: Path) -> list[float]:
    """Milliseconds per question through rag.api (index loaded, after a warm-up, 1 query thread)."""
    rag = open_rag(store_dir=store, cache_dir=cache, show_progress=False, query_threads=1)
    for question in questions[:LATENCY_WARMUP]:
        rag.retrieve(question, top_k=TOP_K)
    timings = []
    for question in questions:
        started = time.perf_counter()
        rag.retrieve(question, top_k=TOP_K)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


# --- report -------------------------------------------------------------------------------------


def render(results: dict, seeds: dict, latency: dict, n_questions: int, xquad: Path) -> str:
    lines = [
        "# Retrieval benchmark: XQuAD (dev split) and the seed fixtures",
        "",
        f"Command: `.venv/bin/python -m bench.retrieval_xquad` ({time.strftime('%Y-%m-%d')}). "
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
        f"(`rag.retrieval.passages.merge_neighbours`): the top-3 passages average {seeds['mean_chars']:.0f} characters "
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
        "## Latency per question (in-process `Rag.retrieve`, index loaded, 1 query thread; nearest-rank percentiles)",
        "",
        "| corpus | questions | p50 ms | p95 ms |",
        "|---|---|---|---|",
    ]
    for name, timings in latency.items():
        lines.append(f"| {name} | {len(timings)} | {percentile(timings, 0.5):.1f} | {percentile(timings, 0.95):.1f} |")
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


if __name__ == "__main__":
    raise SystemExit(main())
