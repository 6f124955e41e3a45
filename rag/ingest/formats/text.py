"""Plain text: exactly what ``open(path, encoding="utf-8").read()`` returns.

A UTF-8 byte-order mark stays as character 0, and line ends are translated as Python's text mode
does (``\\r\\n`` and a lone ``\\r`` become ``\\n``). A file that starts with a UTF-16 or UTF-32
byte-order mark is read in that encoding (the mark is dropped, as Python's codecs do).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from rag.ingest.formats.base import ExtractedText, unreadable

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: FF FE 00 00 also starts like UTF-16 LE
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_text(path: Path) -> ExtractedText:
    """A plain-text file."""
    return ExtractedText(text=decode_text(path.read_bytes(), path.name), format="text")


def decode_text(data: bytes, name: str) -> str:
    """``data`` as Python's UTF-8 text mode reads it (or UTF-16/32 when it starts with their BOM).

    Raises UnreadableDocument when the bytes are not text in that encoding."""
    encoding = next((codec for bom, codec in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        if encoding == "utf-8":
            reason = f"it is not UTF-8 text (line {line} has bytes that are not valid UTF-8)"
        else:
            reason = f"it starts like {encoding.upper()} text but is not valid {encoding.upper()}"
        raise unreadable(name, reason) from None
    if encoding == "utf-8" and "\x00" in text:
        raise unreadable(
            name,
            "it contains NUL bytes, so it is a binary file or UTF-16 text without a byte-order mark",
        )
    return universal_newlines(text)


def universal_newlines(text: str) -> str:
    """Line ends as Python's text mode translates them: ``\\r\\n`` and ``\\r`` become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
