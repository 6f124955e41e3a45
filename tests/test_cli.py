"""The CLI as scripts use it: JSON shapes, stdin batches, exit codes, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.environment import child_environment
from support.paths import REPO, SEEDS


LOCATION_FIELDS = ("page", "page_start", "page_end", "section")  # null for plain text


def run_cli(*args, store, stdin=None, env_extra=None, text=True):
    return subprocess.run(
        [sys.executable, "-m", "rag", *args, "--store", str(store)],
        input=stdin,
        capture_output=True,
        text=text,
        encoding="utf-8" if text else None,  # the CLI writes UTF-8 whatever the test's locale is
        cwd=REPO,
        env=child_environment(env_extra),
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli_store")
    result = run_cli("ingest", "--source", str(SEEDS), "--no-progress", store=store)
    assert result.returncode == 0, result.stderr
    assert "3 added" in result.stdout
    return store


def source_slice(item):
    return (SEEDS / item["source"]).read_text(encoding="utf-8")[item["start"] : item["end"]]


def test_ask_json_has_the_documented_fields_and_exact_offsets(cli_store):
    result = run_cli("ask", "Why did Clark lose his powers?", "--json", store=cli_store)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"question", "answer", "mode", "not_found", "citations"} <= set(data)
    assert data["mode"] == "extractive" and data["not_found"] is False
    assert data["citations"], data
    for citation in data["citations"]:
        assert set(citation) == {"n", "source", "title", "text", "start", "end", "score", *LOCATION_FIELDS}
        assert source_slice(citation) == citation["text"]
    assert any(c["source"].startswith("000_") for c in data["citations"])


def test_retrieve_json_has_the_documented_fields_and_exact_offsets(cli_store):
    result = run_cli("retrieve", "Phantom Zone", "--json", "--top-k", "3", store=cli_store)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == "Phantom Zone"
    assert 1 <= len(data["passages"]) <= 3
    for passage in data["passages"]:
        assert set(passage) == {"source", "title", "text", "start", "end", "score", *LOCATION_FIELDS}
        assert source_slice(passage) == passage["text"]


def test_a_dash_reads_one_question_per_line_and_writes_one_result_per_line(cli_store):
    questions = "Why did Clark lose his powers?\nWer ist Morgan Edge?\n\nWhere is the Fortress of Solitude?\n"
    result = run_cli("ask", "-", "--json", stdin=questions, store=cli_store)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().split("\n")
    assert [json.loads(line)["question"] for line in lines] == [
        "Why did Clark lose his powers?",
        "Wer ist Morgan Edge?",
        "Where is the Fortress of Solitude?",
    ]


def test_human_output_shows_the_answer_then_numbered_sources(cli_store):
    result = run_cli("ask", "Why did Clark lose his powers?", store=cli_store)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("Sources:")
    assert "[1]" in answer
    assert "[1] " in sources and "000_10d9073bc3f8410e.txt" in sources


def test_a_reader_that_stops_early_is_not_an_error(cli_store):
    command = [sys.executable, "-m", "rag", "retrieve", "-", "--store", str(cli_store)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=child_environment()
    )
    process.stdin.write(("Who is Jor-El?\n" * 2000).encode())
    process.stdin.close()
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0, stderr
    assert "error" not in stderr.lower()


def test_asking_a_missing_store_explains_how_to_ingest(tmp_path):
    result = run_cli("ask", "Why did Clark lose his powers?", store=tmp_path / "nothing")
    assert result.returncode == 2
    assert "python -m rag ingest" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_question_fails_cleanly(cli_store):
    result = run_cli("ask", "  ", store=cli_store)
    assert result.returncode == 2
    assert "empty" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_llm_server_fails_cleanly(cli_store):
    result = run_cli(
        "ask", "Why did Clark lose his powers?", "--mode", "llm", store=cli_store,
        env_extra={"RAG_LLM_BASE_URL": "http://127.0.0.1:9/v1", "RAG_LLM_API_KEY": "k", "RAG_LLM_MAX_RETRIES": "0"},
    )
    assert result.returncode == 2
    assert "Cannot connect" in result.stderr and "Traceback" not in result.stderr


def test_ingesting_a_non_utf8_file_fails_cleanly_and_names_it(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_bytes("Grüße".encode("latin-1"))
    result = run_cli("ingest", "--source", str(folder), store=tmp_path / "store")
    assert result.returncode == 2
    assert "notes.txt: it is not UTF-8 text" in result.stderr and "Traceback" not in result.stderr


def test_the_whole_pipeline_runs_with_the_network_unreachable(cli_store, tmp_path):
    """Fresh process, no offline variables set by the caller, every non-loopback connection refused:
    ingest, retrieve and ask still work (tiktoken, NLTK, Hugging Face, Chroma need no download)."""
    store = tmp_path / "offline_store"
    ingest = run_cli("ingest", "--source", str(SEEDS), "--no-progress", store=store,
                     env_extra={"TIKTOKEN_CACHE_DIR": str(tmp_path / "empty-cache")})
    assert ingest.returncode == 0, ingest.stderr
    ask = run_cli("ask", "Who was banished to the Phantom Zone?", "--json", store=store)
    assert ask.returncode == 0, ask.stderr
    assert "test network guard" not in ask.stderr
    assert json.loads(ask.stdout)["citations"]


def test_the_network_guard_really_refuses_outside_connections():
    code = "import socket; socket.create_connection(('93.184.216.34', 80), timeout=2)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_environment())
    assert result.returncode != 0 and "test network guard" in result.stderr


def test_the_collector_stays_paused_after_the_one_answer_of_a_process_and_resumes_in_a_batch():
    """A process that prints one answer and exits keeps the collector paused after it (collections
    would only scan what the exit frees); a batch of questions resumes it after the first."""
    import gc

    from rag.runtime.gcpause import first_use

    assert gc.isenabled()
    try:
        with first_use(process_ends=True):
            assert not gc.isenabled()
        assert not gc.isenabled()
        gc.enable()
        with first_use():
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()  # first_use froze the test process's objects
