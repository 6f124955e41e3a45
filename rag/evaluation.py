"""Evaluation over question-answer fixtures: retrieval, citations, answers, refusals, latency.

Fixtures are JSON Lines (see README): ``{"id", "question", "lang", "answerable", "gold_sources",
"gold_quotes", "answer_keywords", "reference_answer"}``. Every question runs through the public
API (``Rag.retrieve`` and ``Rag.ask``), exactly as tools use it.

Metrics follow the usual definitions:
- retrieval: hit@1/3/5 and MRR@10, where a passage hits when it contains a gold quote
  (whitespace-normalised);
- citations (ALCE-style): recall = answerable questions with a citation containing a gold quote;
  precision = citations containing a gold quote or coming from a gold source;
- answers: keyword correctness (one alternative of every keyword group) and token F1 against the
  reference answer;
- refusals: share refused among unanswerable questions, share wrongly refused among answerable
  ones; answer accuracy (correct / answerable) and precision (correct / answered), as in PaperQA2;
- latency p50/p95 of ``ask``.
Every aggregate is also split by question language and by cross- versus same-language.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from rag.config import REPO_ROOT
from rag.errors import ConfigError, CorpusError

XQUAD_DIR = REPO_ROOT.parent / "shared" / "data" / "xquad-dev"
RETRIEVAL_DEPTH = 10


class Fixture(BaseModel):
    """One evaluation question."""

    id: str
    question: str
    lang: str
    answerable: bool
    gold_sources: list[str] = Field(default_factory=list)
    gold_quotes: list[str] = Field(default_factory=list)
    answer_keywords: list[list[str]] = Field(default_factory=list)
    reference_answer: str = ""


# --- loading fixtures ---------------------------------------------------------------------------


def load_fixtures(path: Path) -> list[Fixture]:
    """Fixtures from a JSON Lines file; errors name the line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CorpusError(f"Cannot read fixtures {path}: {error.strerror or error}.") from error
    fixtures = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            fixtures.append(Fixture.model_validate_json(line))
        except ValidationError as error:
            raise CorpusError(f"{path}:{number}: not a valid fixture: {error.errors()[0]['msg']}") from error
    if not fixtures:
        raise CorpusError(f"{path} holds no fixtures.")
    return fixtures


def xquad_fixtures(question_lang: str, corpus_lang: str, folder: Path = XQUAD_DIR) -> list[Fixture]:
    """XQuAD questions as fixtures: gold source = the answering paragraph, gold quotes = answers."""
    path = folder / "questions.jsonl"
    if not path.is_file():
        raise CorpusError(f"XQuAD questions not found at {path}.")
    fixtures = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        answers = item[f"answers_{corpus_lang}"]
        reference = item[f"answers_{question_lang}"]
        fixtures.append(
            Fixture(
                id=f"{item['id']}-{question_lang}{corpus_lang}",
                question=item[f"question_{question_lang}"],
                lang=question_lang,
                answerable=True,
                gold_sources=[f"{item['paragraph']}.txt"],
                gold_quotes=answers,
                answer_keywords=[sorted(set(answers) | set(reference))],
                reference_answer=reference[0],
            )
        )
    return fixtures


def resolve_fixtures(spec: str) -> tuple[list[Fixture], Path | None]:
    """A fixtures file, or ``xquad:QQ-CC[:DIR]`` (question and corpus language); also returns
    the corpus folder the spec implies (None for plain files)."""
    match = re.fullmatch(r"xquad:(en|de)-(en|de)(?::(.+))?", spec)
    if match:
        folder = Path(match.group(3)) if match.group(3) else XQUAD_DIR
        corpus_lang = match.group(2)
        return xquad_fixtures(match.group(1), corpus_lang, folder), folder / f"corpus_{corpus_lang}"
    return load_fixtures(Path(spec)), None


# --- scoring one question -----------------------------------------------------------------------


def normalise_whitespace(text: str) -> str:
    return " ".join(text.split())


def contains_gold_quote(text: str, quotes: list[str]) -> bool:
    haystack = normalise_whitespace(text).lower()
    return any(normalise_whitespace(q).lower() in haystack for q in quotes if q.strip())


def keywords_correct(answer: str, groups: list[list[str]]) -> bool:
    lowered = answer.lower()
    return bool(groups) and all(any(alt.lower() in lowered for alt in group) for group in groups)


_TOKEN = re.compile(r"\w+", re.UNICODE)


def token_f1(prediction: str, reference: str) -> float:
    predicted = Counter(t.lower() for t in _TOKEN.findall(prediction))
    gold = Counter(t.lower() for t in _TOKEN.findall(reference))
    overlap = sum((predicted & gold).values())
    if not predicted or not gold or overlap == 0:
        return 0.0
    precision = overlap / sum(predicted.values())
    recall = overlap / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


@dataclass
class QuestionResult:
    """Everything measured for one fixture."""

    id: str
    question: str
    lang: str
    answerable: bool
    cross_language: bool | None
    refused: bool
    answer: str
    hit_rank: int | None  # 1-based rank of the first passage with a gold quote, within the depth
    citations: int
    citations_supported: int
    citation_recall_hit: bool
    keyword_correct: bool
    f1: float
    latency_ms: float
    error: str = ""

    def hit_at(self, k: int) -> bool:
        return self.hit_rank is not None and self.hit_rank <= k

    @property
    def reciprocal_rank(self) -> float:
        return 1.0 / self.hit_rank if self.hit_rank else 0.0


def score_question(
    fixture: Fixture,
    passages: list,
    answer,
    latency_ms: float,
    source_languages: dict[str, str],
) -> QuestionResult:
    """Score one fixture from its retrieved passages and its answer (duck-typed API results)."""
    hit_rank = next(
        (rank for rank, p in enumerate(passages[:RETRIEVAL_DEPTH], start=1)
         if contains_gold_quote(p.text, fixture.gold_quotes)),
        None,
    )
    citations = list(answer.citations)
    supported = [
        c for c in citations
        if contains_gold_quote(c.text, fixture.gold_quotes) or c.source in fixture.gold_sources
    ]
    gold_languages = {source_languages.get(s) for s in fixture.gold_sources} - {None}
    cross = None
    if fixture.answerable and gold_languages:
        cross = fixture.lang not in gold_languages
    return QuestionResult(
        id=fixture.id,
        question=fixture.question,
        lang=fixture.lang,
        answerable=fixture.answerable,
        cross_language=cross,
        refused=bool(answer.not_found),
        answer=answer.text,
        hit_rank=hit_rank,
        citations=len(citations),
        citations_supported=len(supported),
        citation_recall_hit=any(contains_gold_quote(c.text, fixture.gold_quotes) for c in citations),
        keyword_correct=(not answer.not_found) and keywords_correct(answer.text, fixture.answer_keywords),
        f1=0.0 if answer.not_found else token_f1(answer.text, fixture.reference_answer),
        latency_ms=latency_ms,
    )


# --- aggregating ----------------------------------------------------------------------------------


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def aggregate(results: list[QuestionResult]) -> dict[str, Any]:
    """Metrics over a group of question results (None where a metric has no questions)."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if not r.refused]
    refused = [r for r in results if r.refused]
    total_citations = sum(r.citations for r in answerable)
    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "hit@1": _share([r.hit_at(1) for r in answerable]),
        "hit@3": _share([r.hit_at(3) for r in answerable]),
        "hit@5": _share([r.hit_at(5) for r in answerable]),
        "mrr@10": statistics.fmean([r.reciprocal_rank for r in answerable]) if answerable else None,
        "citation_recall": _share([r.citation_recall_hit for r in answerable]),
        "citation_precision": (
            sum(r.citations_supported for r in answerable) / total_citations if total_citations else None
        ),
        "keyword_correct": _share([r.keyword_correct for r in answerable]),
        "answer_precision": _share([r.keyword_correct for r in answered]),
        "token_f1": statistics.fmean([r.f1 for r in answerable]) if answerable else None,
        "refused_unanswerable": _share([r.refused for r in unanswerable]),
        "wrongly_refused": _share([r.refused for r in answerable]),
        "refusal_precision": _share([not r.answerable for r in refused]),
        "latency_p50_ms": _percentile(latencies, 0.5),
        "latency_p95_ms": _percentile(latencies, 0.95),
    }


def aggregate_by_category(results: list[QuestionResult]) -> dict[str, dict[str, Any]]:
    """Overall, per question language, and cross- versus same-language."""
    groups: dict[str, list[QuestionResult]] = {"all": results}
    for result in results:
        groups.setdefault(f"lang={result.lang}", []).append(result)
        if result.cross_language is not None:
            name = "cross-language" if result.cross_language else "same-language"
            groups.setdefault(name, []).append(result)
        if not result.answerable:
            groups.setdefault("unanswerable", []).append(result)
    return {name: aggregate(group) for name, group in groups.items()}


# --- running --------------------------------------------------------------------------------------


@dataclass
class EvalRun:
    fixtures: str
    mode: str
    results: list[QuestionResult] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return aggregate_by_category(self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "fixtures": self.fixtures,
            "mode": self.mode,
            "metrics": self.metrics,
            "questions": [asdict(r) for r in self.results],
        }


def evaluate(rag, fixtures: list[Fixture], mode: str | None = None, progress: bool = True, name: str = "") -> EvalRun:
    """Run every fixture through ``rag`` (a rag.api.Rag over an ingested corpus)."""
    from rag.errors import RagError

    mode = mode or rag.settings.answer_mode
    languages = {d["source"]: d["language"] for d in rag.info().documents}
    run = EvalRun(fixtures=name, mode=mode)
    iterator = fixtures
    bar = None
    if progress:
        from tqdm import tqdm

        bar = iterator = tqdm(fixtures, desc="Evaluating", unit="question", file=sys.stderr)
    for fixture in iterator:
        try:
            passages = rag.retrieve(fixture.question, top_k=RETRIEVAL_DEPTH)
            started = time.perf_counter()
            answer = rag.ask(fixture.question, mode=mode)
            latency = (time.perf_counter() - started) * 1000
        except RagError as error:
            run.results.append(_failed_result(fixture, error))
            continue
        run.results.append(score_question(fixture, passages, answer, latency, languages))
    if bar is not None:
        bar.close()
    return run


def _failed_result(fixture: Fixture, error: Exception) -> QuestionResult:
    return QuestionResult(
        id=fixture.id, question=fixture.question, lang=fixture.lang, answerable=fixture.answerable,
        cross_language=None, refused=False, answer="", hit_rank=None, citations=0, citations_supported=0,
        citation_recall_hit=False, keyword_correct=False, f1=0.0, latency_ms=0.0, error=str(error),
    )


# --- thresholds and reports ------------------------------------------------------------------------

TABLE_METRICS = [
    "questions", "hit@1", "hit@3", "hit@5", "mrr@10", "citation_recall", "citation_precision",
    "keyword_correct", "answer_precision", "token_f1", "refused_unanswerable", "wrongly_refused",
    "latency_p50_ms", "latency_p95_ms",
]


def parse_thresholds(items: list[str]) -> dict[str, float]:
    thresholds = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if name not in TABLE_METRICS or not value:
            raise ConfigError(f"--min {item!r}: expected METRIC=VALUE with METRIC one of {', '.join(TABLE_METRICS)}.")
        try:
            thresholds[name] = float(value)
        except ValueError as error:
            raise ConfigError(f"--min {item!r}: {value!r} is not a number.") from error
    return thresholds


def missed_thresholds(metrics: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Thresholds the overall metrics miss (latency thresholds are maxima, the rest minima)."""
    missed = []
    for name, limit in thresholds.items():
        value = metrics.get(name)
        is_latency = name.startswith("latency")
        if value is None or (value > limit if is_latency else value < limit):
            missed.append(f"{name} = {_fmt(value)} ({'max' if is_latency else 'min'} {limit:g})")
    return missed


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):  # shares (0..1) with three decimals, milliseconds with one
        return f"{value:.1f}" if value > 1 else f"{value:.3f}"
    return str(value)


def format_table(run: EvalRun) -> str:
    metrics = run.metrics
    categories = list(metrics)
    header = "| metric | " + " | ".join(categories) + " |"
    rule = "|---|" + "---|" * len(categories)
    rows = [
        f"| {name} | " + " | ".join(_fmt(metrics[c].get(name)) for c in categories) + " |"
        for name in TABLE_METRICS
    ]
    return "\n".join([header, rule, *rows])


def write_report(run: EvalRun, path: Path) -> list[Path]:
    """Markdown report, JSON results and a PNG plot of per-category scores; returns the paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    json_path = path.with_suffix(".json")
    plot_path = path.with_name(path.stem + "-scores.png")
    json_path.write_text(json.dumps(run.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    plot_scores(run, plot_path)
    failures = [r for r in run.results if r.answerable and not r.hit_at(3)]
    wrong_refusals = [r for r in run.results if r.answerable and r.refused]
    missed_refusals = [r for r in run.results if not r.answerable and not r.refused]
    lines = [
        f"# Evaluation: {run.fixtures} ({run.mode} mode)",
        "",
        f"{len(run.results)} questions. Metrics per category (a cell is empty where the category has no such questions).",
        "",
        format_table(run),
        "",
        f"![Scores per category]({plot_path.name})",
        "",
        _question_list("Answerable questions without a gold passage in the top 3", failures),
        _question_list("Answerable questions that were refused", wrong_refusals),
        _question_list("Unanswerable questions that were answered", missed_refusals),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [path, json_path, plot_path]


def _question_list(title: str, results: list[QuestionResult]) -> str:
    if not results:
        return f"## {title}\n\nNone.\n"
    items = "\n".join(f"- `{r.id}` {r.question} → {r.answer[:160]!r}" for r in results)
    return f"## {title}\n\n{items}\n"


def plot_scores(run: EvalRun, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = run.metrics
    names = ["hit@3", "citation_recall", "keyword_correct", "refused_unanswerable"]
    categories = list(metrics)
    figure, axes = plt.subplots(figsize=(max(6, 1.6 * len(categories)), 4))
    width = 0.8 / len(names)
    for offset, name in enumerate(names):
        values = [metrics[c].get(name) or 0.0 for c in categories]
        positions = [i + offset * width for i in range(len(categories))]
        axes.bar(positions, values, width=width, label=name)
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(categories))], categories, rotation=20)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("share of questions")
    axes.set_title(f"{run.fixtures} ({run.mode})")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# --- CLI --------------------------------------------------------------------------------------------


def add_eval_arguments(parser) -> None:
    parser.add_argument("fixtures", help="Fixtures (.jsonl), or xquad:QQ-CC[:DIR], e.g. xquad:en-de.")
    parser.add_argument("--source", default=None, help="Corpus folder (default: seeds, or the XQuAD corpus).")
    parser.add_argument("--store", default=None, help="Index store folder (default: index_store).")
    parser.add_argument("--mode", choices=["extractive", "llm"], default=None, help="Answer mode.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON instead of a table.")
    parser.add_argument("--report", default=None, help="Write a Markdown report here (plus .json and a PNG plot).")
    parser.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE",
                        help="Fail (exit 1) when an overall metric misses this threshold (latency: maximum).")
    parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")


def run_eval_command(args, overrides: dict[str, Any]) -> int:
    from rag.api import open_rag

    thresholds = parse_thresholds(args.min)
    fixtures, implied_source = resolve_fixtures(args.fixtures)
    if overrides.get("source_dir") is None and implied_source is not None:
        overrides = {**overrides, "source_dir": implied_source}
    rag = open_rag(**overrides)
    rag.ingest(progress=not args.no_progress)
    run = evaluate(rag, fixtures, mode=args.mode, progress=not args.no_progress, name=args.fixtures)
    if args.json:
        print(json.dumps(run.to_json(), ensure_ascii=False))
    else:
        print(format_table(run))
    if args.report:
        written = write_report(run, Path(args.report))
        print("report: " + ", ".join(str(p) for p in written), file=sys.stderr)
    errors = [r for r in run.results if r.error]
    for result in errors:
        print(f"error on {result.id}: {result.error}", file=sys.stderr)
    missed = missed_thresholds(run.metrics["all"], thresholds)
    for line in missed:
        print(f"threshold missed: {line}", file=sys.stderr)
    return 1 if missed or errors else 0
