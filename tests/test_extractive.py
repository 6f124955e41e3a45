"""The extractive answer as a reader sees it: which sentences are quoted, in which order, how
quotes in another language are glossed."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.extractive import GLOSS_PREFIX, excerpts, quoted, reading_order
from rag.answer.sentences import SENTENCE_WEIGHTS, Candidate, SentenceSelector, in_context, with_following
from rag.types import Passage


def passage(source: str, start: int, text: str, language: str = "en") -> Passage:
    return Passage(source=source, title=source, language=language, text=text, start=start, end=start + len(text), score=0.5)


def candidate(rank: int, start: int, end: int, score: float, index: int = 0) -> Candidate:
    return Candidate(rank, start, end, frozenset(), 0.0, 0.0, score, index)


def test_a_sentence_is_quoted_once_even_when_it_carries_its_own_quotation_marks():
    assert quoted("Clark lands in the fields.") == "“Clark lands in the fields.”"
    assert quoted('"We got to leave him for now."') == '"We got to leave him for now."'
    assert quoted("„Wo ist Clark?“") == "„Wo ist Clark?“"
    assert quoted('She said "no."') == 'She said "no."'


def test_quotes_of_one_source_are_in_reading_order_and_sources_in_order_of_their_best_quote():
    passages = [passage("b.txt", 500, "x" * 100), passage("a.txt", 900, "y" * 100), passage("b.txt", 0, "z" * 100)]
    best_first = [candidate(0, 10, 20, 0.9), candidate(1, 0, 10, 0.8), candidate(2, 50, 60, 0.7)]
    ordered = reading_order(best_first, passages)
    assert [(passages[c.passage_rank].source, passages[c.passage_rank].start + c.start) for c in ordered] == [
        ("b.txt", 50),
        ("b.txt", 510),
        ("a.txt", 900),
    ]


def test_a_quote_in_another_language_is_labelled_and_followed_by_a_marked_machine_gloss(seed_rag):
    answer = seed_rag.ask("Why did Clark lose his powers?")
    lines = answer.text.splitlines()
    german = [i for i, line in enumerate(lines) if line.startswith("(German)")]
    assert german, answer.text
    for i in german:
        assert lines[i + 1].startswith(GLOSS_PREFIX), answer.text
        assert "[" not in lines[i + 1]  # a gloss is not a cited statement


def test_a_german_question_gets_german_glosses_of_english_quotes(seed_rag):
    answer = seed_rag.ask("Wohin verbannt Clark die beiden Kryptonier?")
    lines = answer.text.splitlines()
    english = [i for i, line in enumerate(lines) if line.startswith("(English)")]
    assert english, answer.text
    assert all(lines[i + 1].startswith(GLOSS_PREFIX) for i in english), answer.text


def test_the_answering_sentence_is_quoted_even_from_the_last_retrieved_passage(seed_rag):
    """Evidence in passage 3-5 used to be ignored: sentences were taken from the top passages."""
    retriever = seed_rag.retriever()
    plan = retriever.planner.plan("Where do the Kryptonians go?")
    filler = [
        passage("f.txt", i * 1000, "Clark walks through Smallville on a quiet morning. Nothing happens there at all.")
        for i in range(4)
    ]
    answering = passage("g.txt", 0, "The weather was fine. The Kryptonians go to the Phantom Zone forever.")
    selector = SentenceSelector(retriever.index.lexical)
    chosen = selector.select(plan, [*filler, answering], limit=2)
    assert any(c.passage_rank == 4 and "Phantom Zone" in answering.text[c.start : c.end] for c in chosen)


def test_cached_sentence_vectors_equal_the_models_and_survive_eviction(seed_rag):
    import numpy as np

    from rag.embedding.meaning import CachedPassageVectors

    model = seed_rag.retriever().meaning
    cache = CachedPassageVectors(model, capacity=3)
    texts = ["Clark verliert seine Kräfte.", "Lana flieht.", "Chloe kollabiert.", "Jor-El wartet.", "Lana flieht."]
    expected = model.passage(texts)
    for _ in range(2):  # the second round meets evicted and remembered texts
        assert np.allclose(cache.passage(texts), expected, atol=1e-5)
    assert len(cache._vectors) <= 3


def test_a_sentence_is_also_read_after_the_sentence_before_it_in_its_passage():
    first = passage("a.txt", 0, "Chloe hears it all. She promises silence. Lana waits.")
    second = passage("b.txt", 0, "Jor-El speaks. He gives an ultimatum.")
    spans = [(0, 0, 19), (0, 20, 41), (0, 42, 53), (1, 0, 14), (1, 15, 37)]
    assert in_context(spans, [first, second]) == [
        "Chloe hears it all.",
        "Chloe hears it all. She promises silence.",
        "She promises silence. Lana waits.",
        "Jor-El speaks.",  # the first sentence of its passage is read alone
        "Jor-El speaks. He gives an ultimatum.",
    ]


def test_a_sentence_that_names_its_subject_only_by_a_pronoun_is_quoted_when_it_answers(seed_rag):
    """"Sie verspricht, niemandem sein Geheimnis zu verraten." answers what Chloe promises only when
    read after the sentence that names Chloe; read alone, other Chloe sentences outranked it."""
    answer = seed_rag.ask("Was verspricht Chloe, nachdem Clark ihr gestanden hat, ein Außerirdischer zu sein?")
    assert "niemandem sein Geheimnis zu verraten" in answer.text, answer.text


def test_the_best_sentences_are_quoted_with_the_sentence_that_follows_them():
    first = [candidate(0, 0, 10, 0.9, 0), candidate(0, 11, 20, 0.1, 1), candidate(0, 21, 30, 0.2, 2)]
    second = [candidate(1, 0, 10, 0.8, 0), candidate(1, 11, 20, 0.1, 1)]
    third = [candidate(2, 0, 10, 0.7, 0), candidate(2, 11, 20, 0.1, 1)]
    every = [*first, *second, *third]
    chosen = [first[0], second[0], third[0]]
    assert with_following(chosen, every, 2) == [first[0], first[1], second[0], second[1], third[0]]
    assert with_following(chosen, every, 0) == chosen
    # a following sentence already chosen is not quoted twice; the last of a passage has none
    assert with_following([first[1], first[2], first[0]], every, 3) == [first[1], first[2], first[0]]


def test_what_follows_the_sentence_that_matches_the_question_is_quoted(seed_rag):
    """The question's words match the sentence that sets the scene ("…verlässt er den Club…") and
    the sentence after it tells how the pain ends; both are needed."""
    answer = seed_rag.ask("What makes Clark hide in a phone booth after leaving a club, and how does he end the pain?")
    assert "Brust" in answer.text and "Er zieht sich den Ring aus" in answer.text, answer.text


def test_without_continuation_the_following_sentence_is_not_quoted(seed_rag):
    retriever = seed_rag.retriever()
    question = "What makes Clark hide in a phone booth after leaving a club, and how does he end the pain?"
    result = retriever.search(question, 5)
    alone = SentenceSelector(retriever.index.lexical, None, replace(SENTENCE_WEIGHTS, continued=0))
    continued = SentenceSelector(retriever.index.lexical, None, SENTENCE_WEIGHTS)
    quoted_alone = alone.select(result.plan, result.passages, 3)
    quoted_continued = continued.select(result.plan, result.passages, 3)
    assert len(quoted_continued) > len(quoted_alone)
    assert set(quoted_alone) <= set(quoted_continued)


def test_sentences_that_follow_each_other_in_a_paragraph_make_one_quote():
    text = "Clark lands. He walks home. Lana waits.\n\nMartha calls. Nobody answers."
    passages = [passage("a.txt", 100, text)]
    sentences = [
        candidate(0, 0, 12, 0.9, 0),
        candidate(0, 13, 27, 0.5, 1),
        candidate(0, 41, 54, 0.4, 3),  # after the paragraph break
        candidate(0, 28, 39, 0.3, 2),
    ]
    spans = excerpts(reading_order(sentences, passages), passages)
    assert [text[start:end] for _, start, end in spans] == [
        "Clark lands. He walks home. Lana waits.",
        "Martha calls.",
    ]
    assert excerpts(reading_order([sentences[0], sentences[2]], passages), passages) == [(0, 0, 12), (0, 41, 54)]
