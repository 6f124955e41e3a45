"""Scoring one question and aggregating many: retrieval, citations, answers, refusals, latency.

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

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rag.evaluation.fixtures import Fixture

RETRIEVAL_DEPTH = 10


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
    kind: str = ""
    split: str | None = None

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
        kind=fixture.kind,
        split=fixture.split,
    )


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
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
        "refused_with_evidence_top3": _share([r.refused for r in answerable if r.hit_at(3)]),
        "refusal_precision": _share([not r.answerable for r in refused]),
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
    }


def aggregate_by_category(results: list[QuestionResult]) -> dict[str, dict[str, Any]]:
    """Overall, per split (tune/check), per question language, cross- versus same-language, and
    per kind of question."""
    groups: dict[str, list[QuestionResult]] = {"all": results}
    for result in results:
        if result.split:
            groups.setdefault(f"split={result.split}", []).append(result)
        if result.kind:
            groups.setdefault(f"kind={result.kind}", []).append(result)
        groups.setdefault(f"lang={result.lang}", []).append(result)
        if result.cross_language is not None:
            name = "cross-language" if result.cross_language else "same-language"
            groups.setdefault(name, []).append(result)
        if not result.answerable:
            groups.setdefault("unanswerable", []).append(result)
    return {name: aggregate(group) for name, group in groups.items()}


def failed_result(fixture: Fixture, error: Exception) -> QuestionResult:
    """The result of a fixture whose question raised an error (it counts as missed everywhere)."""
    return QuestionResult(
        id=fixture.id, question=fixture.question, lang=fixture.lang, answerable=fixture.answerable,
        cross_language=None, refused=False, answer="", hit_rank=None, citations=0, citations_supported=0,
        citation_recall_hit=False, keyword_correct=False, f1=0.0, latency_ms=0.0, error=str(error),
        kind=fixture.kind, split=fixture.split,
    )
