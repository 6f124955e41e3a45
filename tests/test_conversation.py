"""Follow-up questions become standalone questions before retrieval."""

from __future__ import annotations

from rag.answer.conversation import Turn, condense_deterministic
from rag.web.presentation import answer_markdown, context_html, sources_panel_html
from rag.types import REFUSAL, Answer, Citation, Passage


def test_a_first_question_is_searched_as_it_is():
    assert condense_deterministic([], "Why did Clark lose his powers?") == "Why did Clark lose his powers?"


def test_a_follow_up_with_a_pronoun_carries_the_previous_subject():
    history = [Turn("Why did Clark lose his powers?", "Why did Clark lose his powers?")]
    standalone = condense_deterministic(history, "Who took them from him?")
    assert standalone.startswith("Who took them from him?")
    assert "Clark" in standalone and "powers" in standalone


def test_a_german_follow_up_carries_the_previous_subject():
    history = [Turn("Wer ist Morgan Edge?", "Wer ist Morgan Edge?")]
    standalone = condense_deterministic(history, "Was will er von Clark?")
    assert "Morgan" in standalone and "Edge" in standalone


def test_a_self_contained_question_is_left_alone():
    history = [Turn("Why did Clark lose his powers?", "Why did Clark lose his powers?")]
    question = "Where did Lex Luthor land after the plane crash?"
    assert condense_deterministic(history, question) == question


def passage(text="Jor-Els Ultimatum ist also abgelaufen.", start=100):
    return Passage(source="a.txt", title="A <b>", language="de", text=text, start=start, end=start + len(text), score=0.8)


def test_markers_link_to_their_source_cards():
    assert answer_markdown("Because [1] and [2]", 1) == "Because [\\[1\\]](#a1-source-1) and [\\[2\\]](#a1-source-2)"


def test_source_cards_escape_html_and_mark_cited_sentences():
    p = passage()
    answer = Answer(question="q", text="x [1]", citations=[Citation(n=1, passage=p, highlights=[(100, 108)])],
                    not_found=False, mode="extractive")
    html = sources_panel_html([(answer, [])], lambda source: "x" * 100 + p.text)
    assert 'id="a1-source-1"' in html and "A &lt;b&gt;" in html
    assert "<mark>Jor-Els </mark>" in html
    assert "Show in the whole text" in html


def test_context_view_shows_the_passage_inside_its_source():
    p = passage()
    source = "Vorher. " * 20 + "x" * (100 - 160) + p.text
    source = "V" * 100 + p.text + " Danach."
    html = context_html(source, p, [])
    assert "Danach." in html and '<span class="cited-passage">' in html


def test_a_refusal_shows_the_closest_passages_as_not_cited():
    answer = Answer(question="q", text=REFUSAL, not_found=True, mode="extractive", passages=[passage()])
    html = sources_panel_html([(answer, [])], lambda s: None)
    assert "No passage supports an answer" in html and "not cited" in html
