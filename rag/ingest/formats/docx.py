"""Word (.docx): body paragraphs and tables in document order, sections from heading styles.

Headings are paragraphs whose style (or a style it is based on) is "Heading N", or that carry an
outline level. Paragraphs are separated by a blank line, table rows by a line break, and cells
by `` | ``. Deleted tracked changes, field codes and the fallback copies of drawings are left
out; headers, footers, footnotes and text boxes are not read.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from rag.ingest.formats.base import ExtractedText, unreadable
from rag.ingest.formats.markdown import sections_from_headings

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_HEADING_NAME = re.compile(r"heading\s*([1-9])", re.IGNORECASE)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NOT_TEXT = {_W + "txbxContent", _W + "del", _W + "moveFrom", _MC_FALLBACK, _W + "footnoteReference",
             _W + "endnoteReference", _W + "instrText", _W + "delInstrText", _W + "pPr", _W + "rPr"}


def read_docx(path: Path) -> ExtractedText:
    """A .docx file; UnreadableDocument for files that are not Word documents."""
    document = _open(path)
    levels = _StyleLevels(document)
    blocks: list[tuple[str, int]] = []  # (text, heading level or 0)
    first_title_paragraph: str | None = None
    for element in _body_blocks(document.element.body):
        if element.tag == _W + "tbl":
            table = _table_text(element)
            if table:
                blocks.append((table, 0))
            continue
        text = paragraph_text(element).strip()
        if not text:
            continue
        style_id = _style_id(element)
        if first_title_paragraph is None and levels.is_title(style_id):
            first_title_paragraph = text
        blocks.append((text, levels.level(element, style_id)))
    parts: list[str] = []
    headings: list[tuple[int, int, str]] = []
    offset = 0
    for text, level in blocks:
        if parts:
            parts.append("\n\n")
            offset += 2
        if level:
            headings.append((offset, level, " ".join(text.split())))
        parts.append(text)
        offset += len(text)
    full = "".join(parts)
    core_title = (document.core_properties.title or "").strip()
    title = core_title or first_title_paragraph or next((t for _o, lv, t in headings if lv == 1), None)
    return ExtractedText(text=full, format="docx", sections=sections_from_headings(headings, len(full)),
                         title=title)


def paragraph_text(p: Any) -> str:
    """A paragraph's visible text: runs, hyperlinks, content controls and inserted changes;
    tabs as ``\\t`` and line breaks as ``\\n``."""
    out: list[str] = []
    _collect(p, out)
    return "".join(out)


def _collect(element: Any, out: list[str]) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _NOT_TEXT:
            continue
        if tag == _W + "t":
            out.append(child.text or "")
        elif tag == _W + "tab":
            out.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            out.append("\n")
        elif tag == _W + "noBreakHyphen":
            out.append("-")
        elif tag == _W + "p":  # a paragraph nested in a run-level container
            if out and not out[-1].endswith("\n"):
                out.append("\n")
            _collect(child, out)
        else:
            _collect(child, out)


def _body_blocks(body: Any) -> list[Any]:
    """Paragraphs and tables of the body in order, looking inside content controls."""
    blocks = []
    for child in body:
        if child.tag in (_W + "p", _W + "tbl"):
            blocks.append(child)
        elif child.tag in (_W + "sdt", _W + "sdtContent", _W + "customXml", _W + "ins"):
            blocks.extend(_body_blocks(child))
    return blocks


def _table_text(table: Any) -> str:
    """Rows on their own lines, cells joined by `` | ``; nested tables flattened into their cell."""
    rows = []
    for row in table.iter(_W + "tr"):
        if next(row.iterancestors(_W + "tbl")) is not table:
            continue  # a row of a nested table: read as part of its cell
        cells = []
        for cell in row:
            if cell.tag != _W + "tc":
                continue
            texts = (paragraph_text(p).strip() for p in cell.iter(_W + "p"))
            cells.append(" ".join(t.replace("\n", " ") for t in texts if t))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _style_id(p: Any) -> str | None:
    style = p.find(f"{_W}pPr/{_W}pStyle")
    return style.get(_W + "val") if style is not None else None


class _StyleLevels:
    """Heading levels of paragraph styles: by name ("Heading 2") or outline level, inherited
    through "based on"."""

    def __init__(self, document: Any) -> None:
        self._styles = {}
        self._default = None
        for style in document.styles.element.findall(_W + "style"):
            if style.get(_W + "type") != "paragraph":
                continue
            style_id = style.get(_W + "styleId")
            name = style.find(_W + "name")
            based = style.find(_W + "basedOn")
            outline = style.find(f"{_W}pPr/{_W}outlineLvl")
            self._styles[style_id] = (
                name.get(_W + "val") if name is not None else "",
                based.get(_W + "val") if based is not None else None,
                _outline_level(outline),
            )
            if style.get(_W + "default") in ("1", "true"):
                self._default = style_id

    def level(self, p: Any, style_id: str | None) -> int:
        """1-9 for a heading paragraph, else 0."""
        own = _outline_level(p.find(f"{_W}pPr/{_W}outlineLvl"))
        if own is not None:
            return own
        seen: set[str] = set()
        current = style_id or self._default
        while current and current in self._styles and current not in seen:
            seen.add(current)
            name, based, outline = self._styles[current]
            match = _HEADING_NAME.fullmatch(name.strip())
            if match:
                return int(match[1])
            if outline is not None:
                return outline
            current = based
        return 0

    def is_title(self, style_id: str | None) -> bool:
        return bool(style_id) and self._styles.get(style_id, ("",))[0].strip().lower() == "title"


def _outline_level(element: Any) -> int | None:
    """Heading level 1-9 for an outline level element; None for none or body text (9)."""
    if element is None:
        return None
    try:
        value = int(element.get(_W + "val"))
    except (TypeError, ValueError):
        return None
    return value + 1 if 0 <= value < 9 else 0


def _open(path: Path) -> Any:
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    name = path.name
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k" in path.read_bytes()[:65536]:
            raise unreadable(name, "it is password-protected (encrypted); save an unprotected copy")
        raise unreadable(name, "it is an old binary Word file (.doc), not a .docx; save it as .docx")
    if not zipfile.is_zipfile(path):
        raise unreadable(name, "it is not a Word document (a .docx is a ZIP package, this file is not)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise unreadable(name, "the ZIP package is damaged") from None
    if "word/document.xml" not in names and "[Content_Types].xml" not in names:
        raise unreadable(name, "it is a ZIP archive, not a Word document (no word/document.xml inside)")
    try:
        return docx.Document(str(path))
    except zipfile.BadZipFile:
        raise unreadable(name, "the ZIP package is damaged") from None
    except (PackageNotFoundError, KeyError, ValueError) as error:
        if "word/document.xml" not in names:
            raise unreadable(name, "it is a ZIP archive, not a Word document (no word/document.xml inside)") from None
        if "macroEnabled" in str(error) or "template" in str(error):
            raise unreadable(name, "it is a Word template or macro document; save it as a .docx") from None
        raise unreadable(name, "it is not a valid Word document") from None
    except Exception:  # lxml parse errors and other damage inside the package
        raise unreadable(name, "the Word document inside is damaged (its XML cannot be read)") from None
