"""HTML: plain text in reading order, with sections from h1-h6 and the title from <title>.

The charset comes from a byte-order mark, else ``<meta charset>`` / ``http-equiv`` (or an XML
declaration) near the start, else UTF-8 when the bytes are valid UTF-8, else windows-1252. As
browsers do, ISO-8859-1 and ASCII labels decode as windows-1252. Scripts, styles, navigation and
hidden elements are dropped, and so are page-level footers (<footer> outside <article>/<main>,
role="contentinfo"); headers stay, as they often hold the page's <h1>. Block elements become
line breaks, table cells are joined with `` | ``.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path

from rag.ingest.formats.base import ExtractedText
from rag.ingest.formats.markdown import sections_from_headings

_PRESCAN_BYTES = 8192
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_WINDOWS_1252_LABELS = {
    "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
    "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii",
    "windows-1252", "x-cp1252", "latin-1",
}
# windows-1252 leaves five bytes undefined; browsers map them to the C1 control of the same value.
_C1_FALLBACK = {byte: byte for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_WINDOWS_1252 = {
    byte: ord(bytes([byte]).decode("cp1252")) for byte in range(0x80, 0xA0) if byte not in _C1_FALLBACK
}

_SKIPPED = {"script", "style", "noscript", "template", "nav", "select", "datalist", "iframe", "object",
            "svg", "canvas", "button"}
_SKIPPED_ROLES = {"navigation", "search", "contentinfo"}
_PAGE_CHROME = {"footer"}  # dropped only outside <article>/<main>; a <header> often holds the <h1>
_CONTENT_ROOTS = {"article", "main"}
_PARAGRAPH_BLOCKS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre", "section",
    "article", "main", "aside", "header", "footer", "figure", "form", "fieldset", "address", "hr",
    "details", "body",
}
_LINE_BLOCKS = {"div", "li", "tr", "dt", "dd", "caption", "figcaption", "summary", "legend", "option",
                "thead", "tbody", "tfoot", "center", "label"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
         "track", "wbr"}
#: Elements whose end tag may be left out: a hidden one ends where the next one (or its parent) does.
_OPTIONAL_END = {"p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot",
                 "colgroup", "rb", "rt", "rp"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SPACE = re.compile(r"\s+")


def read_html(path: Path) -> ExtractedText:
    """An HTML file as plain text."""
    return html_to_text(decode_html(path.read_bytes()))


def decode_html(data: bytes) -> str:
    """The page's characters, by BOM, declared charset, or UTF-8 with a windows-1252 fallback."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    declared = declared_charset(data[:_PRESCAN_BYTES])
    if declared == "windows-1252":
        return decode_windows_1252(data)
    if declared is not None:
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return decode_windows_1252(data)


def declared_charset(head: bytes) -> str | None:
    """The Python codec named by the page's meta charset or XML declaration; None if absent or
    unknown. A UTF-16 label in a page without BOM means UTF-8 (as in browsers)."""
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not match:
        return None
    label = match[1].decode("ascii").strip().lower()
    if label in _WINDOWS_1252_LABELS:
        return "windows-1252"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "utf-8" if name.startswith("utf-16") or name.startswith("utf-32") else name


def decode_windows_1252(data: bytes) -> str:
    """windows-1252 as browsers decode it: every byte maps to a character."""
    return data.decode("latin-1").translate(_WINDOWS_1252)


def html_to_text(markup: str) -> ExtractedText:
    """Plain text, sections and title of an HTML document given as characters."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text, headings = parser.result()
    sections = sections_from_headings(headings, len(text))
    title = parser.title or next((t for _s, level, t in headings if level == 1), None)
    return ExtractedText(text=text, format="html", sections=sections, title=title)


class _TextExtractor(HTMLParser):
    """Collects visible text with block structure; headings with their offsets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._length = 0
        self._at_line_start = True
        self._pending_break = 0
        self._pending_space = False
        self._skip: list[list] = []  # [tag, nesting depth] of the element being dropped
        self._content_depth = 0  # open <article>/<main> elements
        self._pre = 0
        self._pre_fresh = False
        self._cells = [0]  # cells seen in the current table row, per open table
        self._heading: tuple[int, list[str]] | None = None
        self._heading_start: int | None = None
        self._headings: list[tuple[int, int, str]] = []
        self._in_title = False
        self._title_parts: list[str] = []
        self.title: str | None = None

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        """A ``<![`` the standard library cannot read (no keyword, or one it does not know)
        is a bogus comment up to the next ``>``, as browsers read it; the library raises
        AssertionError there, which made the whole page unreadable."""
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            return self.parse_bogus_comment(i, report)

    # -- parser callbacks -------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip and self._implied_end(tag, start=True):
            self._skip.pop()
        if self._skip:
            if tag == self._skip[-1][0]:
                self._skip[-1][1] += 1
            return
        if tag not in _VOID and self._drops(tag, dict(attrs)):
            self._skip.append([tag, 1])
            return
        if tag == "title":
            self._in_title = True
        elif tag in _CONTENT_ROOTS:
            self._content_depth += 1
        if tag == "br":
            self._break(min(2, self._pending_break + 1), force=True)
            if self._heading is not None:
                self._heading[1].append(" ")
        elif tag in _PARAGRAPH_BLOCKS:
            self._break(2)
        elif tag in _LINE_BLOCKS:
            self._break(1)
        if tag == "table":
            self._cells.append(0)
        elif tag == "tr":
            self._cells[-1] = 0
        elif tag in ("td", "th"):
            if self._cells[-1]:
                self._pending_space = False
                self._write(" |", separator=True)
                self._pending_space = True
            self._cells[-1] += 1
        elif tag == "pre":
            self._pre += 1
            self._pre_fresh = True
        elif tag in _HEADINGS and self._heading is None:
            self._heading = (_HEADINGS[tag], [])
            self._heading_start = None

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._implied_end(tag, start=False):
            self._skip.pop()
        if self._skip:
            if tag == self._skip[-1][0]:
                self._skip[-1][1] -= 1
                if not self._skip[-1][1]:
                    self._skip.pop()
            return
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = _SPACE.sub(" ", "".join(self._title_parts)).strip() or None
        elif tag in _CONTENT_ROOTS and self._content_depth:
            self._content_depth -= 1
        elif tag == "pre" and self._pre:
            self._pre -= 1
        elif tag == "table" and len(self._cells) > 1:
            self._cells.pop()
        elif tag in _HEADINGS and self._heading is not None and _HEADINGS[tag] == self._heading[0]:
            level, words = self._heading
            heading = _SPACE.sub(" ", "".join(words)).strip()
            if heading and self._heading_start is not None:
                self._headings.append((self._heading_start, level, heading))
            self._heading = None
        if tag in _PARAGRAPH_BLOCKS:
            self._break(2)
        elif tag in _LINE_BLOCKS:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self._title_parts.append(data)
            return
        if self._heading is not None:
            self._heading[1].append(data)
        if self._pre:
            if self._pre_fresh and data.startswith("\n"):
                data = data[1:]
            self._pre_fresh = False
            if data:
                self._write(data)
            return
        collapsed = _SPACE.sub(" ", data)
        if collapsed.startswith(" "):
            self._pending_space = True
            collapsed = collapsed[1:]
        trailing = collapsed.endswith(" ")
        collapsed = collapsed.rstrip(" ")
        if collapsed:
            self._write(collapsed)
        if trailing:
            self._pending_space = True

    # -- output -----------------------------------------------------------------------------------

    def result(self) -> tuple[str, list[tuple[int, int, str]]]:
        """The text (no trailing whitespace) and the headings found."""
        text = "".join(self._parts).rstrip()
        return text, [h for h in self._headings if h[0] < len(text)]

    def _implied_end(self, tag: str, start: bool) -> bool:
        """Whether ``tag`` ends a dropped element whose end tag may be left out (``<p hidden>``
        followed by ``<p>``, or by the end of its list or table)."""
        dropped, depth = self._skip[-1]
        if dropped not in _OPTIONAL_END or depth != 1:
            return False
        if start:
            return tag == dropped or (tag in _PARAGRAPH_BLOCKS | _LINE_BLOCKS and dropped == "p")
        return tag != dropped and tag in _PARAGRAPH_BLOCKS | _LINE_BLOCKS | {"td", "th"}

    def _drops(self, tag: str, attrs: dict[str, str | None]) -> bool:
        if tag in _SKIPPED or "hidden" in attrs or (attrs.get("aria-hidden") or "").lower() == "true":
            return True
        if (attrs.get("role") or "").lower() in _SKIPPED_ROLES:
            return True
        return tag in _PAGE_CHROME and not self._content_depth

    def _break(self, lines: int, force: bool = False) -> None:
        if self._length or force:
            self._pending_break = max(self._pending_break, lines) if not force else lines
        self._pending_space = False

    def _write(self, chunk: str, separator: bool = False) -> None:
        if self._length and self._pending_break:
            have = self._trim_trailing_spaces()
            self._append("\n" * max(0, self._pending_break - have))
            self._at_line_start = True
        elif self._pending_space and not self._at_line_start:
            self._append(" ")
        self._pending_break = 0
        self._pending_space = False
        if separator and self._at_line_start:
            return
        if self._heading is not None and self._heading_start is None and not separator:
            self._heading_start = self._length
        self._append(chunk)
        self._at_line_start = chunk.endswith("\n")

    def _trim_trailing_spaces(self) -> int:
        """Drops spaces and tabs at the end of the output (outside <pre>); returns how many
        newlines (0-2) it then ends with."""
        while self._parts and not self._pre:
            stripped = self._parts[-1].rstrip(" \t")
            self._length -= len(self._parts[-1]) - len(stripped)
            if stripped:
                self._parts[-1] = stripped
                break
            self._parts.pop()
        tail = "".join(self._parts[-2:])[-2:]
        return len(tail) - len(tail.rstrip("\n"))

    def _append(self, chunk: str) -> None:
        self._parts.append(chunk)
        self._length += len(chunk)
