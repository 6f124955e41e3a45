"""Cleaning the text of PDF pages, whichever library read them.

``clean_pages`` takes one string per page and returns one per page with: line ends as ``\\n``,
NFC composition (a spacing accent right before a letter, ``f¨ur``, put on it), ligature code
points (U+FB00-FB06) spelled out, repeated headers and footers dropped, and words hyphenated at
line ends (also across a page break) joined again where that is safe. It never applies NFKC to
anything but the ligatures.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

#: Ligature code points and their letters (NFKC of these code points only).
LIGATURES = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFB00, 0xFB07)}
#: PDFium writes U+FFFE (older builds U+0002) for a hyphen it recognised at a line end, and
#: drops the line break after it.
_PDFIUM_HYPHENS = {0xFFFE: "-\n", 0x0002: "-\n"}
_CONTROL = {code: None for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}
_TABLE = {**_CONTROL, **LIGATURES, **_PDFIUM_HYPHENS}

#: A spacing accent right before a letter, as old TeX fonts (OT1) give "f¨ur" for "für".
#: Spacing accents that old TeX fonts (OT1) draw as glyphs of their own, and their combining forms.
SPACING_ACCENTS = {"\u00a8": "\u0308", "\u00b4": "\u0301", "\u02c6": "\u0302", "\u02dc": "\u0303",
                   "\u02da": "\u030a", "\u02c7": "\u030c", "\u00af": "\u0304", "\u02d8": "\u0306",
                   "\u02d9": "\u0307", "\u02dd": "\u030b", "\u00b8": "\u0327"}
#: Dotless i and j, on which TeX puts accents.
DOTLESS = {"\u0131": "i", "\u0237": "j"}
_ACCENT_BEFORE_LETTER = re.compile("([\u00a8\u00b4\u02c6\u02dc\u02da\u02c7\u02d8\u02d9\u02dd])([^\\W\\d_])")

_EDGE_LINES = 3  # lines at the top and at the bottom of a page that may be a header or footer
_MIN_PAGES = 3  # fewer pages than this: no header/footer detection
_ROMAN = re.compile(r"(?=[ivxlcdm])m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})")
_DIGITS = re.compile(r"\d+")

#: A hyphen at a line end and the next line's first word (with "-x" if a compound goes on).
_LINE_END_HYPHEN = re.compile(r"([-\u2010\u00ad])[ \t]*\n[ \t]*(?=(\w+)([-\u2010]\w)?)")
_WORD_PART = re.compile(r"[\w\-\u2010\u00ad]*$")
_PAGE_END_HYPHEN = re.compile(r"\w[-\u2010\u00ad]$")
#: Words after a hyphen that mean the hyphen is a real one: "Lese- und Schreibrechte",
#: "pre- and post-processing".
_CONJUNCTIONS = {"und", "oder", "bzw", "sowie", "bis", "noch", "als", "wie", "and", "or", "nor", "to",
                 "vs", "versus", "et", "ou"}
_WORD = re.compile(r"\w+(?:[-\u2010]\w+)*")


def clean_pages(pages: list[str]) -> list[str]:
    """The pages' text, cleaned (see the module doc). Same number of pages as given."""
    pages = [normalise_page(page) for page in pages]
    pages = drop_running_lines(pages)
    pages = join_hyphens_across_pages(pages)
    vocabulary = _vocabulary(pages)
    return [dehyphenate(page, vocabulary).replace("\u00ad", "") for page in pages]


def normalise_page(text: str) -> str:
    """``\\n`` line ends, ligatures spelled out, control characters gone, NFC, no spaces at line
    ends and no blank lines at the start or end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TABLE)
    text = _ACCENT_BEFORE_LETTER.sub(_compose_accent, text)
    text = unicodedata.normalize("NFC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def _compose_accent(match: re.Match[str]) -> str:
    """``¨u`` as ``ü`` when the two make one letter; else unchanged."""
    letter = DOTLESS.get(match[2], match[2])
    composed = unicodedata.normalize("NFC", letter + SPACING_ACCENTS[match[1]])
    return composed if len(composed) == 1 else match[0]


def line_key(line: str) -> str:
    """A line as compared between pages: page numbers (digits, roman numerals) and spacing
    ignored, case folded. A bare page number is "#"."""
    line = " ".join(line.split()).casefold()
    if _ROMAN.fullmatch(line):
        return "#"
    return _DIGITS.sub("#", line)


def running_lines(pages: list[str]) -> dict[str, bool]:
    """Keys of lines repeated at the top or bottom of pages, each with whether it runs through
    the document. Through the document: on at least half of all pages. By chapter (a running head
    that changes with the chapter, a table caption repeated on continuation pages): on at least 3
    pages and half of the pages from its first to its last appearance. A bare page number only
    counts as the very first or last line of a page."""
    if len(pages) < _MIN_PAGES:
        return {}
    where: dict[str, list[int]] = {}
    for number, page in enumerate(pages):
        for key in {key for _index, key in _edge_keys(page.split("\n"))}:
            where.setdefault(key, []).append(number)
    running = {}
    for key, numbers in where.items():
        span = numbers[-1] - numbers[0] + 1
        if len(numbers) >= max(_MIN_PAGES, len(pages) / 2):
            running[key] = True
        elif len(numbers) >= _MIN_PAGES and len(numbers) >= span / 2:
            running[key] = False
    return running


def _edge_keys(lines: list[str]) -> list[tuple[int, str]]:
    """(index, key) of the first and last few non-blank lines; a bare page number only as the
    very first or last of them."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    edges = sorted(set(content[:_EDGE_LINES]) | set(content[-_EDGE_LINES:]))
    keys = []
    for i in edges:
        key = line_key(lines[i])
        if key and (key != "#" or i in (content[0], content[-1])):
            keys.append((i, key))
    return keys


def drop_running_lines(pages: list[str]) -> list[str]:
    """Pages without their repeated header and footer lines (only removed near the page edges).
    Of a line that repeats by chapter only, the first appearance in the document stays."""
    running = running_lines(pages)
    if not running:
        return pages
    seen: set[str] = set()
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        drop = set()
        for index, key in _edge_keys(lines):
            if key not in running:
                continue
            if running[key] or key in seen:
                drop.add(index)
            seen.add(key)
        kept = [line for i, line in enumerate(lines) if i not in drop]
        cleaned.append("\n".join(kept).strip("\n"))
    return cleaned


def join_hyphens_across_pages(pages: list[str]) -> list[str]:
    """A word hyphenated at the end of one page and continued on the next is put together on
    the first page (the continuation moves there), when ``dehyphenate`` would join it."""
    pages = list(pages)
    for i in range(len(pages) - 1):
        tail, head = pages[i], pages[i + 1]
        match = _PAGE_END_HYPHEN.search(tail, max(0, len(tail) - 2))
        first = re.match(r"(\w+)([^\s]*)[ \t]*", head)
        if not match or not match[0][0].isalpha() or not first or not first[1][0].islower():
            continue
        pages[i] = tail + "\n" + head[: first.end(2)]
        pages[i + 1] = head[first.end():].lstrip(" \t\n")
    return pages


def dehyphenate(text: str, vocabulary: Counter[str] | None = None) -> str:
    """Joins words hyphenated at line ends.

    ``Verarbei-\\ntung`` becomes ``Verarbeitung``. The hyphen stays, and the line break goes,
    where the hyphen is part of the word: the next part starts with a capital or a digit
    (``E-Mail-\\nAdresse``), the first part already holds a hyphen (``state-of-the-\\nart``), or
    the next part goes on with a hyphen (``state-\\nof-the-art``), or ``vocabulary`` (word counts
    of the document) has the hyphenated form more often than the joined one. A chain of breaks
    inside one long word is joined link by link.
    Before "und", "oder", "and", "or" ... the hyphen stays and the line break becomes a space
    (``Lese-\\nund Schreibrechte``)."""

    def join(match: re.Match[str]) -> str:
        hyphen, right, compound = match[1], match[2], match[3]
        # the word part before the hyphen (it may hold hyphens itself)
        before = _WORD_PART.search(text, max(0, match.start() - 100), match.start())
        left = before[0].lstrip("-\u2010\u00ad") if before else ""
        if not left or not left[-1].isalnum():
            return match[0]
        if right.lower() in _CONJUNCTIONS and hyphen != "\u00ad":
            return f"{hyphen} "
        if hyphen == "\u00ad":
            return ""
        if not left[-1].isalpha() or not right[0].islower() or compound or re.search(r"[-\u2010]", left):
            return hyphen
        if vocabulary is not None:
            words = _WORD.findall(left)
            word = words[-1] if words else left
            joined, hyphenated = (word + right).casefold(), f"{word}-{right}".casefold()
            if vocabulary[hyphenated] > vocabulary[joined]:
                return hyphen
        return ""

    return _LINE_END_HYPHEN.sub(join, text)


def _vocabulary(pages: list[str]) -> Counter[str]:
    """Word counts (case folded) of words not broken at line ends, hyphenated compounds as one."""
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update(word.casefold() for word in _WORD.findall(re.sub(r"-[ \t]*\n", " ", page)))
    return counts
