"""The running app's programmatic API (`/ask`, `/documents`, `/add_documents`, `/reingest_document`,
`/remove_document`) through gradio_client, against a real subprocess."""

from __future__ import annotations

import os

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}.items():
    os.environ[_name] = _value  # before gradio_client is imported

import json  # noqa: E402
import time  # noqa: E402
import re  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import pytest  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from support.paths import GUARD_MESSAGE, SEEDS  # noqa: E402

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
    assert [p["parameter_name"] for p in endpoints["/remove_document"]["parameters"]] == ["source", "delete_file"]
    assert endpoints["/remove_document"]["parameters"][1]["parameter_default"] is False
    assert [p["parameter_name"] for p in endpoints["/reingest_document"]["parameters"]] == ["source"]
    assert not endpoints["/documents"]["parameters"]
    # The page's handlers are private: only the tool endpoints are part of the public API.
    assert sorted(endpoints) == [
        "/add_documents", "/ask", "/documents", "/reingest_document", "/remove_document"
    ], endpoints.keys()
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


DOCUMENT_KEYS = {"source", "title", "format", "language", "chunks"}


def document_sources(client) -> list[str]:
    documents = client.predict(api_name="/documents")
    assert isinstance(documents, list) and documents
    for document in documents:
        assert DOCUMENT_KEYS <= document.keys(), document
        assert document["chunks"] > 0 and document["format"] in {"Text", "Markdown"}
    return [d["source"] for d in documents]


def test_documents_lists_the_indexed_documents_as_json(client, app_server):
    sources = document_sources(client)
    assert sorted(sources) == sorted(p.name for p in app_server.source_dir.glob("*.txt"))


def test_add_documents_adds_the_good_files_and_names_each_bad_one(client, app_server, tmp_path):
    good = tmp_path / "api_ferry.md"
    good.write_text("# Ferry timetable\n\nThe ferry to the lighthouse leaves at nine.\n", encoding="utf-8")
    latin = tmp_path / "api_latin.txt"
    latin.write_bytes("Grüße vom Fährmann.\n".encode("latin-1"))
    empty = tmp_path / "api_empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    result = client.predict([handle_file(str(p)) for p in (good, latin, empty)], False, api_name="/add_documents")
    assert result["added"] == ["api_ferry.md"], result
    reasons = {r["name"]: r["reason"] for r in result["rejected"]}
    assert set(reasons) == {"api_latin.txt", "api_empty.txt"}, reasons
    assert "UTF-8" in reasons["api_latin.txt"] and "iconv" not in reasons["api_latin.txt"]
    assert all(str(tmp_path) not in r and "/tmp/" not in r for r in reasons.values()), reasons
    assert "api_ferry.md" in document_sources(client)
    # The same name again is not replaced unless asked for.
    good.write_text("# Ferry timetable\n\nThe ferry now leaves at ten.\n", encoding="utf-8")
    again = client.predict([handle_file(str(good))], False, api_name="/add_documents")
    assert again["added"] == [] and "replace=True" in again["rejected"][0]["reason"]
    assert "nine" in (app_server.source_dir / "api_ferry.md").read_text(encoding="utf-8")
    replaced = client.predict([handle_file(str(good))], True, api_name="/add_documents")
    assert replaced["added"] == ["api_ferry.md"]
    assert "ten" in (app_server.source_dir / "api_ferry.md").read_text(encoding="utf-8")


def test_remove_document_keeps_the_file_unless_deletion_is_asked_for(client, app_server, tmp_path):
    for name in ("api_keep.txt", "api_delete.txt"):
        (tmp_path / name).write_text(f"The {name} note mentions the harbour master.\n", encoding="utf-8")
    client.predict([handle_file(str(tmp_path / n)) for n in ("api_keep.txt", "api_delete.txt")], False, api_name="/add_documents")
    kept = client.predict("api_keep.txt", api_name="/remove_document")
    assert kept["file_deleted"] is False
    assert (app_server.source_dir / "api_keep.txt").is_file()
    assert "api_keep.txt" not in document_sources(client)
    deleted = client.predict("api_delete.txt", True, api_name="/remove_document")
    assert deleted["file_deleted"] is True
    assert not (app_server.source_dir / "api_delete.txt").exists()
    assert "api_delete.txt" not in document_sources(client)


def test_reingest_document_updates_a_changed_file_and_says_unchanged_otherwise(client, app_server, tmp_path):
    notes = tmp_path / "api_tides.md"
    notes.write_text("# Tide table\n\nHigh tide at the harbour is at six.\n", encoding="utf-8")
    client.predict([handle_file(str(notes))], False, api_name="/add_documents")
    chunks = {d["source"]: d["chunks"] for d in client.predict(api_name="/documents")}
    unchanged = client.predict("api_tides.md", api_name="/reingest_document")
    assert unchanged["outcome"] == "unchanged" and unchanged["chunks_embedded"] == 0, unchanged
    assert unchanged["chunks"] == unchanged["chunks_before"] == chunks["api_tides.md"]
    assert "unchanged" in unchanged["summary"]

    path = app_server.source_dir / "api_tides.md"
    path.write_text(
        path.read_text(encoding="utf-8") + "\nThe harbour master Quillfeather moved the tide gauge to the north pier.\n",
        encoding="utf-8",
    )
    updated = client.predict("api_tides.md", api_name="/reingest_document")
    assert updated["source"] == "api_tides.md" and updated["outcome"] == "updated", updated
    assert updated["chunks_embedded"] > 0 and updated["chunks"] >= 1
    assert {d["source"]: d["chunks"] for d in client.predict(api_name="/documents")}["api_tides.md"] == updated["chunks"]
    question = "Where did Quillfeather move the tide gauge?"
    payload = check_answer(client.predict(question, 5, api_name="/ask"), question, app_server.source_dir)
    assert any(c["source"] == "api_tides.md" and "Quillfeather" in c["text"] for c in payload["citations"]), payload

    path.unlink()
    with pytest.raises(AppError) as raised:
        client.predict("api_tides.md", api_name="/reingest_document")
    message = str(raised.value)
    assert "api_tides.md is no longer in the folder" in message and "Remove it from the index" in message, message
    assert [d for d in client.predict(api_name="/documents") if d["source"] == "api_tides.md"][0]["present"] is False
    client.predict("api_tides.md", api_name="/remove_document")
    assert "api_tides.md" not in document_sources(client)


def test_reingest_document_of_a_source_not_in_the_index_is_a_clear_error(client):
    with pytest.raises(AppError) as raised:
        client.predict("nothing-here.txt", api_name="/reingest_document")
    assert "not in the index" in str(raised.value) and "Traceback" not in str(raised.value)


def test_remove_document_of_an_unknown_source_is_a_clear_error(client):
    with pytest.raises(AppError) as raised:
        client.predict("../../etc/passwd", True, api_name="/remove_document")
    assert "not" in str(raised.value) and "Traceback" not in str(raised.value)


def long_document(paragraphs: int) -> str:
    """English text whose chunks all differ (identical chunks would be embedded once)."""
    english = (SEEDS / "002_835fa61d1c21454d.txt").read_text(encoding="utf-8").split()
    return "\n\n".join(
        f"Log entry {i}: " + " ".join(english[(i * 37) % (len(english) - 120) :][:120]) for i in range(paragraphs)
    )


def test_questions_are_answered_while_an_upload_is_ingested(client, app_server, tmp_path):  # noqa: F811
    big = tmp_path / "api_long_log.txt"
    big.write_text(long_document(600), encoding="utf-8")
    upload = client.submit([handle_file(str(big))], False, api_name="/add_documents")
    time.sleep(3)  # the upload is copied and its ingest has begun (600 paragraphs take far longer)
    asked = Client(app_server.url, verbose=False, analytics_enabled=False, download_files=str(tmp_path))
    answer = asked.submit(QUESTION, 5, api_name="/ask")
    answer.result(timeout=600)
    assert not upload.done(), "the question was answered only after the upload had been ingested"
    assert upload.result(timeout=600)["added"] == ["api_long_log.txt"]


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
