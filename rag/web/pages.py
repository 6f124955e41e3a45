"""PDF citations shown on their rendered pages, the cited passage highlighted.

Pages are rendered locally with PDFium (pypdfium2), which also gives every character's box. The
extracted text is cleaned (rag.ingest.formats.pdfclean: hyphens joined, headers dropped, accents
placed), so it is not a character-for-character copy of the page: the passage is found on the
page by its letters and digits alone (case-folded, accents stripped), exactly where possible and
else by the longest matching runs, and the boxes of those characters are painted.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from collections import OrderedDict
from pathlib import Path

from rag.errors import RagError
from rag.ingest.formats import ExtractedText
from rag.types import Citation, Passage

RENDER_SCALE = 1.4  # pixels per PDF point: A4 becomes 833 x 1179 pixels
MAX_PAGES_SHOWN = 3  # of a passage running over several pages
PASSAGE_FILL = (255, 214, 102, 110)  # the passage
CITED_FILL = (255, 140, 0, 120)  # the sentences the answer cites, over the passage
MIN_MATCH = 4  # letters a matching run needs when the passage is not found exactly
_LOCK = threading.Lock()  # PDFium is not thread-safe
log = logging.getLogger(__name__)
#: The sources panel is drawn again for every answer of a conversation: each page view is rendered
#: once per file version and passage (about 0.1 MB of HTML each), the last MAX_CACHED_VIEWS kept.
MAX_CACHED_VIEWS = 64
_PAGE_VIEWS: OrderedDict[tuple, str] = OrderedDict()
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float


def location_label(passage: Passage) -> str:
    """"page 3 · Installation › Offline use", "page 3-4", or "" for text without either."""
    parts = [f"page {passage.page}" if passage.page else "", passage.section or ""]
    return " · ".join(part for part in parts if part)


def page_spans_of(extracted: ExtractedText, passage: Passage) -> list[tuple[int, str]]:
    """(page number, the part of the passage on that page) for each page the passage touches."""
    parts = []
    for page in extracted.pages:
        start, end = max(passage.start, page.start), min(passage.end, page.end)
        if start < end and extracted.text[start:end].strip():
            parts.append((page.number, extracted.text[start:end]))
    return parts


PAGE_CSS = """
.page-view figure.pdf-page { margin: 6px 0; }
.page-view img { max-width: 100%; border: 1px solid var(--border-color-primary); }
.page-view figcaption { font-size: 0.8em; color: var(--body-text-color-subdued); }
"""


def citation_page_view(rag, citation: Citation) -> str:
    """The page view of a citation of a PDF (``rag``: a rag.api.Rag); "" for other formats or
    when the file cannot be read any more."""
    if not citation.passage.page:
        return ""
    try:
        source = rag.source_file(citation.source)
    except RagError:
        return ""
    if source.extracted.format != "pdf":
        return ""
    try:
        version = source.path.stat().st_mtime_ns
    except OSError:
        return ""
    key = (str(source.path), version, citation.passage.start, citation.passage.end, tuple(map(tuple, citation.highlights)))
    with _CACHE_LOCK:
        if key in _PAGE_VIEWS:
            _PAGE_VIEWS.move_to_end(key)
            return _PAGE_VIEWS[key]
    view = page_view_html(source.path, source.extracted, citation)
    with _CACHE_LOCK:
        _PAGE_VIEWS[key] = view
        while len(_PAGE_VIEWS) > MAX_CACHED_VIEWS:
            _PAGE_VIEWS.popitem(last=False)
    return view


def page_view_html(pdf: Path, extracted: ExtractedText, citation: Citation) -> str:
    """A collapsed block with the passage's pages rendered, the passage highlighted; "" when the
    file has no pages or cannot be rendered."""
    passage = citation.passage
    parts = page_spans_of(extracted, passage)[:MAX_PAGES_SHOWN]
    if not parts:
        return ""
    cited = [extracted.text[max(a, passage.start) : min(b, passage.end)] for a, b in citation.highlights]
    images = []
    for number, text in parts:
        try:
            png = render_page(pdf, number, text, [c for c in cited if c.strip() and c in text])
        except Exception:  # a page PDFium cannot render costs the picture, not the answer
            log.warning("cannot render page %d of %s", number, pdf.name, exc_info=True)
            continue
        alt = f"Page {number} of {pdf.name}, the cited passage highlighted"
        images.append(
            f'<figure class="pdf-page"><img alt="{html.escape(alt)}" data-page="{number}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
            f"<figcaption>page {number}</figcaption></figure>"
        )
    if not images:
        return ""
    label = f"page {passage.page}" if passage.page else "the page"
    return f'<details class="page-view"><summary>Show {label} with the passage</summary>{"".join(images)}</details>'


def render_page(pdf: Path, number: int, passage_text: str, cited: Iterable[str] = ()) -> bytes:
    """Page ``number`` (1-based) of ``pdf`` as PNG, ``passage_text`` highlighted on it and the
    ``cited`` pieces of it more strongly."""
    import pypdfium2 as pdfium
    from PIL import Image

    with _LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            page = document[number - 1]
            try:
                image = page.render(scale=RENDER_SCALE).to_pil().convert("RGBA")
                textpage = page.get_textpage()
                try:
                    geometry = _PageGeometry(page)
                    layers = [(find_boxes(textpage, geometry, passage_text), PASSAGE_FILL)]
                    layers += [(find_boxes(textpage, geometry, piece), CITED_FILL) for piece in cited]
                finally:
                    textpage.close()
            finally:
                page.close()
        finally:
            document.close()
    for boxes, fill in layers:
        image = Image.alpha_composite(image, _tint(image.size, boxes, fill))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _tint(size: tuple[int, int], boxes: list[Box], fill: tuple[int, int, int, int]):
    """A transparent layer with ``boxes`` in ``fill``; overlapping boxes are not darker."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for box in boxes:
        draw.rectangle((box.left - 1, box.top - 1, box.right + 1, box.bottom + 1), fill=fill[3])
    layer = Image.new("RGBA", size, fill[:3] + (0,))
    layer.putalpha(mask)
    return layer


class _PageGeometry:
    """From PDF page coordinates (points, origin at the bottom left) to image pixels."""

    def __init__(self, page):
        left, bottom, _right, top = page.get_cropbox()
        self.left, self.top = left, top

    def box(self, left: float, bottom: float, right: float, top: float) -> Box:
        s = RENDER_SCALE
        return Box((left - self.left) * s, (self.top - top) * s, (right - self.left) * s, (self.top - bottom) * s)


def find_boxes(textpage, geometry: _PageGeometry, text: str) -> list[Box]:
    """Boxes (one per line) of the page's characters that spell ``text``; [] when it is not there."""
    import pypdfium2.raw as pdfium_c

    count = textpage.count_chars()
    chars = [chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count)]
    indices = match_characters(chars, text)
    boxes = []
    for i in indices:
        if chars[i].isspace():
            continue
        left, bottom, right, top = textpage.get_charbox(i)
        if right > left and top > bottom:
            boxes.append(geometry.box(left, bottom, right, top))
    return merge_lines(boxes)


def match_characters(page_chars: list[str], text: str) -> list[int]:
    """Indices of the page characters from the first to the last that spell ``text`` (compared
    by letters and digits only); [] when too little of it is on the page."""
    hay, where = letters(page_chars)
    needle, _ = letters(text)
    if not needle or not hay:
        return []
    found = hay.find(needle)
    if found >= 0:
        first, last = found, found + len(needle) - 1
    else:
        blocks = [b for b in SequenceMatcher(None, hay, needle, autojunk=False).get_matching_blocks()
                  if b.size >= MIN_MATCH]
        if sum(b.size for b in blocks) < len(needle) / 2:
            return []
        first, last = blocks[0].a, blocks[-1].a + blocks[-1].size - 1
    return list(range(where[first], where[last] + 1))


def letters(chars: Iterable[str]) -> tuple[str, list[int]]:
    """The letters and digits of ``chars``, case-folded without accents or ligatures, and for
    each the index of the character it came from."""
    out, where = [], []
    for index, char in enumerate(chars):
        for letter in unicodedata.normalize("NFKD", char).casefold():
            if letter.isalnum():
                out.append(letter)
                where.append(index)
    return "".join(out), where


def merge_lines(boxes: list[Box]) -> list[Box]:
    """Character boxes merged into one box per run on a line (boxes in reading order)."""
    merged: list[Box] = []
    for box in boxes:
        last = merged[-1] if merged else None
        height = box.bottom - box.top
        same_line = last is not None and abs(last.top - box.top) < height * 0.6 and abs(last.bottom - box.bottom) < height * 0.6
        if same_line and -height < box.left - last.right < height * 3:
            merged[-1] = Box(min(last.left, box.left), min(last.top, box.top), max(last.right, box.right),
                             max(last.bottom, box.bottom))
        else:
            merged.append(box)
    return merged
