"""Whatever is thrown at a question (text, bytes, surrogates, control characters, NULs, huge
strings, odd top_k and source filters), the API answers or raises a specific ``RagError``, and the
store answers normally afterwards."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.errors import InvalidArgumentError, InvalidQuestionError, RagError
from rag.types import Answer

NASTY_CHARACTERS = st.sampled_from(["\ud800", "\udcff", "\x00", "\x1b", "\x1b[2J", "\x9b", "\u202e", "\r", "\ufeff"])
QUESTION_TEXT = st.lists(st.one_of(st.characters(), NASTY_CHARACTERS, st.sampled_from([" Clark ", " powers "]))).map("".join)
ANYTHING = st.one_of(QUESTION_TEXT, st.binary(), st.none(), st.integers(), st.floats(), st.lists(st.text(max_size=5)))
PROPERTY_TEST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def still_answers(rag) -> None:
    answer = rag.ask("Why did Clark lose his powers?")
    assert not answer.not_found and answer.citations


@PROPERTY_TEST
@given(question=ANYTHING)
@example(question="x" * 1_000_000)
@example(question="\x00" * 50)
@example(question="Why did Clark lose his powers?\udcff")
@example(question=b"Why did Clark lose his powers?")
def test_any_question_gets_an_answer_or_a_specific_error(seed_rag, question):
    try:
        result = seed_rag.ask(question)
    except RagError as error:
        assert str(error) and isinstance(error, InvalidQuestionError), error
    else:
        assert isinstance(result, Answer) and isinstance(question, str)
    try:
        seed_rag.retrieve(question)
    except InvalidQuestionError:
        pass
    still_answers(seed_rag)


def test_the_store_still_answers_after_the_fuzzing(seed_rag):
    for question in ["\x00", "\ud800", "x" * 100_000, b"\xff"]:
        with pytest.raises(InvalidQuestionError):
            seed_rag.ask(question)
    still_answers(seed_rag)


@PROPERTY_TEST
@given(top_k=st.one_of(st.integers(-10**20, 10**20), st.text(max_size=8), st.floats(), st.booleans(), st.none()))
@example(top_k="abc")
@example(top_k="3")
@example(top_k=0)
@example(top_k=-3)
def test_any_top_k_is_used_within_its_bounds_or_refused_with_its_bounds(seed_rag, top_k):
    try:
        passages = seed_rag.retrieve("Phantom Zone", top_k=top_k)
    except InvalidArgumentError as error:
        assert "top_k must be a whole number from 1 to 50" in str(error)
    else:
        assert 1 <= len(passages) <= (seed_rag.settings.top_k if top_k is None else int(top_k))


@PROPERTY_TEST
@given(sources=st.one_of(st.lists(st.sampled_from(["000_10d9073bc3f8410e.txt", "nope.txt", "", "../etc/passwd"])),
                         st.integers(), st.lists(st.integers(), min_size=1)))
def test_a_source_filter_names_known_documents_or_is_refused_naming_the_index(seed_rag, sources):
    try:
        passages = seed_rag.retrieve("Clark", sources=sources)
    except InvalidArgumentError as error:
        assert "No document" in str(error) and str(seed_rag.settings.store_dir) in str(error) or "sources must" in str(error)
    else:
        allowed = set(sources) if sources else None
        assert allowed is None or all(p.source in allowed for p in passages)
