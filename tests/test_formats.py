"""rag.ingest.formats on real files made here (reportlab PDFs, python-docx documents, HTML, Markdown and
text in several encodings) and on PDFs that Debian and Python packages install.

Test dependencies beyond the readers' own (pypdfium2, python-docx): reportlab (PDFs with a text
layer), pypdf (encrypting a PDF), Pillow (an image-only page).
"""

from __future__ import annotations

import ast
import codecs
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest.formats import SUPPORTED_SUFFIXES, ExtractedText, PageSpan, SectionSpan, UnreadableDocument, extract
from rag.ingest.formats.pdfclean import clean_pages, dehyphenate, running_lines
from support.documents import make_encrypted_pdf, make_pdf, make_scanned_pdf

REPO = Path(__file__).resolve().parents[1]
HEADER = "ACME Handbuch – Vertraulich"


# --- helpers --------------------------------------------------------------------------------------


def assert_once_in_order(text: str, expected: list[str]) -> None:
    """Each string occurs exactly once in ``text``, and in the given order."""
    positions = []
    for piece in expected:
        assert text.count(piece) == 1, f"{piece!r} occurs {text.count(piece)} times in {text!r}"
        positions.append(text.index(piece))
    assert positions == sorted(positions), f"out of order: {list(zip(expected, positions, strict=True))}"


def span_of(document: ExtractedText, piece: str) -> tuple[int, int]:
    start = document.text.index(piece)
    return start, start + len(piece)


def assert_pages_cover(document: ExtractedText) -> None:
    assert document.pages, "a PDF has pages"
    assert document.pages[0].start == 0 and document.pages[-1].end == len(document.text)
    for before, after in zip(document.pages, document.pages[1:], strict=False):
        assert before.end == after.start and after.number == before.number + 1


def assert_unreadable(path: Path, *phrases: str, tmp: Path | None = None) -> str:
    """Reading ``path`` fails with a plain message: one line, no traceback, no temporary folder,
    naming the file and saying each phrase. Returns the message."""
    with pytest.raises(UnreadableDocument) as error:
        extract(path)
    message = str(error.value)
    assert path.name in message
    for phrase in phrases:
        assert phrase in message, message
    assert "Traceback" not in message and "\n" not in message
    if tmp is not None:
        assert str(tmp) not in message, message
    assert "/tmp" not in message, message
    return message


# --- PDFs made with reportlab ---------------------------------------------------------------------

# Lines of a two-column, three-page document as drawn: (page, column, line). The paragraph that
# starts at the end of page 2 (right column) goes on at the top of page 3, and its word
# "Verarbeitungsschritte" is hyphenated across the page break.
PAGE_LINES = {
    1: (
        ["Kapitel Eins", "Die Größe der Flotte und die Über-", "gabe der Dokumente sind geregelt.",
         "Die offizielle Auflage erscheint", "im Frühjahr; wir finden sie in der",
         "Straße am Hafen."],
        ["Die rechte Spalte beginnt hier und", "beschreibt die Datenfluss-", "analyse im Detail.",
         "Fragen an die E-Mail-", "Adresse der Geschäftsstelle."],
    ),
    2: (
        ["Abschnitt Zwei", "Lese-", "und Schreibrechte werden getrennt", "vergeben, damit nichts verloren",
         "geht."],
        ["Der lange Absatz beginnt unten", "auf Seite zwei und beschreibt die",
         "einzelnen Verarbeitungs-"],
    ),
    3: (
        ["schritte bis zum Ende.", "Danach folgt der Schluss mit", "einem fließenden Übergang."],
        ["Rechts auf Seite drei steht", "der allerletzte Satz."],
    ),
}
# The same text with ligature code points, as some PDF producers write it.
LIGATURE_CODE_POINTS = {"offizielle": "of\ufb01zielle", "finden": "\ufb01nden", "Auflage": "Au\ufb02age",
                        "fließenden": "\ufb02ießenden"}
#: Outline of the two-column document: (title, level from 0, 1-based page).
TWO_COLUMN_OUTLINE = [("Kapitel Eins", 0, 1), ("Abschnitt Zwei", 1, 2)]


def with_ligatures(line: str) -> str:
    for word, drawn in LIGATURE_CODE_POINTS.items():
        line = line.replace(word, drawn)
    return line


def make_two_column_pdf(path: Path, outline: bool = False) -> Path:
    """Three A4 pages, two columns each (PAGE_LINES, with ligature code points); a header and a
    "Seite N von 3" footer on every page, the footer first in the content stream."""
    pages = [[[with_ligatures(line) for line in lines] for lines in columns] for columns in PAGE_LINES.values()]
    return make_pdf(
        path,
        pages,
        TWO_COLUMN_OUTLINE if outline else [],
        "Handbuch der Flotte",
        font_size=11,
        line_height=16,
        header=HEADER,
        footer="Seite {page} von {pages}",
    )


@pytest.fixture(scope="module")
def two_column_pdf(tmp_path_factory) -> Path:
    return make_two_column_pdf(tmp_path_factory.mktemp("pdf") / "handbuch.pdf", outline=True)


def test_pdf_two_columns_header_footer_hyphens_ligatures_umlauts(two_column_pdf):
    progress = []
    document = extract(two_column_pdf, on_page=lambda done, total: progress.append((done, total)))
    text = document.text
    assert document.format == "pdf"
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert_pages_cover(document)
    assert_once_in_order(text, [
        "Kapitel Eins",
        "Die Größe der Flotte und die Übergabe der Dokumente",  # hyphen at the line end joined
        "Die offizielle Auflage erscheint",  # ligature code points spelled out
        "wir finden sie",
        "Straße am Hafen.",
        "Die rechte Spalte beginnt",  # the right column after the whole left one
        "die Datenflussanalyse im Detail",
        "E-Mail-Adresse der Geschäftsstelle",  # a compound keeps its own hyphen
        "Abschnitt Zwei",
        "Lese- und Schreibrechte",  # a suspended hyphen before "und" stays
        "einzelnen Verarbeitungsschritte",  # joined across the page break
        "bis zum Ende.",
        "einem fließenden Übergang.",
        "der allerletzte Satz.",
    ])
    assert HEADER not in text and "ACME" not in text
    assert re.search(r"Seite \d", text) is None and "von 3" not in text
    assert not any(chr(code) in text for code in range(0xFB00, 0xFB07))
    assert "\ufffe" not in text and "\r" not in text
    assert document.title == "Handbuch der Flotte"


def test_pdf_page_range_and_outline_sections(two_column_pdf):
    document = extract(two_column_pdf)
    assert document.page_range(*span_of(document, "Straße am Hafen.")) == (1, 1)
    assert document.page_range(*span_of(document, "Schreibrechte")) == (2, 2)
    assert document.page_range(*span_of(document, "der allerletzte Satz.")) == (3, 3)
    start = document.text.index("Der lange Absatz")
    end = document.text.index("bis zum Ende.") + len("bis zum Ende.")
    assert document.page_range(start, end) == (2, 3)
    assert document.page_range(0, len(document.text)) == (1, 3)
    # the word joined across the page break belongs to page 2, where it starts
    assert document.page_range(*span_of(document, "Verarbeitungsschritte")) == (2, 2)
    assert document.section_at(document.text.index("Straße")) == ("Kapitel Eins",)
    assert document.section_at(document.text.index("Schreibrechte")) == ("Kapitel Eins", "Abschnitt Zwei")
    assert document.section_at(document.text.index("allerletzte")) == ("Kapitel Eins", "Abschnitt Zwei")
    for page in document.pages:
        assert isinstance(page, PageSpan)


def test_pdf_uppercase_suffix(tmp_path):
    path = make_two_column_pdf(tmp_path / "HANDBUCH.PDF")
    assert extract(path).format == "pdf"


def test_pdf_with_owner_password_only_is_read(tmp_path):
    """Permissions-only encryption (empty user password) does not stop reading."""
    pytest.importorskip("pypdf")
    source = make_two_column_pdf(tmp_path / "plain.pdf")
    target = make_encrypted_pdf(tmp_path / "nur-rechte.pdf", source, user_password="", owner_password="eigentümer")
    assert "Straße am Hafen." in extract(target).text


def test_pdf_encrypted(tmp_path):
    pytest.importorskip("pypdf")
    target = make_encrypted_pdf(tmp_path / "geheim.pdf", make_two_column_pdf(tmp_path / "plain.pdf"))
    assert_unreadable(target, "password-protected", tmp=tmp_path)


def test_pdf_without_text_layer(tmp_path):
    path = make_scanned_pdf(tmp_path / "scan.pdf")
    assert_unreadable(path, "no text layer (scanned?)", tmp=tmp_path)


def test_pdf_truncated(tmp_path, two_column_pdf):
    data = two_column_pdf.read_bytes()
    path = tmp_path / "abgebrochen.pdf"
    path.write_bytes(data[: len(data) // 2])
    assert_unreadable(path, "truncated", tmp=tmp_path)


def test_pdf_damaged_and_not_a_pdf(tmp_path):
    damaged = tmp_path / "kaputt.pdf"
    damaged.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage\n%%EOF\n")
    assert_unreadable(damaged, "damaged", tmp=tmp_path)
    html = tmp_path / "seite.pdf"
    html.write_text("<!doctype html><html><body>Not a PDF</body></html>", encoding="utf-8")
    assert_unreadable(html, "not a PDF", tmp=tmp_path)


@pytest.mark.slow
def test_pdf_of_500_pages_memory_and_progress(tmp_path):
    """Pages are read one at a time: peak memory while reading 500 pages stays far below what
    keeping them open would take, and on_page counts every page."""
    from reportlab.pdfgen import canvas

    path = tmp_path / "lang.pdf"
    pdf = canvas.Canvas(str(path), pageCompression=1)
    for number in range(1, 501):
        text = pdf.beginText(60, 800)
        text.setFont("Helvetica", 10)
        text.textLine("Betriebshandbuch – Kapitel sieben")
        for row in range(40):
            text.textLine(f"Seite {number} Zeile {row}: Größenänderung der Übergabeprotokolle")
        pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "import pypdfium2, rag.ingest.formats.pdf\n"
        "from rag.ingest.formats import extract\n"
        "def status(field):  # VmHWM is this process image's peak (getrusage's survives exec)\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(field))\n"
        "calls = []\n"
        "before = status('VmRSS')\n"
        "document = extract(Path(sys.argv[1]), on_page=lambda d, t: calls.append((d, t)))\n"
        "print(json.dumps({'pages': len(document.pages), 'calls': len(calls), 'last': calls[-1],\n"
        "                  'chars': len(document.text), 'growth_kb': status('VmHWM') - before}))\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                         cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["pages"] == 500 and result["calls"] == 500 and result["last"] == [500, 500]
    assert result["chars"] > 500 * 40 * 40
    # the text is about 1.3 M characters; 500 pages kept open would take hundreds of MB
    assert result["growth_kb"] < 100_000, result


# --- PDFs that packages install -------------------------------------------------------------------

INSTALLED_PDFS = [
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",  # Debian shared-mime-info
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",  # Debian libtasn1-doc
    "/usr/share/doc/texlive-doc/latex/lshort-german/l2kurz.pdf",  # Debian texlive-lang-german
]


def installed_pdf() -> Path:
    for name in INSTALLED_PDFS:
        if Path(name).is_file():
            return Path(name)
    pytest.skip(f"no PDF installed by a Debian package here (looked for {', '.join(INSTALLED_PDFS)})")


def test_real_pdf_from_a_debian_package():
    path = installed_pdf()
    progress = []
    document = extract(path, on_page=lambda done, total: progress.append((done, total)))
    assert_pages_cover(document)
    assert progress[-1] == (len(document.pages), len(document.pages))
    assert len(document.text) > 1000 * len(document.pages) * 0.3
    assert not any(chr(code) in document.text for code in range(0xFB00, 0xFB07))
    assert "\ufffe" not in document.text and "\r" not in document.text
    middle = len(document.text) // 2
    first, last = document.page_range(middle, middle + 10)
    assert 1 <= first <= last <= len(document.pages)
    for section in document.sections:
        assert 0 <= section.start < section.end <= len(document.text) and section.path


def test_real_german_pdf_umlauts_and_outline():
    """l2kurz (Debian texlive-lang-german): German text with umlauts, and an outline."""
    path = Path("/usr/share/doc/texlive-doc/latex/lshort-german/l2kurz.pdf")
    if not path.is_file():
        pytest.skip(f"{path} is not installed (Debian package texlive-lang-german)")
    document = extract(path)
    assert "ä" in document.text and "ü" in document.text and "ß" in document.text
    assert re.search("\u00a8[aouAOU]", document.text) is None
    assert document.sections and all(section.path for section in document.sections)


def test_real_pdf_with_old_tex_accents():
    """gerdoc (OT1 fonts): umlauts drawn as an accent over a letter come out as umlauts."""
    path = Path("/usr/share/doc/texlive-doc/generic/german/gerdoc.pdf")
    if not path.is_file():
        pytest.skip(f"{path} is not installed (Debian package texlive-lang-german)")
    text = extract(path).text
    assert "Münster" in text and "für" in text
    assert "\u00a8" not in text


def test_real_pdf_without_text_layer_from_matplotlib():
    """matplotlib (a project dependency) installs its toolbar icons as PDFs of drawn paths."""
    matplotlib = pytest.importorskip("matplotlib")
    path = Path(matplotlib.__file__).parent / "mpl-data" / "images" / "home.pdf"
    if not path.is_file():
        pytest.skip(f"{path} is not there in this matplotlib")
    assert_unreadable(path, "no text layer (scanned?)")


# --- PDF cleanup ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("broken", "joined"), [
    ("Verarbei-\ntung", "Verarbeitung"),
    ("Grundstücksverkehrsge-\nnehmigungs-\nverordnung", "Grundstücksverkehrsgenehmigungsverordnung"),
    ("E-Mail-\nAdresse", "E-Mail-Adresse"),
    ("Lese-\nund Schreibrechte", "Lese- und Schreibrechte"),
    ("pre-\nand post-processing", "pre- and post-processing"),
    ("state-of-the-\nart", "state-of-the-art"),
    ("state-\nof-the-art", "state-of-the-art"),
    ("100-\nfach", "100-fach"),
    ("soft\u00ad\nhyphen", "softhyphen"),
    ("Ende -\nneu", "Ende -\nneu"),
    ("Zeile-\n\nNeuer Absatz", "Zeile-\n\nNeuer Absatz"),
])
def test_dehyphenate(broken, joined):
    assert dehyphenate(broken) == joined


def test_dehyphenate_follows_the_documents_own_spelling():
    from collections import Counter

    assert dehyphenate("well-\nknown", Counter({"well-known": 3})) == "well-known"
    assert dehyphenate("well-\nknown", Counter()) == "wellknown"


def test_running_headers_need_most_pages_or_a_chapter_run():
    words = ["Anfang", "Mitte", "Schluss", "Anhang", "Index", "Ende"]
    pages = [f"Handbuch\nInhalt: {word}\n{i}" for i, word in enumerate(words, 1)]
    assert running_lines(pages) == {"handbuch": True, "#": True}
    assert clean_pages(pages)[0] == "Inhalt: Anfang"
    # a chapter's running head on its pages only, next to another chapter's
    titles = ["Grundlagen", "Praxis", "Anhang"]
    bodies = ["Karte", "Tafel", "Liste", "Bild", "Ton", "Film", "Buch", "Heft", "Blatt"]
    chapters = [f"Kapitel {c + 1}: {titles[c]} {c * 3 + i + 1}\n{bodies[3 * c + i]}"
                for c in range(3) for i in range(3)]
    assert running_lines(chapters) == {"kapitel #: grundlagen #": False, "kapitel #: praxis #": False,
                                       "kapitel #: anhang #": False}
    # of a chapter's running head, the first appearance in the document stays
    firsts = [page.split("\n")[0] for page in clean_pages(chapters)]
    assert firsts == ["Kapitel 1: Grundlagen 1", "Tafel", "Liste", "Kapitel 2: Praxis 4", "Ton", "Film",
                      "Kapitel 3: Anhang 7", "Heft", "Blatt"]
    # a line that merely recurs now and then is content
    sparse = ["Hinweis\nA"] + words + ["Hinweis\nB"] + words + ["Hinweis\nC"]
    assert "hinweis" not in running_lines(sparse)
    # two pages are too few to tell a header from content
    assert running_lines(["Kopf\nA", "Kopf\nB"]) == {}
    # a bare number (or roman numeral) is a page number only as a page's first or last line
    tables = [f"Kopf {w}\n7\nx\n{w} Zeile\n{i}" for i, w in enumerate(words)]
    assert running_lines(tables) == {"#": True}
    assert all(page.endswith("\n7\nx\n" + w + " Zeile") for page, w in zip(clean_pages(tables), words, strict=True))


def test_clean_pages_ligatures_only_are_nfkc():
    page = "Die o\ufb03zielle Au\ufb02age ² ½ Ⅻ ﬁnden"
    assert clean_pages([page]) == ["Die offizielle Auflage ² ½ Ⅻ finden"]


def test_clean_pages_old_tex_accents_next_to_their_letter():
    assert clean_pages(["f\u00a8ur die Gr\u00a8o\u00dfe"]) == ["für die Größe"]


# --- DOCX -----------------------------------------------------------------------------------------


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Betriebshandbuch"
    document.add_paragraph("Vorbemerkung vor der ersten Überschrift.")
    document.add_heading("Installation", level=1)
    document.add_paragraph("Pakete werden mit pip installiert.")
    document.add_heading("Offline use", level=2)
    document.add_paragraph("Ohne Netz läuft alles lokal; Größe: 3 GB.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Name", "Wert"
    table.cell(1, 0).text, table.cell(1, 1).text = "Modell", "klein"
    document.add_heading("Details", level=3)
    paragraph = document.add_paragraph("Zeile eins")
    paragraph.add_run().add_break()
    paragraph.add_run("Zeile zwei")
    document.add_heading("Betrieb", level=1)
    document.add_paragraph("Der Dienst startet automatisch.")
    document.save(str(path))
    return path


def test_docx_paragraphs_tables_and_heading_tree(tmp_path):
    document = extract(make_docx(tmp_path / "handbuch.docx"))
    text = document.text
    assert document.format == "docx" and document.title == "Betriebshandbuch" and document.pages == ()
    assert_once_in_order(text, [
        "Vorbemerkung vor der ersten Überschrift.", "Installation", "Pakete werden mit pip installiert.",
        "Offline use", "Ohne Netz läuft alles lokal; Größe: 3 GB.", "Name | Wert\nModell | klein",
        "Details", "Zeile eins\nZeile zwei", "Betrieb", "Der Dienst startet automatisch.",
    ])
    assert document.section_at(0) is None
    assert document.section_at(text.index("Pakete")) == ("Installation",)
    assert document.section_at(text.index("Ohne Netz")) == ("Installation", "Offline use")
    assert document.section_at(text.index("Modell")) == ("Installation", "Offline use")
    assert document.section_at(text.index("Zeile zwei")) == ("Installation", "Offline use", "Details")
    assert document.section_at(text.index("Der Dienst")) == ("Betrieb",)
    assert document.section_at(text.index("Betrieb")) == ("Betrieb",)
    assert document.page_range(0, 5) is None


def test_docx_title_from_title_style_when_no_metadata(tmp_path):
    import docx

    document = docx.Document()
    document.core_properties.title = ""
    document.add_heading("Der eigentliche Titel", level=0)
    document.add_heading("Erstes Kapitel", level=1)
    document.add_paragraph("Text.")
    path = tmp_path / "titel.docx"
    document.save(str(path))
    extracted = extract(path)
    assert extracted.title == "Der eigentliche Titel"
    assert extracted.section_at(extracted.text.index("Text.")) == ("Erstes Kapitel",)


def test_docx_that_is_a_renamed_zip(tmp_path):
    path = tmp_path / "archiv.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "nur ein Archiv")
    assert_unreadable(path, "no word/document.xml", tmp=tmp_path)


def test_docx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "notiz.docx"
    path.write_text("Das ist einfacher Text.", encoding="utf-8")
    assert_unreadable(path, "not a Word document", tmp=tmp_path)


def test_docx_that_is_an_old_word_file(tmp_path):
    path = tmp_path / "alt.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert_unreadable(path, ".doc", tmp=tmp_path)


def test_docx_with_damaged_zip(tmp_path):
    data = make_docx(tmp_path / "gut.docx").read_bytes()
    path = tmp_path / "halb.docx"
    path.write_bytes(data[: len(data) // 2])
    assert_unreadable(path, tmp=tmp_path)


# --- HTML -----------------------------------------------------------------------------------------

LATIN1_PAGE = """<!DOCTYPE html>
<html><head><meta charset="iso-8859-1"><title>Größen &amp; Maße</title>
<style>body { font-family: serif; } .x:before { content: "Stil" }</style>
<script>var geheim = "<p>Skript</p>";</script></head>
<body><nav><a href="/">Startseite</a> | <a href="/impressum">Impressum</a></nav>
<header><p>Seitenkopf der Website</p></header><div role="contentinfo">Kontakt</div>
<main><article>
<h1>Übersicht</h1>
<p>Die Straße ist  breit,
   und die Größe stimmt.</p>
<h2>Einzelheiten</h2>
<ul><li>erstens</li><li>zweitens</li></ul>
<p>Erste Zeile<br>Zweite Zeile</p>
<table><tr><th>Name</th><th>Wert</th></tr><tr><td>Öl</td><td>5&nbsp;l</td></tr></table>
<h3>Tiefer</h3><p>„Zitat“ mit Euro: €.</p>
<h2>Schluss</h2><p>Ende.</p>
</article></main>
<footer>© Firma</footer>
</body></html>
"""


def test_html_latin1_meta_charset(tmp_path):
    path = tmp_path / "seite.html"
    path.write_bytes(LATIN1_PAGE.encode("cp1252"))  # what "iso-8859-1" pages hold: „ “ € too
    document = extract(path)
    text = document.text
    assert document.format == "html" and document.title == "Größen & Maße"
    assert_once_in_order(text, [
        "Seitenkopf der Website", "Übersicht", "Die Straße ist breit, und die Größe stimmt.", "Einzelheiten",
        "erstens\nzweitens", "Erste Zeile\nZweite Zeile", "Name | Wert\nÖl | 5 l", "Tiefer",
        "„Zitat“ mit Euro: €.", "Schluss", "Ende.",
    ])
    for gone in ("<", ">", "Startseite", "Impressum", "Kontakt", "Firma", "geheim", "Skript", "font-family"):
        assert gone not in text
    assert document.section_at(text.index("Straße")) == ("Übersicht",)
    assert document.section_at(text.index("zweitens")) == ("Übersicht", "Einzelheiten")
    assert document.section_at(text.index("Zitat")) == ("Übersicht", "Einzelheiten", "Tiefer")
    assert document.section_at(text.index("Ende.")) == ("Übersicht", "Schluss")


def test_html_http_equiv_and_xml_declarations(tmp_path):
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-15">'
            "</head><body><p>Preis: 5 € für Bücher</p></body></html>")
    path = tmp_path / "alt.htm"
    path.write_bytes(page.encode("iso-8859-15"))
    assert extract(path).text == "Preis: 5 € für Bücher"
    xhtml = '<?xml version="1.0" encoding="windows-1252"?><html><body><p>Grüße</p></body></html>'
    path = tmp_path / "x.html"
    path.write_bytes(xhtml.encode("cp1252"))
    assert extract(path).text == "Grüße"


def test_html_without_declaration_and_with_bom(tmp_path):
    path = tmp_path / "utf8.html"
    path.write_bytes("<p>Grüße aus Köln</p>".encode("utf-8"))
    assert extract(path).text == "Grüße aus Köln"
    path = tmp_path / "latin.html"
    path.write_bytes("<p>Grüße aus Köln</p>".encode("latin-1"))
    assert extract(path).text == "Grüße aus Köln"
    path = tmp_path / "utf16.html"
    path.write_bytes(codecs.BOM_UTF16_LE + '<meta charset="utf-8"><p>Grüße</p>'.encode("utf-16-le"))
    assert extract(path).text == "Grüße"
    assert extract(path).title is None


def test_html_pre_keeps_spacing_and_hidden_is_dropped(tmp_path):
    path = tmp_path / "code.html"
    path.write_text("<h1>Code</h1><pre>\nif x:\n    y  = 1\n</pre><p hidden>versteckt</p>"
                    '<div aria-hidden="true">Symbol</div><p>sichtbar</p>', encoding="utf-8")
    document = extract(path)
    assert document.text == "Code\n\nif x:\n    y  = 1\n\nsichtbar"
    assert document.title == "Code"


@pytest.mark.parametrize(("markup", "text"), [
    ("<p hidden>weg<p>da<p>auch da", "da\n\nauch da"),  # a hidden <p> ends at the next <p>
    ("<ul><li hidden>weg<li>da</ul><p>nach", "da\n\nnach"),
    ("<p>a</p>b<div>c</div> d <span>e</span>", "a\n\nb\nc\nd e"),
    ("<table><tr><td>1<td>2<tr hidden><td>x<td>y<tr><td>3<td>4</table>", "1 | 2\n3 | 4"),
    ("<!-- Kommentar --><p>x<![CDATA[y]]></p>", "x"),
])
def test_html_blocks_and_unclosed_hidden_elements(tmp_path, markup, text):
    path = tmp_path / "teil.html"
    path.write_text(markup, encoding="utf-8")
    assert extract(path).text == text


def test_html_page_header_with_the_title_heading_stays(tmp_path):
    path = tmp_path / "blog.html"
    path.write_text("<body><header><h1>Mein Blog</h1><nav>Menü</nav></header><p>Eintrag</p>"
                    "<footer>Impressum</footer></body>", encoding="utf-8")
    document = extract(path)
    assert document.text == "Mein Blog\n\nEintrag" and document.section_at(11) == ("Mein Blog",)


def test_html_heading_with_line_break(tmp_path):
    path = tmp_path / "h.html"
    path.write_text("<h2>Titel<br>zwei</h2><p>x</p>", encoding="utf-8")
    document = extract(path)
    assert document.text == "Titel\nzwei\n\nx" and document.section_at(0) == ("Titel zwei",)


# --- Markdown -------------------------------------------------------------------------------------

MARKDOWN = """\
Einleitender Satz ohne Überschrift.

# Handbuch

Text unter dem Titel.

Installation
============

Pakete installieren.

```bash
# kein Titel, nur ein Kommentar
pip install rag
```

## Offline use ##

~~~
## auch kein Titel
~~~

Ohne Netz.

Feinheiten
----------

Details hier.

    # eingerückter Code, kein Titel

### Tiefer `code` und [Link](http://example.invalid)

Ganz unten.

# Anhang

Schluss.
"""


def test_markdown_text_is_exact_and_sections_skip_code(tmp_path):
    path = tmp_path / "handbuch.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    document = extract(path)
    text = document.text
    assert text == path.open(encoding="utf-8").read()
    assert document.format == "markdown" and document.title == "Handbuch"
    assert [s.path for s in document.sections] == [
        ("Handbuch",),
        ("Installation",),  # setext "=" is level 1
        ("Installation", "Offline use"),
        ("Installation", "Feinheiten"),  # setext "-" is level 2
        ("Installation", "Feinheiten", "Tiefer code und Link"),
        ("Anhang",),
    ]
    assert document.section_at(0) is None
    assert document.section_at(text.index("Text unter")) == ("Handbuch",)
    assert document.section_at(text.index("pip install")) == ("Installation",)
    assert document.section_at(text.index("auch kein Titel")) == ("Installation", "Offline use")
    assert document.section_at(text.index("Details")) == ("Installation", "Feinheiten")
    assert document.section_at(text.index("Schluss")) == ("Anhang",)
    assert document.sections[1].start == text.index("Installation\n====")
    assert document.sections[-1].end == len(text)


def test_markdown_front_matter_title_and_suffixes(tmp_path):
    path = tmp_path / "seite.markdown"
    path.write_text("---\ntitle: \"Vom Kopf\"\nlayout: x\n---\n# Erste\n\nText\n", encoding="utf-8")
    document = extract(path)
    assert document.title == "Vom Kopf"
    assert [s.path for s in document.sections] == [("Erste",)]


def test_markdown_with_bom_and_crlf(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes(codecs.BOM_UTF8 + "# Titel\r\n\r\nText\r\n".encode("utf-8"))
    document = extract(path)
    assert document.text == path.open(encoding="utf-8").read() == "\ufeff# Titel\n\nText\n"
    assert document.sections == (SectionSpan(("Titel",), 0, len(document.text)),)


# --- plain text -----------------------------------------------------------------------------------


def test_text_with_bom_is_exactly_python_text_mode(tmp_path):
    path = tmp_path / "notiz.txt"
    path.write_bytes(codecs.BOM_UTF8 + "Zeile 1\r\nZeile 2\rZeile 3\nÄrger\u2028Ende".encode("utf-8"))
    document = extract(path)
    assert document.text == path.open(encoding="utf-8").read()
    assert document.text[0] == "\ufeff"
    assert document.format == "text" and document.sections == () and document.pages == ()
    assert document.title is None


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_text_utf16_with_bom(tmp_path, encoding):
    content = "Grüße\r\naus Köln\n"
    data = content.encode(encoding)
    if encoding != "utf-16":  # the -le/-be codecs write no BOM
        data = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + data
    path = tmp_path / "utf16.txt"
    path.write_bytes(data)
    assert extract(path).text == "Grüße\naus Köln\n" == path.open(encoding="utf-16").read()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["a", "ä", "\r", "\n", "\r\n", "\ufeff", " ", "# ", "=", "```", "\u2028", "€"]),
                max_size=40), st.booleans(), st.sampled_from([".txt", ".md"]))
def test_text_and_markdown_equal_python_text_mode(tmp_path, pieces, bom, suffix):
    path = tmp_path / f"beliebig{suffix}"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + "".join(pieces).encode("utf-8"))
    document = extract(path)
    assert document.text == path.open(encoding="utf-8").read()
    for section in document.sections:
        assert 0 <= section.start < section.end <= len(document.text)


def test_text_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("erste Zeile\nGrüße aus Köln\n".encode("latin-1"))
    message = assert_unreadable(path, "not UTF-8 text", "line 2", tmp=tmp_path)
    assert "iconv" not in message


def test_text_with_nul_bytes(tmp_path):
    path = tmp_path / "ohne-bom.txt"
    path.write_bytes("Hallo".encode("utf-16-le"))
    assert_unreadable(path, "NUL", tmp=tmp_path)


def test_empty_text_file(tmp_path):
    path = tmp_path / "leer.txt"
    path.write_bytes(b"")
    assert extract(path).text == ""


# --- dispatcher and contract ----------------------------------------------------------------------


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == frozenset({".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt"})


def test_unsupported_missing_and_folder(tmp_path):
    (tmp_path / "bild.png").write_bytes(b"\x89PNG")
    assert_unreadable(tmp_path / "bild.png", "not supported", tmp=tmp_path)
    assert_unreadable(tmp_path / "fehlt.txt", "does not exist", tmp=tmp_path)
    (tmp_path / "ordner.md").mkdir()
    assert_unreadable(tmp_path / "ordner.md", "folder", tmp=tmp_path)


def test_page_range_and_section_at_edges():
    text = "aaaa\n\nbbbb\n\ncccc"
    document = ExtractedText(
        text=text, format="pdf",
        pages=(PageSpan(1, 0, 6), PageSpan(2, 6, 12), PageSpan(3, 12, 16)),
        sections=(SectionSpan(("A",), 0, 6), SectionSpan(("A", "B"), 6, 16)),
    )
    assert document.page_range(0, 4) == (1, 1)
    assert document.page_range(0, 6) == (1, 1)  # the separator belongs to the page before
    assert document.page_range(0, 7) == (1, 2)
    assert document.page_range(5, 13) == (1, 3)
    assert document.page_range(6, 6) == (2, 2)  # an empty span touches the page it is on
    assert document.page_range(16, 16) == (3, 3)
    assert document.page_range(17, 18) is None and document.page_range(4, 2) is None
    assert ExtractedText(text="x", format="text").page_range(0, 1) is None
    assert document.section_at(3) == ("A",) and document.section_at(6) == ("A", "B")
    assert document.section_at(16) == ("A", "B")
    late = ExtractedText(text="intro\n# H\n", format="markdown", sections=(SectionSpan(("H",), 6, 10),))
    assert late.section_at(2) is None and late.section_at(7) == ("H",)


def test_formats_import_no_other_rag_module():
    """rag.ingest.formats stands alone: it imports only itself and outside packages."""
    for path in (REPO / "rag" / "formats").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("rag") or name.startswith("rag.ingest.formats"), f"{path.name}: {name}"


def test_readers_work_with_the_network_blocked(tmp_path, two_column_pdf):
    """The suite's network guard refuses non-loopback connections; every reader works under it."""
    docx_path = make_docx(tmp_path / "a.docx")
    html = tmp_path / "a.html"
    html.write_text('<img src="http://example.invalid/x.png"><p>Text</p>', encoding="utf-8")
    for path in (two_column_pdf, docx_path, html):
        assert extract(path).text
