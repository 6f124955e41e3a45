"""PDF, read with PDFium (pypdfium2) page by page.

Pages are joined with a blank line (``PAGE_SEPARATOR``); each PageSpan covers its page's text
and the separator after it. The text is cleaned by ``rag.ingest.formats.pdfclean`` (ligatures, repeated
headers/footers, words hyphenated at line ends). Sections come from the PDF's outline
(bookmarks), placed at the bookmark's heading on its page when the heading is found there, else
at the page start. Pages are opened and closed one at a time, so memory does not grow with the
page count beyond the text itself. PDFium is not thread-safe: one PDF is read at a time per
process.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.ingest.formats.base import ExtractedText, PageSpan, unreadable
from rag.ingest.formats.markdown import sections_from_headings
from rag.ingest.formats.pdfclean import DOTLESS, SPACING_ACCENTS, clean_pages

PAGE_SEPARATOR = "\n\n"
_LOCK = threading.Lock()
_MAX_OUTLINE_ITEMS = 10_000
_JUNK_TITLE = re.compile(
    r"(?i)^(untitled|unbenannt|document\d*|doc\d*|titel|title)$|\.(dvi|tex|docx?|odt|pdf|indd|qxd|rtf)$"
)


def read_pdf(path: Path, on_page: Callable[[int, int], None] | None = None) -> ExtractedText:
    """A PDF's text with pages, outline sections and title; ``on_page(done, total)`` after each
    page. UnreadableDocument for encrypted, damaged or text-less PDFs."""
    import pypdfium2 as pdfium

    name = path.name
    _check_envelope(path, name)
    with _LOCK:
        try:
            document = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as error:
            raise unreadable(name, _open_error_reason(error)) from None
        try:
            raw = _page_texts(document, name, on_page)
            title = _title(document)
            outline = _outline(document)
        finally:
            document.close()
    if not any(page.strip() for page in raw):
        reason = "it has no text layer (scanned?); run OCR on it first" if raw else "it has no pages"
        raise unreadable(name, reason)
    pages = clean_pages(raw)
    text, spans = join_pages(pages)
    sections = sections_from_headings(_place_outline(outline, text, spans), len(text))
    sections = tuple(s for s in sections if s.end > s.start)
    return ExtractedText(text=text, format="pdf", pages=spans, sections=sections, title=title)


def join_pages(pages: list[str]) -> tuple[str, tuple[PageSpan, ...]]:
    """The pages joined by PAGE_SEPARATOR, and each page's span (separator included)."""
    spans, offset = [], 0
    for number, page in enumerate(pages, 1):
        end = offset + len(page) + (len(PAGE_SEPARATOR) if number < len(pages) else 0)
        spans.append(PageSpan(number=number, start=offset, end=end))
        offset = end
    return PAGE_SEPARATOR.join(pages), tuple(spans)


def _check_envelope(path: Path, name: str) -> None:
    """A PDF starts with ``%PDF-`` and ends with ``%%EOF``; a download cut short does not."""
    with path.open("rb") as handle:
        head = handle.read(1024)
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 2048))
        tail = handle.read()
    if b"%PDF-" not in head:
        raise unreadable(name, "it is not a PDF file (it does not start like one)")
    if b"%%EOF" not in tail:
        raise unreadable(name, "the file is incomplete (truncated): the end of the PDF is missing")


def _open_error_reason(error: Any) -> str:
    import pypdfium2.raw as pdfium_c

    code = getattr(error, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "it is password-protected (encrypted); save a copy without a password and add that"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "it is encrypted with a protection scheme that cannot be opened here"
    if code == pdfium_c.FPDF_ERR_FILE:
        return "the file cannot be opened"
    return "it is damaged: its PDF structure cannot be read"


def _page_texts(document: Any, name: str, on_page: Callable[[int, int], None] | None) -> list[str]:
    import pypdfium2 as pdfium

    total = len(document)
    texts = []
    for index in range(total):
        try:
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    texts.append(page_text(textpage))
                finally:
                    textpage.close()
            finally:
                page.close()
        except pdfium.PdfiumError:
            raise unreadable(name, f"page {index + 1} of {total} is damaged and cannot be read") from None
        if on_page is not None:
            on_page(index + 1, total)
    return texts


def page_text(textpage: Any) -> str:
    """PDFium's text of a page; spacing accents drawn over letters are put on their letters."""
    text = textpage.get_text_range()
    if not any(accent in text for accent in SPACING_ACCENTS):
        return text
    return _place_accents(textpage)


def _place_accents(textpage: Any) -> str:
    """The page text character by character, each spacing accent (``¨`` in ``f¨ur``, or left at
    the line end by PDFium) combined with the letter it is drawn over (under, for a cedilla)."""
    import pypdfium2.raw as pdfium_c

    count = textpage.count_chars()
    codes = [pdfium_c.FPDFText_GetUnicode(textpage.raw, i) for i in range(count)]
    chars = []
    for i, code in enumerate(codes):
        if 0xD800 <= code < 0xDC00 and i + 1 < count and 0xDC00 <= codes[i + 1] < 0xE000:
            chars.append(chr(0x10000 + ((code - 0xD800) << 10) + codes[i + 1] - 0xDC00))
        elif 0xDC00 <= code < 0xE000 or (code < 0x20 and code not in (2, 9, 10, 13)):
            chars.append("")
        elif code == 2:  # PDFium's mark for a hyphen at a line end
            chars.append("\ufffe" if pdfium_c.FPDFText_IsHyphen(textpage.raw, i) else "")
        else:
            chars.append(chr(code))
    boxes: dict[int, tuple[float, float, float, float]] = {}

    def box(index: int) -> tuple[float, float, float, float]:
        if index not in boxes:
            boxes[index] = textpage.get_charbox(index)
        return boxes[index]

    moved = []
    for k, accent in enumerate(chars):
        combining = SPACING_ACCENTS.get(accent)
        if combining is None:
            continue
        base = _accented_letter(chars, k, textpage, box, below=accent == "\u00b8")
        if base is not None:
            letter = DOTLESS.get(chars[base], chars[base])
            chars[base] = unicodedata.normalize("NFC", letter + combining)
            chars[k] = ""
            moved.append(k)
    for k in moved:
        _close_gap(chars, k, box)
    return "".join(chars)


def _close_gap(chars: list[str], k: int, box: Callable[[int], tuple[float, float, float, float]]) -> None:
    """Spaces PDFium put around an accent that was moved away: all go where the letters on
    either side touch ("Gr ¨ oße"), one stays between words, none at a line end."""
    low, high = k, k
    while low > 0 and chars[low - 1] in (" ", ""):
        low -= 1
    while high + 1 < len(chars) and chars[high + 1] in (" ", ""):
        high += 1
    spaces = [i for i in range(low, high + 1) if chars[i] == " "]
    if not spaces:
        return
    before, after = low - 1, high + 1
    keep = 1
    if after >= len(chars) or chars[after] in ("\r", "\n") or before < 0 or chars[before] in ("\r", "\n"):
        keep = 0
    elif chars[before].isalpha() and chars[after].isalpha():
        left, right = box(before), box(after)
        height = max(left[3] - left[1], right[3] - right[1])
        same_line = min(left[3], right[3]) > max(left[1], right[1])
        if same_line and right[0] - left[2] < 0.35 * height:  # a word space is wider
            keep = 0
    for i in spaces[keep:]:
        chars[i] = ""


def _accented_letter(chars: list[str], k: int, textpage: Any,
                     box: Callable[[int], tuple[float, float, float, float]], below: bool) -> int | None:
    """Index of the letter the accent at ``k`` sits on: horizontally over it, and vertically
    just above it (just below, for a cedilla). Candidates: the characters next to the accent and
    those PDFium finds just under (over) it. None if none fits."""
    left, bottom, right, top = box(k)
    centre = (left + right) / 2
    candidates = [k + 1, k - 1]
    for depth in (1.5, 3.5):
        found = textpage.get_index(centre, top + depth if below else bottom - depth, 1.0, 1.5)
        if found is not None:
            candidates.append(found)
    best, best_distance = None, float("inf")
    for j in candidates:
        if j == k or not 0 <= j < len(chars) or len(chars[j]) != 1 or not chars[j].isalpha():
            continue
        x0, y0, x1, y1 = box(j)
        height = y1 - y0
        if height <= 0 or not x0 - 0.5 <= centre <= x1 + 0.5:
            continue
        if below:
            fits = top <= y0 + 0.5 * height and y0 - top <= height
        else:
            fits = bottom >= y0 + 0.5 * height and bottom - y1 <= height
        distance = abs(centre - (x0 + x1) / 2) + (abs(y0 - top) if below else abs(bottom - y1))
        if fits and distance < best_distance:
            best, best_distance = j, distance
    return best


def _title(document: Any) -> str | None:
    try:
        title = (document.get_metadata_dict().get("Title") or "").strip()
    except Exception:  # a damaged info dictionary is no reason to give up on the text
        return None
    title = re.sub(r"^Microsoft (Word|PowerPoint) - ", "", title).strip()
    if not title or _JUNK_TITLE.search(title):
        return None
    return " ".join(title.split())


def _outline(document: Any) -> list[tuple[int, str, int]]:
    """(depth from 1, title, 0-based page) of each bookmark that points at a page."""
    items: list[tuple[int, str, int]] = []
    try:
        for item in document.get_toc(max_depth=16):
            if len(items) >= _MAX_OUTLINE_ITEMS:
                break
            title = " ".join((item.get_title() or "").split())
            destination = item.get_dest()
            page = destination.get_index() if destination is not None else None
            if title and page is not None and 0 <= page < len(document):
                items.append((item.level + 1, title, page))
    except Exception:  # a broken outline costs the sections, not the text
        return []
    return items


def _place_outline(outline: list[tuple[int, str, int]], text: str,
                   spans: tuple[PageSpan, ...]) -> list[tuple[int, int, str]]:
    """Headings (offset, level, title) for the bookmarks, in text order: at the bookmark title
    on its page if found there, else at the page start. Bookmarks pointing backwards are
    dropped."""
    headings: list[tuple[int, int, str]] = []
    previous = 0
    for level, title, page in outline:
        span = spans[page]
        start = max(previous, span.start)
        if start > span.end:
            continue
        words = [re.escape(word) for word in title.split()]
        pattern = re.compile(r"[\s\-]*".join(words), re.IGNORECASE)
        found = pattern.search(text, start, span.end)
        offset = found.start() if found else start
        headings.append((offset, level, title))
        previous = offset
    return headings
