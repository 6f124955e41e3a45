"""How the app shows where a citation is: page and section on the card, a PDF citation on its
rendered page with the passage painted over its characters (rag.web.pages)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest

from support import documents as files
from rag.ingest.formats import extract
from rag.types import Citation, Passage
from rag.web.pages import find_boxes, letters, match_characters, page_spans_of, page_view_html, render_page
from rag.web.presentation import citation_card


def tinted_pixels(png: bytes) -> list[tuple[int, int]]:
    """Pixels of the highlight colours (yellow/orange: much more red than blue)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    data = image.load()
    return [(x, y) for y in range(0, height, 2) for x in range(0, width, 2)
            if data[x, y][0] - data[x, y][2] > 40]


def passage_of(document, piece: str, source: str = "kueste.pdf") -> Passage:
    start = document.text.index(piece)
    return Passage(source=source, title="t", language="de", text=piece, start=start, end=start + len(piece),
                   score=1.0, **document_location(document, start, start + len(piece)))


def document_location(document, start: int, end: int) -> dict:
    first, last = document.page_range(start, end) or (None, None)
    return {"page_start": first, "page_end": last}


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    return files.make_pdf(tmp_path_factory.mktemp("web") / "kueste.pdf")


def test_the_passage_is_painted_where_its_characters_are_on_the_page(pdf):
    document = extract(pdf)
    piece = "Der Leuchtturm von Süderoog\nblinkt alle neun Sekunden."
    png = render_page(pdf, 2, piece)
    tinted = tinted_pixels(png)
    assert len(tinted) > 300
    # Page 2's left column, third and fourth line: x from 60 pt, y from 760 - 2*18 pt (scale 1.4).
    xs, ys = [x for x, _ in tinted], [y for _, y in tinted]
    assert 60 * 1.4 - 5 <= min(xs) and max(xs) < 330 * 1.4  # the left column only
    assert (842 - 760 + 2 * 18 - 14) * 1.4 <= min(ys) and max(ys) <= (842 - 760 + 4 * 18) * 1.4
    # nothing is painted on a page the passage is not on
    assert tinted_pixels(render_page(pdf, 3, piece)) == []
    assert document.page_range(document.text.index(piece), document.text.index(piece) + len(piece)) == (2, 2)


def test_a_passage_over_a_page_break_is_shown_on_both_pages(pdf):
    document = extract(pdf)
    piece = "die Kühlung des\n\nReaktors im Maschinenraum"
    passage = passage_of(document, piece)
    assert passage.page == "1-2"
    assert page_spans_of(document, passage) == [(1, "die Kühlung des\n\n"), (2, "Reaktors im Maschinenraum")]
    citation = Citation(n=1, passage=passage)
    view = page_view_html(pdf, document, citation)
    images = re.findall(r'data-page="(\d)" src="data:image/png;base64,([^"]+)"', view)
    assert [number for number, _ in images] == ["1", "2"]
    for _number, data in images:
        assert len(tinted_pixels(base64.b64decode(data))) > 50
    assert "Show page 1-2 with the passage" in view


def test_letters_ignore_case_accents_spaces_and_hyphens():
    assert letters("Kühl-\nung  DES")[0] == "kuhlungdes"
    assert letters("\ufb01nden")[0] == "finden"  # a ligature code point spells its letters


@pytest.mark.parametrize(
    ("page", "text", "expected"),
    [
        ("Die Küh-\nlung des Reaktors", "Kühlung des", (4, 16)),  # hyphen joined by the cleanup
        ("Kopfzeile\nDer Text geht weiter", "Der Text", (10, 17)),  # a dropped header stays unpainted
        ("ganz anderes", "Leuchtturm von Süderoog", None),
    ],
)
def test_matching_page_characters(page, text, expected):
    found = match_characters(list(page), text)
    assert (found[0], found[-1]) == expected if expected else found == []


def test_card_shows_page_and_section_and_the_page_view(pdf):
    document = extract(pdf)
    piece = "Der Leuchtturm von Süderoog"
    start = document.text.index(piece)
    passage = Passage(source="kueste.pdf", title="Handbuch", language="de", text=piece, start=start,
                      end=start + len(piece), score=0.5, page_start=2, page_end=2, section="Flotte › Leuchtturm")
    card = citation_card(Citation(n=1, passage=passage), 1, document.text, "<details class='page-view'></details>")
    assert "kueste.pdf · page 2 · Flotte › Leuchtturm · German" in card
    assert "<details class='page-view'></details>" in card
    assert "Show in the whole text (Flotte › Leuchtturm)" in card


def test_section_text_is_escaped_on_the_card():
    passage = Passage(source="a.md", title="A", language="en", text="x", start=0, end=1, score=0.1,
                      section="<script>alert(1)</script> › B")
    card = citation_card(Citation(n=1, passage=passage), 1, "x")
    assert "<script>" not in card and "&lt;script&gt;" in card


def test_find_boxes_of_text_not_on_the_page_is_empty(pdf):
    import pypdfium2 as pdfium

    from rag.web.pages import _PageGeometry

    document = pdfium.PdfDocument(pdf)
    page = document[0]
    textpage = page.get_textpage()
    try:
        assert find_boxes(textpage, _PageGeometry(page), "Möwenkolonie am Deich") == []
        assert len(find_boxes(textpage, _PageGeometry(page), "Die Flotte der Küstenwache")) == 1
    finally:
        textpage.close()
        page.close()
        document.close()
