"""The LLM path under a faulty server: deadlines, cut-off and over-long streams, a server that is
down, and questions that must not wait for other users' LLM calls. Against the loopback
OpenAI-protocol server (tests/support/openai_server.py), with deadlines of a second or two."""

from __future__ import annotations

import threading
import time

import pytest

from support.openai_server import OpenAICompatibleServer
from rag import AnswerDone
from rag.api import open_rag
from rag.errors import LLMError

QUESTION = "Why did Clark lose his powers?"


@pytest.fixture
def server():
    with OpenAICompatibleServer() as running:
        yield running


@pytest.fixture
def llm_rag(seed_rag, server, embedding):
    """LLM mode with short deadlines; call it with overrides for a differently configured Rag."""

    def make(**overrides):
        short_deadlines = {"llm_connect_timeout": 1.0, "llm_first_token_timeout": 1.0, "llm_timeout": 2.0}
        settings = seed_rag.settings.with_overrides(
            answer_mode="llm",
            llm_base_url=server.base_url,
            llm_api_key="k",
            **{"llm_query_translation": False, **short_deadlines, **overrides},
        )
        rag = open_rag(settings, embedding=embedding)
        rag.ask(QUESTION, mode="extractive")  # index and tokenizer loaded: timings measure the LLM path
        return rag

    return make


def timed_error(call) -> tuple[LLMError, float]:
    started = time.monotonic()
    with pytest.raises(LLMError) as raised:
        call()
    return raised.value, time.monotonic() - started


def test_a_server_that_hangs_before_answering_fails_at_the_first_token_deadline_and_says_so(llm_rag, server):
    rag = llm_rag(llm_max_retries=3, llm_timeout=10.0)
    rag.ask(QUESTION)  # one answer while the server works: the LLM path is loaded
    server.hang_before_answer = 30
    error, seconds = timed_error(lambda: rag.ask(QUESTION))
    assert seconds < 1.8  # the first-token limit (1 s) plus retrieval, no silent retry doubling it
    assert "no answer within 1 s" in str(error) and "RAG_LLM_FIRST_TOKEN_TIMEOUT" in str(error)


def test_a_server_that_trickles_tokens_fails_at_the_total_deadline_and_says_so(llm_rag, server):
    server.reply = "Clark lost his powers " + "slowly " * 100 + "[1]."
    server.chunk_delay = 0.3
    error, seconds = timed_error(lambda: llm_rag().ask(QUESTION))
    assert 1.9 < seconds < 3.0
    assert "did not finish the answer" in str(error) and "2 s per question" in str(error)
    assert "RAG_LLM_TIMEOUT" in str(error)


def test_retries_of_a_failing_server_stay_within_the_deadline(llm_rag, server):
    server.fail_with = 503
    error, seconds = timed_error(lambda: llm_rag(llm_max_retries=50).ask(QUESTION))
    assert seconds < 2.5
    assert "HTTP 503" in str(error)
    assert 2 <= len(server.requests_to("/chat/completions")) < 50


def test_translation_and_answer_share_one_deadline(llm_rag, server):
    server.hang_before_answer = 30
    rag = llm_rag(llm_query_translation=True, llm_first_token_timeout=1.0, llm_timeout=1.5)
    error, seconds = timed_error(lambda: rag.ask(QUESTION))
    assert seconds < 2.4  # not 1 s for the translation plus 1 s for the answer plus retrieval each
    assert len(server.requests_to("/chat/completions")) == 2  # the translation, then the answer


@pytest.mark.parametrize("ending", ["no_finish", "cut", "length"])
def test_a_stream_that_ends_unfinished_is_an_error_and_not_an_answer(llm_rag, server, ending):
    server.reply = "Jor-El took Clark's powers [1]."
    server.stream_ending = ending
    rag = llm_rag()
    with pytest.raises(LLMError, match="cut off"):
        rag.ask(QUESTION)
    events = []
    with pytest.raises(LLMError, match="cut off"):
        for event in rag.ask_stream(QUESTION):
            events.append(event)
    assert not any(isinstance(event, AnswerDone) for event in events)


def test_an_error_event_in_the_stream_is_an_error(llm_rag, server):
    server.stream_ending = "error"
    with pytest.raises(LLMError, match="model crashed"):
        llm_rag().ask(QUESTION)


def test_a_finished_stream_without_done_is_a_complete_answer(llm_rag, server):
    server.reply = "Jor-El took Clark's powers [1]."
    server.stream_ending = "no_done"
    answer = llm_rag().ask(QUESTION)
    assert answer.text == "Jor-El took Clark's powers [1]." and not answer.not_found


@pytest.mark.parametrize("shape", ["many small pieces", "one huge piece"])
def test_an_answer_far_beyond_max_tokens_is_not_read_to_the_end(llm_rag, server, shape):
    server.reply = "Clark [1] " + ("word " * 2_200_000 if shape == "many small pieces" else "x" * 11_000_000)
    error, seconds = timed_error(lambda: llm_rag(llm_max_tokens=64, llm_first_token_timeout=30.0, llm_timeout=30.0).ask(QUESTION))
    assert "llm_max_tokens" in str(error) and "64 tokens" in str(error)
    assert seconds < 20  # reading 11 MB would have taken far longer than the limit allows


def test_with_the_llm_down_an_off_topic_question_is_still_refused(seed_rag, embedding):
    settings = seed_rag.settings.with_overrides(
        answer_mode="llm", llm_base_url="http://127.0.0.1:9/v1", llm_api_key="k", llm_query_translation=True
    )
    rag = open_rag(settings, embedding=embedding)
    assert rag.ask("What is the boiling point of tungsten?").not_found
    with pytest.raises(LLMError, match="Cannot connect"):
        rag.ask(QUESTION)  # an on-topic question needs the model, and says it is not there


def test_hung_llm_questions_do_not_hold_up_extractive_questions(llm_rag, server):
    server.hang_before_answer = 30
    rag = llm_rag(llm_first_token_timeout=4.0, llm_timeout=4.0)
    errors: list[Exception] = []

    def ask_llm():
        try:
            rag.ask(QUESTION)
        except LLMError as error:
            errors.append(error)

    hung = [threading.Thread(target=ask_llm) for _ in range(8)]
    for thread in hung:
        thread.start()
    while len(server.requests_to("/chat/completions")) < 8:
        time.sleep(0.05)
    started = time.monotonic()
    answer = rag.ask("Where is the Fortress of Solitude?", mode="extractive")
    assert time.monotonic() - started < 2.0
    assert not answer.not_found
    assert all(thread.is_alive() for thread in hung)  # the LLM questions still wait
    for thread in hung:
        thread.join(timeout=10)
    assert len(errors) == 8 and all("sent no answer" in str(e) for e in errors), errors
