"""The CLI with hostile documents, hostile input and a faulty LLM server: control sequences are
shown not executed, one bad line fails alone, bad arguments get specific messages, and an answer
that was cut off is an error."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.openai_server import OpenAICompatibleServer
from support.settings import make_settings
from rag.api import open_rag
from test_cli import run_cli

ESCAPES = "\x1b]0;pwned\x07 \x1b[2J \x1b[31mred\x1b[0m \x9b31m \u202eevil\u202c \r"
ACTING = ["\x1b", "\x07", "\x9b", "\u202e", "\r"]


@pytest.fixture(scope="module")
def store(seed_rag):
    """The session's seed store (the CLI only reads it)."""
    return seed_rag.settings.store_dir


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory, embedding):
    folder = tmp_path_factory.mktemp("hostile_docs")
    (folder / "crystals.txt").write_text(
        f"Krypton Crystals {ESCAPES}\n\nThe Krypton crystals {ESCAPES} grow the Fortress of Solitude in the Arctic.\n",
        encoding="utf-8",
    )
    (folder / "other.txt").write_text("Metropolis is a city with a daily newspaper, the Daily Planet.\n", encoding="utf-8")
    store_dir = tmp_path_factory.mktemp("hostile_store")
    open_rag(make_settings(store_dir).with_overrides(source_dir=folder), embedding=embedding).ingest(folder)
    return store_dir


@pytest.mark.parametrize("command", ["retrieve", "ask"])
def test_control_sequences_from_documents_are_shown_not_executed(hostile_store, command):
    result = run_cli(command, "What grows the Fortress of Solitude from Krypton crystals?", store=hostile_store)
    assert result.returncode == 0, result.stderr
    assert "Krypton" in result.stdout and "␛" in result.stdout
    assert not any(character in result.stdout for character in ACTING)


@pytest.mark.parametrize("command", ["retrieve", "ask"])
def test_json_output_escapes_every_control_character_and_keeps_the_exact_text(hostile_store, command):
    result = run_cli(command, "What grows the Fortress of Solitude from Krypton crystals?", "--json", store=hostile_store)
    assert result.returncode == 0, result.stderr
    assert not any(character in result.stdout for character in ACTING)
    data = json.loads(result.stdout)
    texts = [item["text"] for item in data.get("passages", data.get("citations", []))]
    # the data itself is unchanged (a lone CR is a line end, as Python's text mode reads it)
    assert any(ESCAPES.replace("\r", "\n") in text for text in texts)


def test_a_batch_line_that_is_not_utf8_fails_alone(store):
    lines = b"Why did Clark lose his powers?\n\xff\xfe Clark\nWhere is the Fortress of Solitude?\n"
    result = run_cli("ask", "-", "--json", stdin=lines, store=store, text=False)
    assert result.returncode == 1, result.stderr
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [("error" in row) for row in rows] == [False, True, False]
    assert "Line 2 is not UTF-8 text (byte 0xff at position 1)" in rows[1]["error"]
    human = run_cli("retrieve", "-", stdin=lines, store=store, text=False)
    assert human.returncode == 1
    assert human.stderr.decode().count("error:") == 1 and b"Traceback" not in human.stderr


def test_a_question_with_bytes_that_are_not_utf8_is_one_clear_error(store):
    result = run_cli("ask", "Why did Clark lose his powers?\udcff", store=store)  # argv byte 0xff
    assert result.returncode == 2
    assert "invalid character at position 31" in result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--top-k", "0"], "top_k must be a whole number from 1 to 50; got '0'"),
        (["--top-k", "-3"], "top_k must be a whole number from 1 to 50; got '-3'"),
        (["--top-k", "many"], "top_k must be a whole number from 1 to 50; got 'many'"),
        (["--filter-source", "nope.txt"], "No document 'nope.txt' in the index at"),
    ],
)
def test_bad_arguments_get_specific_messages(store, arguments, message):
    result = run_cli("retrieve", "Phantom Zone", *arguments, store=store)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    if "--filter-source" in arguments:
        assert str(store) in result.stderr  # the index in use, not a default or a temporary path


def test_a_store_path_that_is_a_file_is_named_as_such(tmp_path):
    not_a_folder = tmp_path / "store.txt"
    not_a_folder.write_text("x", encoding="utf-8")
    result = run_cli("ask", "Who is Jor-El?", store=not_a_folder)
    assert result.returncode == 2
    assert f"The store location {not_a_folder} is a file, not a folder" in result.stderr


@pytest.mark.parametrize("ending", ["no_finish", "cut"])
def test_an_llm_answer_that_was_cut_off_is_an_error_not_an_answer(store, ending):
    with OpenAICompatibleServer(reply="Jor-El took Clark's powers [1].", stream_ending=ending) as server:
        result = run_cli(
            "ask", "Why did Clark lose his powers?", "--mode", "llm", store=store,
            env_extra={"RAG_LLM_BASE_URL": server.base_url, "RAG_LLM_API_KEY": "k", "RAG_LLM_QUERY_TRANSLATION": "false"},
        )
    assert result.returncode == 2
    assert "cut off" in result.stderr and result.stdout == ""


LINE = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\x00\x00", b"\x1b[2J", b"  ", b"\xc3", "Wer ist Morgan Edge?".encode()]),
).map(lambda line: line.replace(b"\n", b" "))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=5, max_size=25))
def test_a_batch_of_arbitrary_bytes_gets_one_result_per_question_and_no_traceback(store, lines):
    lines = [*lines, b"Why did Clark lose his powers?"]
    result = run_cli("ask", "-", "--json", stdin=b"\n".join(lines) + b"\n", store=store, text=False)
    assert result.returncode in (0, 1), result.stderr
    assert b"Traceback" not in result.stderr and b"unexpected" not in result.stderr
    questions = [line for line in lines if _is_a_question(line)]
    rows = [json.loads(row) for row in result.stdout.decode().splitlines()]
    assert len(rows) == len(questions)
    assert all(("error" in row) != ("answer" in row) for row in rows)
    assert rows[-1]["citations"] and not rows[-1]["not_found"]  # the store still answers


def _is_a_question(line: bytes) -> bool:
    """What the CLI reads as a line to answer: not UTF-8 (an error), or not blank."""
    try:
        return bool(line.rstrip(b"\r").decode("utf-8").strip())
    except UnicodeDecodeError:
        return True
