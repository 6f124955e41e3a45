"""The command line with documents of every format: `ingest` names skipped files, `retrieve --json`
and `ask --json` carry "page" and "section", and `python -m rag source SOURCE` prints the exact
text their offsets index, so a script can check ``text == source[start:end]``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import documents as files
from support.environment import child_environment
from support.paths import REPO


def run_cli(*args: str, store: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """``python -m rag ARGS --store STORE`` in a fresh process (support.environment: this
    checkout's ``rag``, the network guard, none of the caller's RAG_* settings)."""
    return subprocess.run(
        [sys.executable, "-m", "rag", *args, "--store", str(store)],
        input=stdin, capture_output=True, cwd=REPO, env=child_environment(), timeout=600,
    )


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> tuple[Path, Path, str]:
    """A folder of every format plus two bad files, ingested by the CLI: (folder, store, stdout)."""
    root = tmp_path_factory.mktemp("cli_formats")
    folder = root / "docs"
    (folder / "sub").mkdir(parents=True)
    files.make_pdf(folder / "kueste.pdf")
    files.make_docx(folder / "sub" / "betrieb.docx")
    files.make_html(folder / "garten.html")
    files.make_markdown(folder / "leitfaden.md")
    (folder / "notiz.txt").write_text("Die Notiz erinnert an den Termin beim Hafenmeister.\n", encoding="utf-8")
    files.make_scanned_pdf(folder / "scan.pdf")
    files.make_renamed_zip(folder / "archiv.docx")
    store = root / "store"
    result = run_cli("ingest", "--source", str(folder), "--no-progress", store=store)
    assert result.returncode == 0, result.stderr.decode()
    return folder, store, result.stdout.decode("utf-8")


def test_ingest_lists_the_skipped_files_with_their_reasons(ingested):
    _folder, _store, stdout = ingested
    assert "5 added" in stdout and "2 skipped" in stdout
    assert "skipped scan.pdf: it has no text layer (scanned?); run OCR on it first" in stdout
    assert "skipped archiv.docx: it is a ZIP archive, not a Word document" in stdout


@pytest.mark.parametrize("source", ["kueste.pdf", "sub/betrieb.docx", "garten.html", "leitfaden.md", "notiz.txt"])
def test_source_prints_exactly_the_text_the_offsets_index(ingested, source):
    """Run from the repository, with only --store: the store remembers the folder it was ingested from."""
    from rag.ingest.formats import extract

    folder, store, _ = ingested
    result = run_cli("source", source, store=store)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode("utf-8") == extract(folder / source).text


def test_source_of_a_file_that_is_not_there_is_one_clear_line(ingested):
    _folder, store, _ = ingested
    result = run_cli("source", "nirgends.pdf", store=store)
    assert result.returncode == 2
    message = result.stderr.decode()
    assert message.startswith("error: 'nirgends.pdf' is not a file of") and "Traceback" not in message


def test_retrieve_and_ask_json_carry_page_and_section_and_slice_the_source(ingested):
    _folder, store, _ = ingested
    texts: dict[str, str] = {}
    questions = "\n".join(["Wie oft blinkt der Leuchtturm?", "Wann wird der Teich gereinigt?",
                           "Wie groß ist das Modell ohne Netz?", "What happens without a network?"])
    retrieved = run_cli("retrieve", "-", "--json", "--top-k", "6", store=store, stdin=questions.encode())
    assert retrieved.returncode == 0, retrieved.stderr.decode()
    items = [p for line in retrieved.stdout.decode().splitlines() for p in json.loads(line)["passages"]]
    asked = run_cli("ask", "Wie oft blinkt der Leuchtturm?", "--json", store=store)
    assert asked.returncode == 0, asked.stderr.decode()
    items += json.loads(asked.stdout)["citations"]
    assert items
    for item in items:
        assert {"page", "page_start", "page_end", "section"} <= set(item)
        if item["source"] not in texts:
            texts[item["source"]] = run_cli("source", item["source"], store=store).stdout.decode("utf-8")
        assert texts[item["source"]][item["start"] : item["end"]] == item["text"]
        if item["source"].endswith(".pdf"):
            assert item["page"] == "1-3" and (item["page_start"], item["page_end"]) == (1, 3)
        else:
            assert item["page"] is None and item["page_start"] is None
        if item["source"] == "notiz.txt":
            assert item["section"] is None
    assert any(item["source"] == "garten.html" and item["section"] == "Gärten" for item in items)
