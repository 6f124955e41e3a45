"""The running app's programmatic API (`/ask`) through gradio_client, against a real subprocess."""

from __future__ import annotations

import os

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}.items():
    os.environ[_name] = _value  # before gradio_client is imported

import json  # noqa: E402
import re  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import pytest  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from support.paths import GUARD_MESSAGE  # noqa: E402

QUESTION = "Why did Clark lose his powers?"
CITATION_KEYS = {"n", "source", "title", "text", "start", "end", "score"}


@pytest.fixture(scope="module")
def client(app_server, tmp_path_factory):
    return Client(
        app_server.url,
        verbose=False,
        analytics_enabled=False,
        download_files=str(tmp_path_factory.mktemp("client-downloads")),
    )


def check_answer(result, question: str, source_dir) -> dict:
    assert isinstance(result, (list, tuple)) and len(result) == 2, result
    text, payload = result
    assert isinstance(text, str) and text.strip()
    assert isinstance(payload, dict)
    assert {"question", "answer", "mode", "not_found", "citations"} <= payload.keys(), payload.keys()
    assert payload["question"] == question
    assert payload["answer"] == text
    assert payload["mode"] == "extractive"
    assert payload["not_found"] is False
    assert payload["citations"], "the answer cites no passage"
    json.dumps(payload)  # plain JSON all the way down
    for citation in payload["citations"]:
        assert CITATION_KEYS <= citation.keys(), citation.keys()
        assert f"[{citation['n']}]" in text
        source_text = (source_dir / citation["source"]).read_text(encoding="utf-8")
        assert source_text[citation["start"] : citation["end"]] == citation["text"], citation["source"]
        assert citation["title"].strip()
        assert isinstance(citation["score"], float)
    return payload


def test_ask_returns_answer_and_citations_that_match_the_sources(client, app_server):
    result = client.predict(QUESTION, 5, api_name="/ask")
    payload = check_answer(result, QUESTION, app_server.source_dir)
    assert [c["n"] for c in payload["citations"]] == list(range(1, len(payload["citations"]) + 1))
    assert all(c["source"].startswith(("000_", "001_", "002_")) for c in payload["citations"])


def test_top_k_is_optional(client, app_server):
    check_answer(client.predict(QUESTION, api_name="/ask"), QUESTION, app_server.source_dir)


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_a_clear_error_and_the_app_keeps_serving(client, app_server, question):
    with pytest.raises(AppError) as raised:
        client.predict(question, 5, api_name="/ask")
    message = str(raised.value)
    assert "empty" in message.lower(), message
    assert "Traceback" not in message
    check_answer(client.predict(QUESTION, 5, api_name="/ask"), QUESTION, app_server.source_dir)


def test_api_lists_ask(client):
    api = client.view_api(print_info=False, return_format="dict")
    endpoints = api["named_endpoints"]
    assert "/ask" in endpoints, endpoints.keys()
    assert [p["parameter_name"] for p in endpoints["/ask"]["parameters"]] == ["question", "top_k"]
    # The chat handlers are private: only /ask is part of the public API.
    assert list(endpoints) == ["/ask"], endpoints.keys()
    assert not api["unnamed_endpoints"]


def test_two_concurrent_callers_both_get_answers(app_server, tmp_path):
    questions = [QUESTION, "Who is Morgan Edge?"]

    def call(question: str):
        # One client per thread, like two independent tools calling the app at once.
        own = Client(app_server.url, verbose=False, analytics_enabled=False, download_files=str(tmp_path))
        return own.predict(question, 5, api_name="/ask")

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(call, questions))
    for question, result in zip(questions, results):
        check_answer(result, question, app_server.source_dir)


def test_concurrent_calls_on_one_client(client, app_server):
    jobs = [client.submit(QUESTION, 5, api_name="/ask") for _ in range(4)]
    for job in jobs:
        check_answer(job.result(timeout=120), QUESTION, app_server.source_dir)


# The final line of a traceback: "package.module.SomeError: message" at the start of a line.
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Refused)\w*)(?::|$)", re.MULTILINE)
# The app raises gr.Error(..., print_exception=False): a rejected question leaves no traceback.
EXPECTED_EXCEPTIONS: set[str] = set()


def test_app_made_no_outbound_connection_attempt_and_logged_no_unexpected_error(client, app_server):
    # Runs last in this module: by now the app has ingested, answered and served the API.
    client.predict(QUESTION, 5, api_name="/ask")
    assert app_server.alive()
    log = app_server.log_text()
    assert GUARD_MESSAGE not in log
    assert "unexpected error" not in log
    unexpected = set(EXCEPTION_LINE.findall(log)) - EXPECTED_EXCEPTIONS
    assert not unexpected, log
