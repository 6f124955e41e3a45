"""Extractive answers over the seeds: cited, exact, refusing when the texts say nothing."""

from __future__ import annotations

import pytest

from rag import REFUSAL, Passage
from rag.types import MEANING_SUPPORT_WEIGHT, meaning_floor
from rag.errors import InvalidQuestionError
from support.environment import child_environment
from support.paths import SEEDS

SUMMARY_000 = "000_10d9073bc3f8410e.txt"
# Where the German summary says why Clark lost his powers: the sunset ultimatum and its outcome.
POWERS_EVIDENCE = ("Sonnenuntergang", "Ultimatum", "Superkräfte von Jor-El entzogen")


def source_text(source):
    return (SEEDS / source).read_text(encoding="utf-8")


def assert_citations_are_exact(answer):
    for citation in answer.citations:
        text = source_text(citation.source)
        assert text[citation.start : citation.end] == citation.text
        for start, end in citation.highlights:
            assert citation.start <= start < end <= citation.end


def test_the_seed_question_is_answered_from_the_german_summary(seed_rag):
    answer = seed_rag.ask("Why did Clark lose his powers?")
    assert not answer.not_found
    assert answer.mode == "extractive"
    assert "[1]" in answer.text
    cited = [c for c in answer.citations if c.source == SUMMARY_000]
    assert cited, answer.text
    assert any(e in c.text for c in cited for e in POWERS_EVIDENCE)
    assert "(German)" in answer.text
    assert_citations_are_exact(answer)


def test_markers_in_the_answer_match_the_citations(seed_rag):
    answer = seed_rag.ask("Who are Nam Ek and Aethyr?")
    numbers = [c.n for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    for n in numbers:
        assert f"[{n}]" in answer.text


def test_german_question_about_the_english_chapter(seed_rag):
    answer = seed_rag.ask("Wohin verbannt Clark die beiden Kryptonier?")
    assert not answer.not_found
    assert any("Phantom Zone" in c.text for c in answer.citations), answer.text
    assert "(English)" in answer.text
    assert_citations_are_exact(answer)


def test_extractive_sentences_are_quoted_verbatim(seed_rag):
    answer = seed_rag.ask("Where did Clark land?")
    for citation in answer.citations:
        for start, end in citation.highlights:
            assert source_text(citation.source)[start:end] in answer.text


@pytest.mark.parametrize(
    "question",
    ["What is the boiling point of tungsten?", "Wie hoch ist die Inflation in Japan?"],
)
def test_questions_the_texts_do_not_cover_are_refused(seed_rag, question):
    answer = seed_rag.ask(question)
    assert answer.not_found
    assert answer.text == REFUSAL
    assert answer.citations == []


def test_token_counts_are_reported(seed_rag):
    from rag.text.tokens import count_tokens

    answer = seed_rag.ask("Why did Clark lose his powers?")
    assert answer.usage.prompt == count_tokens(answer.question) + sum(count_tokens(p.text) for p in answer.passages)
    assert answer.usage.completion == count_tokens(answer.text) > 5
    assert answer.usage.total == answer.usage.prompt + answer.usage.completion
    assert answer.to_json()["tokens"]["total"] == answer.usage.total


def test_a_plain_answer_does_not_load_the_token_counter(seed_rag):
    """Extractive answers count their tokens when asked (``--json``, ``Answer.usage``): tiktoken's
    first load cost every cold ``rag ask`` ~0.12 s (bench/notes.md)."""
    import subprocess
    import sys

    code = (
        "import sys, rag.api; r = rag.api.open_rag(store_dir=sys.argv[1], show_progress=False); "
        "r.ask('Why did Clark lose his powers?'); print('tiktoken' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(seed_rag.settings.store_dir)],
        capture_output=True, text=True, env=child_environment(), timeout=300, check=True,
    )
    assert run.stdout.strip() == "False", run.stderr


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_an_empty_question_is_a_clear_error(seed_rag, question):
    with pytest.raises(InvalidQuestionError, match="empty"):
        seed_rag.ask(question)


def test_a_huge_question_is_a_clear_error(seed_rag):
    with pytest.raises(InvalidQuestionError, match="limit"):
        seed_rag.ask("Clark " * 2000)


def test_retrieve_returns_exact_passages_with_scores(seed_rag):
    passages = seed_rag.retrieve("Jor-El Sonnenuntergang", top_k=4)
    assert 1 <= len(passages) <= 4
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for passage in passages:
        assert source_text(passage.source)[passage.start : passage.end] == passage.text
        assert passage.title and passage.language in ("en", "de")


def test_search_can_be_limited_to_one_source(seed_rag):
    passages = seed_rag.retrieve("Clark", top_k=5, sources=["001_acc81d348d7d4859.txt"])
    assert passages and {p.source for p in passages} == {"001_acc81d348d7d4859.txt"}


def test_streaming_extractive_answer_ends_with_the_final_answer(seed_rag):
    from rag import AnswerDelta, AnswerDone

    events = list(seed_rag.ask_stream("Why did Clark lose his powers?"))
    assert isinstance(events[-1], AnswerDone)
    assert all(isinstance(e, AnswerDelta) for e in events[:-1])
    assert "".join(e.text for e in events[:-1]) == events[-1].answer.text


# --- the relevance gate ----------------------------------------------------------------------------


def gate_passage(coverage, cosine):
    return Passage(source="a.txt", title="A", language="en", text="x", start=0, end=1, score=0.5, coverage=coverage, cosine=cosine)


@pytest.mark.parametrize(
    ("coverage", "cosine", "relevant"),
    [
        (0.8, 0.0, True),  # every rare word of the question, no paraphrase
        (0.0, 0.8, True),  # a close paraphrase sharing no word
        (0.4, 0.4, True),  # two half matches add up
        (0.3, 0.3, False),
        (0.5, None, False),  # no cosine (counts as 0)
    ],
)
def test_a_passage_supports_an_answer_when_word_coverage_plus_cosine_reaches_the_threshold(coverage, cosine, relevant):
    from rag.retrieval.relevance import RelevanceGate

    gate = RelevanceGate(min_support=0.75)
    assert gate.is_relevant(gate_passage(coverage, cosine)) is relevant
    assert gate.supports([gate_passage(0.0, 0.0), gate_passage(coverage, cosine)]) is relevant


def test_the_meaning_cosine_counts_from_what_a_typical_passage_of_its_language_gets():
    """The meaning model rates text in another language, and text of a varied corpus, lower across
    the board: the same cosine says more where the question's typical cosine is low."""
    from rag.types import MEANING_SUPPORT_FLOOR, MEANING_SUPPORT_MARGIN

    def with_meaning(meaning, baseline):
        return Passage(source="a.txt", title="A", language="de", text="x", start=0, end=1, score=0.5,
                       coverage=0.3, cosine=0.3, meaning=meaning, meaning_baseline=baseline)

    assert with_meaning(0.80, 0.72).support > with_meaning(0.80, 0.78).support
    assert with_meaning(0.80, 0.72).support == pytest.approx(0.6 + MEANING_SUPPORT_WEIGHT * (0.80 - 0.72 - MEANING_SUPPORT_MARGIN))
    # never a higher floor than the fixed one, whatever the baseline; unknown baseline: the fixed one
    assert meaning_floor(0.95) == meaning_floor(None) == MEANING_SUPPORT_FLOOR
    assert meaning_floor(0.70) == pytest.approx(0.70 + MEANING_SUPPORT_MARGIN)


def test_a_passages_meaning_baseline_is_the_mean_over_the_chunks_the_question_may_retrieve(seed_rag):
    import numpy as np

    retriever = seed_rag.retriever()
    question = "Why did Clark lose his powers?"
    index = retriever.index
    cosines = index.meaning_scores(retriever.meaning.query([question])[0])
    for sources in (None, ["002_835fa61d1c21454d.txt"]):
        for p in retriever.search(question, 5, sources).passages:
            rows = index.indices_by_language[p.language]
            if sources:
                rows = [i for i in rows if index.chunks.value(i, "source") in sources]
            assert p.meaning_baseline == pytest.approx(float(np.nanmean(cosines[rows])), abs=1e-4)


@pytest.mark.parametrize(
    "question",
    [
        "Why did Clark lose his powers?",
        "Wohin verbannt Clark die beiden Kryptonier?",
        "What is the boiling point of tungsten?",
        "Wie heißt das Krankenhaus, in das Clark Chloe bringt?",
        "Who finally rescues Lex from the island?",
    ],
)
def test_a_question_is_refused_exactly_when_no_passage_reaches_the_support_setting(seed_rag, question):
    passages = seed_rag.retrieve(question)
    for p in passages:
        expected = p.coverage + (p.cosine or 0.0) + MEANING_SUPPORT_WEIGHT * (p.meaning - meaning_floor(p.meaning_baseline))
        assert p.support == pytest.approx(expected)
    answer = seed_rag.ask(question)
    assert answer.not_found == (max(p.support for p in passages) < seed_rag.settings.min_support)
