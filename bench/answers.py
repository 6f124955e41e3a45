"""Answer quality in one table: retrieval, answers, refusals and speed, tuning part beside check part.

    .venv/bin/python -m bench.answers [--quick] [--out DIR] [--root /tmp/rag-bench-answers]
                                      [--baseline REV]

Question sets, each through the public API (``Rag.retrieve`` timed here, then ``Rag.ask``, scored
by ``rag.evaluation.metrics``):

- the seed corpus (``seeds/``, a fresh temporary store): ``fixtures/reader_questions.jsonl``
  (split tune | check) and ``fixtures/seeds.jsonl`` (one column: tuned on in the past);
- XQuAD with distractors (``bench.distractors``: the dev split's 120 English and 120 German
  paragraphs plus 240 paragraphs of other prose, all in one fresh store), EN→EN, DE→DE, EN→DE,
  DE→EN, split tune | check by article. A retrieved passage or a citation counts only when it holds
  a gold answer AND comes from the gold paragraph (answers like "308" occur in many paragraphs).

``--quick`` keeps every 4th XQuAD question. ``--baseline REV`` runs this same driver and the same
fixtures in a temporary ``git worktree`` of REV (a child process importing REV's ``rag``) and shows
every cell as before → after. Settings come from RAG_* variables and rag.toml as for any use of
the package; the ones that matter are recorded with the machine, its load and the git revision.
Results: ``<out>/RESULTS.md`` and ``<out>/results.json`` (``bench/results/answers/``; ``quick/`` under it for
``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.distractors import (
    DEFAULT_ROOT,
    DistractorsUnavailable,
    build_corpus,
    language_view,
)
from rag import open_rag
from rag.api import Rag
from rag.errors import RagError
from rag.evaluation.fixtures import XQUAD_DIR, Fixture, load_fixtures, xquad_fixtures
from rag.evaluation.metrics import (
    RETRIEVAL_DEPTH,
    QuestionResult,
    aggregate,
    contains_gold_quote,
    failed_result,
    percentile,
    score_question,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench" / "results" / "answers"
SEEDS = REPO / "seeds"
READER_QUESTIONS = REPO / "fixtures" / "reader_questions.jsonl"
SEED_QUESTIONS = REPO / "fixtures" / "seeds.jsonl"
#: What a baseline run takes from this checkout, so that both sides ask the same questions the same way.
DRIVER_FILES = ["bench/answers.py", "bench/distractors.py", "fixtures/reader_questions.jsonl",
                "fixtures/seeds.jsonl", "rag/evaluation/fixtures.py", "rag/evaluation/metrics.py"]
XQUAD_PAIRS = [("en", "en"), ("de", "de"), ("en", "de"), ("de", "en")]
QUICK_STEP = 4
#: Rows of the table: (label, key in a column's metrics).
ROWS = [
    ("questions", "questions"),
    ("hit@1", "hit@1"), ("hit@3", "hit@3"), ("hit@5", "hit@5"),
    ("facts contained (keyword_correct)", "keyword_correct"),
    ("citation_recall", "citation_recall"),
    ("refused_unanswerable", "refused_unanswerable"),
    ("wrongly_refused", "wrongly_refused"),
    ("refused_with_evidence_top3", "refused_with_evidence_top3"),
    ("retrieve p50 ms", "retrieve_p50_ms"), ("retrieve p95 ms", "retrieve_p95_ms"),
    ("ask p50 ms", "latency_p50_ms"), ("ask p95 ms", "latency_p95_ms"),
]


@dataclass
class QuestionSet:
    name: str
    fixtures: list[Fixture]
    by_split: bool  # a tune and a check column, or one column
    needs_gold_source: bool = False  # a hit must also come from a gold source (XQuAD)


@dataclass
class Measured:
    result: QuestionResult
    retrieve_ms: float


@dataclass
class Run:
    """Everything one run of the driver measured; ``to_json`` is what results.json holds."""

    meta: dict[str, Any]
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    questions: list[dict[str, Any]] = field(default_factory=list)


# --- question sets --------------------------------------------------------------------------------


def seed_corpus_sets() -> list[QuestionSet]:
    return [
        QuestionSet("reader questions", load_fixtures(READER_QUESTIONS), by_split=True),
        QuestionSet("seeds (tuned on in the past)", load_fixtures(SEED_QUESTIONS), by_split=False),
    ]


def xquad_sets(xquad: Path, quick: bool, corpus_lang: str) -> list[QuestionSet]:
    """The XQuAD pairs answered from ``corpus_lang``'s paragraphs."""
    step = QUICK_STEP if quick else 1
    return [
        QuestionSet(f"XQuAD {q.upper()}→{c.upper()}", xquad_in_combined_corpus(q, c, xquad)[::step],
                    by_split=True, needs_gold_source=True)
        for q, c in XQUAD_PAIRS
        if c == corpus_lang
    ]


def xquad_in_combined_corpus(question_lang: str, corpus_lang: str, xquad: Path) -> list[Fixture]:
    """XQuAD fixtures whose gold sources name the combined corpus's files (``de/p0001.txt``)."""
    return [
        fixture.model_copy(update={"gold_sources": [f"{corpus_lang}/{s}" for s in fixture.gold_sources]})
        for fixture in xquad_fixtures(question_lang, corpus_lang, xquad)
    ]


# --- measuring ------------------------------------------------------------------------------------


def ingested_rag(source: Path, store: Path, embedding: Any = None) -> tuple[Rag, float]:
    """A Rag over a fresh store of ``source``, and the seconds the ingest took."""
    rag = open_rag(embedding=embedding, source_dir=source, store_dir=store / "store",
                   cache_dir=store / "cache", show_progress=False)
    started = time.perf_counter()
    rag.ingest(source)
    return rag, time.perf_counter() - started


def warm_up(rag: Rag, question_set: QuestionSet) -> None:
    """One untimed question, so that loading the index and the model is not in the first timing."""
    rag.ask(question_set.fixtures[0].question)


def measure_set(rag: Rag, question_set: QuestionSet) -> list[Measured]:
    languages = {d["source"]: d["language"] for d in rag.info().documents}
    return [measure_question(rag, fixture, languages, question_set.needs_gold_source)
            for fixture in question_set.fixtures]


def measure_question(rag: Rag, fixture: Fixture, languages: dict[str, str], needs_gold_source: bool) -> Measured:
    """Retrieve (timed here) and ask (timed as the evaluation runner does), then score."""
    try:
        started = time.perf_counter()
        passages = rag.retrieve(fixture.question, top_k=RETRIEVAL_DEPTH)
        retrieve_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        answer = rag.ask(fixture.question)
        ask_ms = (time.perf_counter() - started) * 1000
    except RagError as error:
        return Measured(failed_result(fixture, error), retrieve_ms=0.0)
    result = score_question(fixture, passages, answer, ask_ms, languages)
    if needs_gold_source:
        result = replace(
            result,
            hit_rank=rank_in_gold_source(fixture, passages),
            citation_recall_hit=any(holds_gold_in_gold_source(fixture, c.source, c.text) for c in answer.citations),
        )
    return Measured(result, retrieve_ms)


def rank_in_gold_source(fixture: Fixture, passages: list) -> int | None:
    return next(
        (rank for rank, p in enumerate(passages[:RETRIEVAL_DEPTH], start=1)
         if holds_gold_in_gold_source(fixture, p.source, p.text)),
        None,
    )


def holds_gold_in_gold_source(fixture: Fixture, source: str, text: str) -> bool:
    return source in fixture.gold_sources and contains_gold_quote(text, fixture.gold_quotes)


def column_metrics(measured: list[Measured]) -> dict[str, Any]:
    metrics = aggregate([m.result for m in measured])
    timings = [m.retrieve_ms for m in measured if not m.result.error]
    metrics["retrieve_p50_ms"] = percentile(timings, 0.5)
    metrics["retrieve_p95_ms"] = percentile(timings, 0.95)
    metrics["errors"] = sum(bool(m.result.error) for m in measured)
    return metrics


def record_set(run: Run, question_set: QuestionSet, measured: list[Measured]) -> None:
    """The set's columns (tune | check, or one), and, for the small sets, every question."""
    if question_set.by_split:
        for split in ("tune", "check"):
            part = [m for m in measured if m.result.split == split]
            run.columns[f"{question_set.name}: {split}"] = column_metrics(part)
    else:
        run.columns[question_set.name] = column_metrics(measured)
    if not question_set.needs_gold_source:
        run.questions += [question_summary(question_set.name, m) for m in measured]


def question_summary(set_name: str, measured: Measured) -> dict[str, Any]:
    r = measured.result
    return {"set": set_name, "id": r.id, "split": r.split, "kind": r.kind, "hit_rank": r.hit_rank,
            "refused": r.refused, "keyword_correct": r.keyword_correct, "citation_recall": r.citation_recall_hit,
            "answer": r.answer[:300], "error": r.error}


def measure_corpus(run: Run, label: str, source: Path, sets: list[QuestionSet], workdir: Path,
                   embedding: Any = None) -> Rag:
    rag, run.seconds[f"ingest {label}"] = ingested_rag(source, workdir / label, embedding)
    warm_up(rag, sets[0])
    for question_set in sets:
        started = time.perf_counter()
        measured = measure_set(rag, question_set)
        run.seconds[question_set.name] = time.perf_counter() - started
        record_set(run, question_set, measured)
        print(f"{question_set.name}: {len(measured)} questions in {run.seconds[question_set.name]:.0f} s",
              file=sys.stderr)
    return rag


def measure(args: argparse.Namespace) -> Run:
    run = Run(meta=run_description(args))
    started = time.perf_counter()
    corpus = build_corpus(args.root, args.xquad)
    run.seconds["distractor corpus (built or reused)"] = time.perf_counter() - started
    args.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stores-", dir=args.root) as workdir:
        seeds_rag = measure_corpus(run, "seeds", SEEDS, seed_corpus_sets(), Path(workdir))
        for language in ("en", "de"):
            measure_corpus(run, f"XQuAD {language} + distractors", language_view(corpus, language),
                           xquad_sets(args.xquad, args.quick, language), Path(workdir), embedding=seeds_rag.embedding)
        run.meta["settings"] = settings_that_matter(seeds_rag)
    run.meta["load_average_end"] = os.getloadavg()
    run.seconds["total"] = time.perf_counter() - started
    return run


# --- what ran where -------------------------------------------------------------------------------


def run_description(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "command": "python -m bench.answers" + (" --quick" if args.quick else ""),
        "revision": git_revision(REPO),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_start": os.getloadavg(),
    }


def git_revision(repo: Path) -> str:
    """HEAD's short hash, with "+changes" when the work tree differs from it."""
    def git(*command: str) -> str:
        return subprocess.run(["git", *command], cwd=repo, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return "unknown"


def settings_that_matter(rag: Rag) -> dict[str, Any]:
    s = rag.settings
    chosen = {"answer_mode": s.answer_mode, "embedding_runtime": s.embedding_runtime,
              "embedding_model": s.embedding_model, "openvino_precision": s.openvino_precision,
              "min_support": s.min_support, "top_k": s.top_k, "query_threads": s.query_threads,
              "meaning_model": s.meaning_model, "meaning_chunks": s.meaning_chunks}
    if s.answer_mode == "llm":
        chosen |= {"llm_model": s.llm_model, "llm_base_url": s.llm_base_url}
    return chosen


# --- baseline -------------------------------------------------------------------------------------


def measure_baseline(revision: str, args: argparse.Namespace) -> dict[str, Any]:
    """This driver and these fixtures, run by a child process over REV's ``rag`` package."""
    tree = args.root / f"baseline-{revision.replace('/', '_')}"
    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)
    added = subprocess.run(["git", "worktree", "add", "--detach", str(tree), revision], cwd=REPO,
                           capture_output=True, text=True)
    if added.returncode != 0:
        raise SystemExit(f"--baseline {revision}: git worktree add failed: {added.stderr.strip()}")
    try:
        for name in DRIVER_FILES:
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, tree / name)
        out = tree / "baseline-results"
        command = [sys.executable, "-m", "bench.answers", "--out", str(out), "--root", str(args.root),
                   "--xquad", str(args.xquad)] + (["--quick"] if args.quick else [])
        child = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
        if child.returncode != 0:
            raise SystemExit(f"--baseline {revision}: the driver failed at that revision (exit {child.returncode}).")
        baseline = json.loads((out / "results.json").read_text(encoding="utf-8"))
        baseline["meta"]["revision"] = f"{revision} ({baseline['meta']['revision']})"
        return baseline
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)


# --- the table ------------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):  # shares with three decimals, milliseconds with one
        return f"{value:.1f}" if value > 1 else f"{value:.3f}"
    return str(value)


def format_cell(name: str, key: str, run: Run, baseline: dict[str, Any] | None) -> str:
    after = format_value(run.columns[name].get(key))
    if baseline is None:
        return after
    before = format_value(baseline["columns"].get(name, {}).get(key))
    return f"{before} → {after}"


def format_table(run: Run, baseline: dict[str, Any] | None) -> str:
    names = list(run.columns)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key in ROWS:
        lines.append(f"| {label} | " + " | ".join(format_cell(n, key, run, baseline) for n in names) + " |")
    return "\n".join(lines)


def render(run: Run, baseline: dict[str, Any] | None) -> str:
    m = run.meta
    load = " / ".join(", ".join(f"{x:.1f}" for x in m[k]) for k in ("load_average_start", "load_average_end"))
    settings = ", ".join(f"{k} {v}" for k, v in m["settings"].items())
    lines = [
        "# Answer quality: tuning part beside check part",
        "",
        f"`{m['command']}` at {m['revision']}, {m['started']}, on {m['cpu']} ({m['cores']} CPUs, shared; "
        f"load average {load} at start / end). Settings: {settings}.",
    ]
    if baseline is not None:
        lines.append(f"Cells read before → after; before = {baseline['meta']['command']} at {baseline['meta']['revision']}.")
    lines += [
        "",
        "Columns: the reader questions and the seed fixtures over `seeds/`; XQuAD (dev split) per corpus "
        "language over one corpus of that language's 120 dev paragraphs plus 240 distractor paragraphs in both "
        "languages (`bench/distractors.py`; no translated twin of a gold paragraph is in the corpus), where a hit "
        "or a citation must hold a gold answer and come from the gold paragraph. Split tune | check (XQuAD by "
        "article). Retrieve is timed around `Rag.retrieve` (top 10), ask around `Rag.ask`, after one warm-up question.",
        "",
        format_table(run, baseline),
        "",
        "Seconds per part: " + ", ".join(f"{k} {v:.0f}" for k, v in run.seconds.items()) + ". The first ingest "
        "includes loading the Ding dictionary from its shared cache (~/.cache/rag/dictionary), or parsing it anew "
        "when a checkout with another dictionary format replaced that cache.",
    ]
    errors = {name: c["errors"] for name, c in run.columns.items() if c.get("errors")}
    if errors:
        lines.append(f"Questions that raised an error (counted as missed): {errors}.")
    return "\n".join(lines) + "\n"


def write_results(run: Run, baseline: dict[str, Any] | None, out: Path) -> str:
    report = render(run, baseline)
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text(report, encoding="utf-8")
    data = asdict(run) | ({"baseline": baseline} if baseline is not None else {})
    (out / "results.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"every {QUICK_STEP}th XQuAD question only")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for RESULTS.md and results.json (default {DEFAULT_OUT.relative_to(REPO)}, "
                        "with --quick its quick/ subfolder)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="distractor corpus and temporary stores")
    parser.add_argument("--xquad", type=Path, default=XQUAD_DIR, help="the XQuAD dev split folder")
    parser.add_argument("--baseline", default=None, metavar="REV", help="git revision to compare with (before → after)")
    args = parser.parse_args(argv)
    args.out = args.out or (DEFAULT_OUT / "quick" if args.quick else DEFAULT_OUT)
    args.root, args.xquad, args.out = args.root.resolve(), args.xquad.resolve(), args.out.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        baseline = measure_baseline(args.baseline, args) if args.baseline else None
        run = measure(args)
    except (DistractorsUnavailable, RagError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(write_results(run, baseline, args.out))
    print(f"(written to {args.out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
