"""Real documents made in tests, with text known in advance: a two-column PDF with umlauts and
a paragraph running over a page break, a DOCX and an HTML page (Latin-1) with a heading tree, a
Markdown file; bad files (encrypted, scanned, renamed ZIP). Used by tests/test_documents_*.py and
tests/test_formats.py."""

from __future__ import annotations

import zipfile
from pathlib import Path

#: PDF pages: each a list of columns, each a list of lines. The paragraph that starts at the end of
#: page 1 goes on at the top of page 2 ("... die Kühlung des" / "Reaktors ...").
PDF_PAGES = [
    [
        ["Die Flotte der Küstenwache", "besteht aus zwölf Booten.", "Jedes Boot hat eine Crew", "von fünf Personen."],
        ["Im Winter prüft die Werft", "alle Motoren gründlich.", "Danach überwacht sie", "die Kühlung des"],
    ],
    [
        ["Reaktors im Maschinenraum", "mit großer Sorgfalt.", "Der Leuchtturm von Süderoog", "blinkt alle neun Sekunden."],
        ["Der Hafenmeister Jörg Pålsson", "führt das Logbuch", "seit dem Jahr 1987."],
    ],
    [
        ["Auf Seite drei steht", "der Schlussabsatz über", "die Möwenkolonie am Deich."],
        [],
    ],
]
PDF_TITLE = "Handbuch der Küstenwache"
#: Outline (bookmarks): (title, level from 0, 1-based page).
PDF_OUTLINE = [("Flotte", 0, 1), ("Leuchtturm", 1, 2), ("Anhang", 0, 3)]


def vera_font() -> str:
    """reportlab's bundled Vera (has umlauts and the fi/fl/ffi ligature glyphs)."""
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")))
    return "Vera"


def make_pdf(
    path: Path,
    pages: list[list[list[str]]] = PDF_PAGES,
    outline=PDF_OUTLINE,
    title: str = PDF_TITLE,
    *,
    font_size: int = 12,
    line_height: int = 18,
    header: str = "",
    footer: str = "",
) -> Path:
    """A PDF of A4 pages in columns, with an outline and a title.

    ``header`` and ``footer`` (``{page}`` and ``{pages}`` filled in) run on every page; the footer
    is drawn before the body, so it comes first in the content stream, and the header after it.
    """
    from reportlab.pdfgen import canvas

    font = vera_font()
    pdf = canvas.Canvas(str(path))
    pdf.setTitle(title)
    for number, columns in enumerate(pages, 1):
        if footer:
            draw_running_line(pdf, font, 40, footer.format(page=number, pages=len(pages)))
        pdf.setFont(font, font_size)
        draw_columns(pdf, columns, line_height)
        if header:
            draw_running_line(pdf, font, 805, header.format(page=number, pages=len(pages)))
        add_outline_entries(pdf, outline, number)
        pdf.showPage()
    pdf.save()
    return path


def draw_columns(pdf, columns: list[list[str]], line_height: int) -> None:
    """Each column a list of lines from the top of the page; columns 260 pt apart."""
    for column, lines in enumerate(columns):
        for row, line in enumerate(lines):
            pdf.drawString(60 + column * 260, 760 - row * line_height, line)


def draw_running_line(pdf, font: str, y: int, text: str) -> None:
    """A header or footer line: 9 pt, centred on an A4 page."""
    pdf.setFont(font, 9)
    pdf.drawCentredString(297, y, text)


def add_outline_entries(pdf, outline, number: int) -> None:
    """The outline entries (title, level, page) that point at page ``number``."""
    for index, (heading, level, page) in enumerate(outline):
        if page == number:
            pdf.bookmarkPage(f"b{index}")
            pdf.addOutlineEntry(heading, f"b{index}", level=level)


def make_long_pdf(path: Path, pages: int) -> Path:
    """``pages`` pages of numbered lines (for progress and memory)."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    for number in range(1, pages + 1):
        pdf.setFont("Helvetica", 10)
        for row in range(40):
            pdf.drawString(50, 780 - row * 18, f"Seite {number} Zeile {row}: the quick brown fox jumps over it.")
        pdf.showPage()
    pdf.save()
    return path


def make_docx(path: Path) -> Path:
    """Headings Installation > Offline use > Details, and Betrieb, with umlauts."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Betriebshandbuch"
    document.add_paragraph("Vorbemerkung vor der ersten Überschrift.")
    document.add_heading("Installation", level=1)
    document.add_paragraph("Pakete werden mit pip installiert, auch auf Rechnern ohne Grafikkarte.")
    document.add_heading("Offline use", level=2)
    document.add_paragraph("Ohne Netz läuft der Übersetzer lokal; die Größe des Modells beträgt drei Gigabyte.")
    document.add_heading("Details", level=3)
    document.add_paragraph("Die Prüfsumme der Pakete wird vor dem Entpacken verglichen.")
    document.add_heading("Betrieb", level=1)
    document.add_paragraph("Der Dienst startet automatisch nach dem Hochfahren des Servers.")
    document.save(str(path))
    return path


LATIN1_PAGE = """<!DOCTYPE html>
<html><head><meta charset="iso-8859-1"><title>Gärten und Teiche</title>
<style>body { font-family: serif }</style><script>var geheim = 1;</script></head>
<body><nav>Startseite | Impressum</nav>
<h1>Gärten</h1><p>Im Garten blühen Rosen und Lavendel neben dem Gewächshaus.</p>
<h2>Teichpflege</h2><p>Der Teich wird im Frühjahr gereinigt; die Seerosen überwintern am Grund.</p>
<h2>Werkzeug</h2><p>Die Schubkarre steht im Schuppen neben der Gießkanne.</p>
</body></html>
"""


def make_html(path: Path) -> Path:
    """A Latin-1 page that declares its charset in a meta tag."""
    path.write_bytes(LATIN1_PAGE.encode("latin-1"))
    return path


MARKDOWN = """# Leitfaden

Einleitung ohne Unterabschnitt.

## Installation

Das Programm wird mit einem Befehl installiert.

### Offline use

Without a network the assistant answers from the local index; nothing is downloaded at run time.

## Fehlersuche

Wenn der Index fehlt, meldet das Programm, wie man ihn baut.
"""


def make_markdown(path: Path) -> Path:
    path.write_text(MARKDOWN, encoding="utf-8")
    return path


def make_encrypted_pdf(path: Path, source: Path, user_password: str = "geheim", owner_password: str = "geheim") -> Path:
    """``source`` encrypted; with an empty user password it opens without one (permissions only)."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(source))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def make_scanned_pdf(path: Path) -> Path:
    """An image-only page, as a scanner makes it: no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(image).rectangle((20, 20, 380, 60), fill=0)
    pdf = canvas.Canvas(str(path))
    pdf.drawImage(ImageReader(image), 50, 500, width=400, height=200)
    pdf.showPage()
    pdf.save()
    return path


def make_renamed_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "nur ein Archiv")
    return path


#: PDFs that Debian packages install (tests skip when none is there; scripts/setup.sh installs them).
INSTALLED_PDFS = [
    Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),  # shared-mime-info
    Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),  # libtasn1-doc
]


def installed_pdf() -> Path | None:
    return next((path for path in INSTALLED_PDFS if path.is_file()), None)


#: A heading tree (level, heading) with one long paragraph each, so every section holds chunks of
#: its own: for the section paths of Markdown, DOCX and HTML.
LONG_SECTIONS = [
    (1, "Installation"),
    (2, "Offline use"),
    (3, "Details"),
    (1, "Betrieb"),
]


def long_paragraph(topic: str, sentences: int = 30) -> str:
    """A paragraph of distinct numbered sentences about ``topic`` (about 60 characters each)."""
    return " ".join(f"Satz {n} über {topic} nennt die Größe {n * 7} und prüft sie." for n in range(1, sentences + 1))


def make_long_markdown(path: Path) -> Path:
    parts = [f"{'#' * level} {heading}\n\n{long_paragraph(heading)}\n" for level, heading in LONG_SECTIONS]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def make_long_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    for level, heading in LONG_SECTIONS:
        document.add_heading(heading, level=level)
        document.add_paragraph(long_paragraph(heading))
    document.save(str(path))
    return path


def make_long_html(path: Path) -> Path:
    body = "".join(f"<h{level}>{heading}</h{level}><p>{long_paragraph(heading)}</p>" for level, heading in LONG_SECTIONS)
    page = f'<html><head><meta charset="iso-8859-1"><title>Lang</title></head><body>{body}</body></html>'
    path.write_bytes(page.encode("latin-1"))
    return path


#: The heading path of each section of the long documents.
LONG_PATHS = {
    "Installation": "Installation",
    "Offline use": "Installation › Offline use",
    "Details": "Installation › Offline use › Details",
    "Betrieb": "Betrieb",
}


#: Three pages of English prose, one topic each: the browser test asks about page 2.
REPORT_PAGES = [
    ["The harbour fleet has twelve boats and every boat carries a crew of five sailors.",
     "In winter the shipyard overhauls all engines and replaces the worn propellers.",
     "The fleet captain keeps a schedule of patrols along the northern coast.",
     "Each patrol lasts six hours and ends with a written report to the harbour office.",
     "Fuel for the boats is delivered by a tanker every second Thursday."],
    ["The lighthouse of Suederoog flashes every nine seconds from dusk until dawn.",
     "Its lamp was converted to electric light in 1936 and to LEDs in 2011.",
     "The keeper climbs the one hundred and forty steps of the tower twice a day.",
     "From the gallery the keeper can see ships thirty kilometres away in clear weather.",
     "Storms in November often cut the power, so a diesel generator stands beside the tower."],
    ["A colony of herring gulls nests on the dike south of the harbour.",
     "Volunteers count the nests every May and band the young birds in June.",
     "The colony has grown from forty pairs in 1990 to more than three hundred pairs.",
     "Foxes are kept away by an electric fence along the foot of the dike.",
     "Visitors may watch the birds from a wooden hide at the end of the path."],
]


def make_report_pdf(path: Path) -> Path:
    """Three A4 pages of English prose (REPORT_PAGES), each sentence on its own lines."""
    import textwrap

    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.setTitle("Harbour report")
    for sentences in REPORT_PAGES:
        pdf.setFont("Helvetica", 12)
        row = 0
        for sentence in sentences:
            for line in textwrap.wrap(sentence, 70):
                pdf.drawString(60, 760 - row * 18, line)
                row += 1
            row += 1
        pdf.showPage()
    pdf.save()
    return path
