"""Evaluation metrics on hand-made predictions, thresholds, reports and the eval command."""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace as NS

import pytest

from rag.evaluation.fixtures import XQUAD_DIR, Fixture, balanced_split, load_fixtures, resolve_fixtures, xquad_split_by_paragraph
from rag.evaluation.metrics import aggregate, aggregate_by_category, contains_gold_quote, keywords_correct, score_question, token_f1
from rag.evaluation.report import missed_thresholds, parse_thresholds, write_report
from rag.evaluation.runner import EvalRun
from rag.errors import ConfigError, CorpusError

LANGS = {"de.txt": "de", "en.txt": "en"}
FIX = Fixture(
    id="q1", question="Why did Clark lose his powers?", lang="en", answerable=True,
    gold_sources=["de.txt"], gold_quotes=["Jor-Els Ultimatum ist  abgelaufen"],
    answer_keywords=[["sunset", "Sonnenuntergang"], ["Jor-El"]],
    reference_answer="Jor-El took them because Clark missed the sunset deadline.",
)
UNANSWERABLE = Fixture(id="q2", question="What is Lois's job?", lang="de", answerable=False)


def passage(text, source="de.txt"):
    return NS(text=text, source=source)


def citation(text, source="de.txt"):
    return NS(text=text, source=source)


def answer(text, citations=(), not_found=False):
    return NS(text=text, citations=list(citations), not_found=not_found)


GOLD = "Am Abend: Jor-Els Ultimatum ist\nabgelaufen."


def test_a_hit_is_a_passage_containing_a_gold_quote_after_normalising_whitespace():
    assert contains_gold_quote(GOLD, FIX.gold_quotes)
    assert not contains_gold_quote("Jor-Els Ultimatum", FIX.gold_quotes)


def test_ranks_and_reciprocal_rank():
    passages = [passage("nothing"), passage("other"), passage(GOLD), passage(GOLD)]
    result = score_question(FIX, passages, answer("x", [citation(GOLD)]), 10.0, LANGS)
    assert result.hit_rank == 3
    assert (result.hit_at(1), result.hit_at(3), result.hit_at(5)) == (False, True, True)
    assert result.reciprocal_rank == pytest.approx(1 / 3)
    assert result.cross_language is True


def test_no_citations_means_no_recall_and_no_precision_contribution():
    result = score_question(FIX, [passage(GOLD)], answer("Jor-El at sunset"), 5.0, LANGS)
    assert result.citations == 0 and not result.citation_recall_hit
    metrics = aggregate([result])
    assert metrics["citation_recall"] == 0.0
    assert metrics["citation_precision"] is None
    assert metrics["keyword_correct"] == 1.0


def test_citation_precision_accepts_gold_quotes_or_gold_sources():
    cites = [citation(GOLD), citation("other text of the gold source"), citation("elsewhere", "en.txt")]
    result = score_question(FIX, [passage(GOLD)], answer("Jor-El, sunset [1][2][3]", cites), 5.0, LANGS)
    assert result.citation_recall_hit
    assert aggregate([result])["citation_precision"] == pytest.approx(2 / 3)


def test_duplicate_passages_count_once_for_rank():
    result = score_question(FIX, [passage(GOLD), passage(GOLD)], answer("x"), 1.0, LANGS)
    assert result.hit_rank == 1


def test_all_refused():
    refused = answer("The sources do not contain an answer to this question.", not_found=True)
    results = [
        score_question(FIX, [passage(GOLD)], refused, 3.0, LANGS),
        score_question(UNANSWERABLE, [], refused, 4.0, LANGS),
    ]
    metrics = aggregate(results)
    assert metrics["refused_unanswerable"] == 1.0
    assert metrics["wrongly_refused"] == 1.0
    assert metrics["refusal_precision"] == 0.5
    assert metrics["keyword_correct"] == 0.0
    assert metrics["answer_precision"] is None  # nothing answered
    assert metrics["token_f1"] == 0.0


def test_keywords_need_one_alternative_of_every_group():
    assert keywords_correct("Jor-El set a SONNENUNTERGANG deadline", FIX.answer_keywords)
    assert not keywords_correct("Jor-El set a deadline", FIX.answer_keywords)
    assert not keywords_correct("anything", [])


def test_token_f1():
    assert token_f1("the cat sat", "the cat sat") == 1.0
    assert token_f1("", "the cat") == 0.0
    assert token_f1("cat dog", "cat mouse") == pytest.approx(0.5)


def test_categories_split_by_language_and_cross_language():
    same = Fixture(**{**FIX.model_dump(), "id": "q3", "lang": "de"})
    results = [
        score_question(FIX, [passage(GOLD)], answer("Jor-El sunset"), 1.0, LANGS),
        score_question(same, [passage("x")], answer("nein"), 2.0, LANGS),
        score_question(UNANSWERABLE, [], answer("x", not_found=True), 3.0, LANGS),
    ]
    metrics = aggregate_by_category(results)
    assert metrics["cross-language"]["questions"] == 1 and metrics["cross-language"]["hit@1"] == 1.0
    assert metrics["same-language"]["hit@1"] == 0.0
    assert metrics["lang=de"]["questions"] == 2
    assert metrics["unanswerable"]["refused_unanswerable"] == 1.0
    assert metrics["all"]["latency_p50_ms"] == 2.0


def test_thresholds_are_minima_except_latency():
    thresholds = parse_thresholds(["hit@3=0.9", "latency_p95_ms=50"])
    assert missed_thresholds({"hit@3": 0.95, "latency_p95_ms": 40}, thresholds) == []
    assert len(missed_thresholds({"hit@3": 0.5, "latency_p95_ms": 60}, thresholds)) == 2
    with pytest.raises(ConfigError):
        parse_thresholds(["precision"])


def test_bad_fixture_lines_are_named(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"id": "a", "question": "q", "lang": "en", "answerable": true}\n{"id": 3}\n')
    with pytest.raises(CorpusError, match="f.jsonl:2"):
        load_fixtures(path)


@pytest.mark.skipif(not XQUAD_DIR.is_dir(), reason=f"the shared XQuAD split is not at {XQUAD_DIR}")
def test_xquad_converter_reads_the_shared_split():
    fixtures, corpus = resolve_fixtures("xquad:en-de")
    assert len(fixtures) == 632 and corpus.name == "corpus_de"
    first = fixtures[0]
    assert first.lang == "en" and first.answerable
    paragraph = (corpus / first.gold_sources[0]).read_text(encoding="utf-8")
    assert any(q in paragraph for q in first.gold_quotes)


@pytest.mark.skipif(not XQUAD_DIR.is_dir(), reason=f"the shared XQuAD split is not at {XQUAD_DIR}")
def test_xquad_is_split_by_article_into_two_halves_of_similar_size():
    split = xquad_split_by_paragraph()
    fixtures, _ = resolve_fixtures("xquad:de-en")
    paragraphs = map(json.loads, (XQUAD_DIR / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines())
    title_of = {item["paragraph"]: item["title"] for item in paragraphs}
    sides_of_title: dict[str, set[str]] = {}
    for paragraph, side in split.items():
        sides_of_title.setdefault(title_of[paragraph], set()).add(side)
    assert all(len(sides) == 1 for sides in sides_of_title.values())
    assert {f.split for f in fixtures} == {"tune", "check"}
    tune = sum(f.split == "tune" for f in fixtures)
    assert abs(tune - (len(fixtures) - tune)) <= 0.1 * len(fixtures)


def test_the_balanced_split_gives_the_next_title_to_the_side_with_fewer_questions():
    split = balanced_split(Counter({"a": 10, "b": 6, "c": 5, "d": 1}))
    assert split == {"a": "tune", "b": "check", "c": "check", "d": "tune"}


def test_report_has_table_plot_and_json(tmp_path):
    run = EvalRun(fixtures="hand-made", mode="extractive")
    run.results.append(score_question(FIX, [passage(GOLD)], answer("Jor-El sunset", [citation(GOLD)]), 1.0, LANGS))
    paths = write_report(run, tmp_path / "report.md")
    text = paths[0].read_text()
    assert "| hit@1 |" in text and "report-scores.png" in text
    assert json.loads(paths[1].read_text())["metrics"]["all"]["hit@1"] == 1.0
    assert paths[2].read_bytes()[:4] == b"\x89PNG"


def test_eval_command_on_the_seed_fixtures_applies_thresholds(seed_rag, tmp_path, monkeypatch, capsys):
    from rag import cli

    store = str(seed_rag.settings.store_dir)
    code = cli.main(["eval", "fixtures/seeds.jsonl", "--store", store, "--no-progress", "--min", "hit@5=0.01"])
    out = capsys.readouterr().out
    assert code == 0 and "| hit@3 |" in out
    code = cli.main(["eval", "fixtures/seeds.jsonl", "--store", store, "--no-progress", "--min", "hit@1=1.01"])
    assert code == 1
    assert "threshold missed: hit@1" in capsys.readouterr().err
