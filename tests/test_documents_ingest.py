"""Documents as people have them (issue 16): PDF, DOCX, HTML, Markdown and text ingested from a
folder tree, every passage locating itself (page, section) with offsets into the extracted text
that ``Rag.source_text`` returns; bad files skipped with their reasons; extractions cached."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from support import documents as files
from support.settings import make_settings
from rag.errors import CorpusError
from rag.ingest import extraction_cache
from rag.ingest.documents import read_documents
from rag.ingest.formats import extract
from rag.types import SECTION_SEPARATOR, Location, Passage

QUESTIONS = [
    "How often does the lighthouse of Süderoog flash?",
    "Wie oft blinkt der Leuchtturm?",
    "Wer führt das Logbuch?",
    "Wie groß ist das Modell ohne Netz?",
    "Wann wird der Teich gereinigt?",
    "What happens without a network?",
    "What is the MIME type of a mount point?",
    "Wo steht die Schubkarre?",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """One file of every format, one in a subfolder, and a PDF a Debian package installs."""
    folder = tmp_path_factory.mktemp("formats") / "docs"
    (folder / "handbuecher" / "technik").mkdir(parents=True)
    files.make_pdf(folder / "kueste.pdf")
    files.make_docx(folder / "handbuecher" / "betrieb.docx")
    files.make_html(folder / "garten.html")
    files.make_markdown(folder / "handbuecher" / "technik" / "leitfaden.md")
    (folder / "notiz.txt").write_text("Die Notiz erinnert an den Termin beim Hafenmeister am Montag.\n", encoding="utf-8")
    installed = files.installed_pdf()
    if installed is not None:
        shutil.copyfile(installed, folder / "handbuecher" / "spec.pdf")
    return folder


@pytest.fixture(scope="module")
def corpus_rag(corpus, tmp_path_factory, embedding):
    from rag.api import open_rag

    rag = open_rag(make_settings(tmp_path_factory.mktemp("formats_store")), embedding=embedding)
    rag.ingest(corpus, progress=False)
    return rag


def expected_location(corpus: Path, passage: Passage) -> Location:
    """Where the passage lies according to the reader itself, for every chunk it joins."""
    document = extract(corpus / passage.source)
    pages = document.page_range(passage.start, passage.end)
    path = document.section_at(passage.start)
    return Location(
        page_start=pages[0] if pages else None,
        page_end=pages[1] if pages else None,
        section=SECTION_SEPARATOR.join(path) if path else None,
    )


def test_every_format_in_the_folder_tree_is_ingested(corpus_rag, corpus):
    sources = {d["source"] for d in corpus_rag.info().documents}
    expected = {"kueste.pdf", "handbuecher/betrieb.docx", "garten.html", "handbuecher/technik/leitfaden.md", "notiz.txt"}
    if (corpus / "handbuecher" / "spec.pdf").exists():
        expected.add("handbuecher/spec.pdf")
    assert sources == expected
    titles = {d["source"]: d["title"] for d in corpus_rag.info().documents}
    assert titles["kueste.pdf"] == files.PDF_TITLE and titles["garten.html"] == "Gärten und Teiche"


def test_every_passage_slices_the_source_text_exactly_and_says_where_it_is(corpus_rag, corpus):
    seen_formats = set()
    for question in QUESTIONS:
        passages = corpus_rag.retrieve(question, top_k=6)
        answer = corpus_rag.ask(question, top_k=6)
        for passage in passages + [c.passage for c in answer.citations]:
            text = corpus_rag.source_text(passage.source)
            assert text[passage.start : passage.end] == passage.text, (question, passage.source)
            assert passage.location == expected_location(corpus, passage), (question, passage.source, passage.start)
            seen_formats.add(Path(passage.source).suffix)
    assert {".pdf", ".docx", ".html", ".md"} <= seen_formats


def test_every_stored_chunk_carries_its_pages_and_section(corpus_rag, corpus):
    """Chunks never straddle a page break without saying so: page_start/page_end are the first and
    last page the chunk's characters are on."""
    chunks = corpus_rag.store().current_chunks()
    straddling = 0
    for chunk in chunks:
        meta = chunk.metadata
        document = extract(corpus / meta["source"])
        assert document.text[meta["start"] : meta["end"]] == chunk.text
        passage = Passage(source=meta["source"], title="", language="und", text=chunk.text,
                          start=meta["start"], end=meta["end"], score=0.0)
        assert Location.from_metadata(meta) == expected_location(corpus, passage)
        if document.format == "pdf":
            first, last = document.page_range(meta["start"], meta["end"])
            straddling += first != last
            assert Location.from_metadata(meta).page == (str(first) if first == last else f"{first}-{last}")
        else:
            assert "page_start" not in meta and "page_end" not in meta
    assert straddling >= 1  # kueste.pdf's paragraph runs from page 1 onto page 2


def topic_at(chunk_text: str) -> str:
    """The section a chunk of the long documents starts in: its heading, or the topic its first
    sentence names ("Satz 3 über Offline use ...")."""
    stripped = chunk_text.lstrip("# \n")
    for _, heading in files.LONG_SECTIONS:
        if stripped.startswith(heading):
            return heading
    return re.search(r"über (.+?) nennt", chunk_text)[1]


@pytest.mark.parametrize("maker", [files.make_long_markdown, files.make_long_docx, files.make_long_html])
def test_sections_of_markdown_docx_and_html_are_heading_paths(maker, tmp_path, fresh_rag):
    """Every chunk says the heading path it starts under, e.g. 'Installation › Offline use › Details';
    a question about a deep section finds a passage under that path."""
    folder = tmp_path / "docs"
    folder.mkdir()
    suffix = {"make_long_markdown": ".md", "make_long_docx": ".docx", "make_long_html": ".html"}[maker.__name__]
    maker(folder / f"lang{suffix}")
    rag = fresh_rag()
    rag.ingest(folder, progress=False)
    chunks = rag.store().current_chunks()
    assert len(chunks) >= 8
    text = rag.source_text(f"lang{suffix}")
    for chunk in chunks:
        start = chunk.metadata["start"]
        topic = topic_at(chunk.text)
        assert chunk.metadata["section"] == files.LONG_PATHS[topic], (start, chunk.text[:60])
    assert {c.metadata["section"] for c in chunks} == set(files.LONG_PATHS.values())
    found = rag.retrieve("Satz 20 über Details nennt die Größe 140", top_k=3)
    assert found[0].section == files.LONG_PATHS["Details"]
    assert text[found[0].start : found[0].end] == found[0].text


def test_pdf_passages_name_their_pages(corpus_rag):
    [passage] = [p for p in corpus_rag.retrieve("Leuchtturm Süderoog", top_k=6) if p.source == "kueste.pdf"]
    assert passage.page_start == 1 and passage.page_end == 3 and passage.page == "1-3"
    assert passage.to_json()["page"] == "1-3" and passage.to_json()["section"] == passage.section


def test_plain_text_passages_have_no_page_or_section(corpus_rag):
    [passage] = [p for p in corpus_rag.retrieve("Termin beim Hafenmeister", top_k=6) if p.source == "notiz.txt"]
    assert passage.page is None and passage.section is None
    json = passage.to_json()
    assert json["page"] is None and json["section"] is None


def test_a_real_pdf_from_a_debian_package_has_pages_and_sections(corpus_rag, corpus):
    if not (corpus / "handbuecher" / "spec.pdf").exists():
        pytest.skip(f"no PDF installed by a Debian package (looked for {files.INSTALLED_PDFS})")
    passages = [p for p in corpus_rag.retrieve("mount point inode directory", top_k=6) if p.source.endswith("spec.pdf")]
    assert passages
    for passage in passages:
        assert passage.page_start is not None and passage.page_start <= passage.page_end
        assert passage.section  # the spec's outline gives every page a heading path


# --- bad files ------------------------------------------------------------------------------------


@pytest.fixture
def bad_folder(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    good = files.make_pdf(tmp_path / "good.pdf")
    shutil.copyfile(good, folder / "gut.pdf")
    files.make_encrypted_pdf(folder / "geheim.pdf", good)
    files.make_scanned_pdf(folder / "scan.pdf")
    (folder / "abgebrochen.pdf").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    files.make_renamed_zip(folder / "archiv.docx")
    files.make_html(folder / "latin1.html")
    return folder


EXPECTED_REASONS = {
    "abgebrochen.pdf": "truncated",
    "archiv.docx": "ZIP archive, not a Word document",
    "geheim.pdf": "password-protected (encrypted)",
    "scan.pdf": "no text layer (scanned?)",
}


def test_bad_files_are_skipped_with_specific_reasons_and_the_rest_is_ingested(bad_folder, fresh_rag):
    rag = fresh_rag()
    report = rag.ingest(bad_folder, progress=False)
    skipped = {f.source: f.reason for f in report.files_skipped}
    assert set(skipped) == set(EXPECTED_REASONS)
    for source, phrase in EXPECTED_REASONS.items():
        assert phrase in skipped[source], skipped[source]
        assert "Traceback" not in skipped[source] and str(bad_folder) not in skipped[source]
        assert f"skipped {source}: " in report.summary()
    assert sorted(report.files_added) == ["gut.pdf", "latin1.html"]
    assert report.files_seen == 2  # the files read; the skipped ones are listed apart
    # the Latin-1 page with a meta charset is read correctly
    assert "Gärten" in rag.source_text("latin1.html") and "Gewächshaus" in rag.source_text("latin1.html")
    again = rag.ingest(bad_folder, progress=False)
    assert {f.source for f in again.files_skipped} == set(EXPECTED_REASONS) and not again.changed


def test_a_file_that_becomes_unreadable_leaves_the_index_and_is_reported(bad_folder, fresh_rag):
    rag = fresh_rag()
    rag.ingest(bad_folder, progress=False)
    (bad_folder / "gut.pdf").write_bytes(b"%PDF-1.7\n garbage")
    report = rag.ingest(bad_folder, progress=False)
    assert "gut.pdf" in {f.source for f in report.files_skipped}
    assert report.files_removed == ["gut.pdf"]
    assert {d["source"] for d in rag.info().documents} == {"latin1.html"}


def test_a_folder_of_only_unreadable_files_is_a_clear_error(tmp_path, fresh_rag):
    folder = tmp_path / "docs"
    folder.mkdir()
    files.make_scanned_pdf(folder / "scan.pdf")
    with pytest.raises(CorpusError, match=r"no file of .* can be read\.\n  scan.pdf: it has no text layer"):
        fresh_rag().ingest(folder, progress=False)


# --- incremental: extraction happens once per file version ------------------------------------------


@pytest.fixture
def extractions(monkeypatch) -> list[str]:
    """The names of the files the readers actually read."""
    calls: list[str] = []
    real = extraction_cache.extract

    def counting(path, on_page=None):
        calls.append(Path(path).name)
        return real(path, on_page=on_page)

    monkeypatch.setattr(extraction_cache, "extract", counting)
    return calls


def test_unchanged_files_are_not_extracted_again_and_a_changed_pdf_once(tmp_path, fresh_rag, extractions):
    folder = tmp_path / "docs"
    folder.mkdir()
    files.make_pdf(folder / "kueste.pdf")
    files.make_docx(folder / "betrieb.docx")
    files.make_html(folder / "garten.html")
    rag = fresh_rag()
    rag.ingest(folder, progress=False)
    assert sorted(extractions) == ["betrieb.docx", "garten.html", "kueste.pdf"]

    extractions.clear()
    unchanged = rag.ingest(folder, progress=False)
    assert extractions == [] and not unchanged.changed

    pages = [page for page in files.PDF_PAGES]
    pages[2] = [["Auf Seite drei steht jetzt", "ein neuer Schlussabsatz."], []]
    files.make_pdf(folder / "kueste.pdf", pages=pages)
    changed = rag.ingest(folder, progress=False)
    assert extractions == ["kueste.pdf"] and changed.files_updated == ["kueste.pdf"]
    assert "neuer Schlussabsatz" in rag.source_text("kueste.pdf")
    cached = list((rag.settings.resolved_cache_dir / "extracted").glob("*.json"))
    assert len(cached) == 3  # the old version's extraction left the cache


def test_a_damaged_cache_entry_is_read_again(tmp_path, fresh_rag, extractions):
    folder = tmp_path / "docs"
    folder.mkdir()
    files.make_docx(folder / "betrieb.docx")
    rag = fresh_rag()
    rag.ingest(folder, progress=False)
    [entry] = (rag.settings.resolved_cache_dir / "extracted").glob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    extractions.clear()
    assert "Offline use" in rag.source_text("betrieb.docx")
    assert extractions == ["betrieb.docx"]


@pytest.mark.slow
def test_reading_a_500_page_pdf_reports_progress_page_by_page(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    files.make_long_pdf(folder / "lang.pdf", pages=500)
    progress: list[tuple[str, int, int]] = []
    reading = read_documents(folder, make_settings(tmp_path / "store"), on_page=lambda *p: progress.append(p))
    [document] = reading.documents
    assert len(document.pages) == 500 and not reading.skipped
    assert [done for _, done, _ in progress] == list(range(1, 501))
    assert {(source, total) for source, _, total in progress} == {("lang.pdf", 500)}
    assert document.location(document.pages[249].start, document.pages[249].end - 1).page == "250"
