"""Plain text: exactly what ``open(path, encoding="utf-8").read()`` returns.

A UTF-8 byte-order mark stays as character 0, and line ends are translated as Python's text mode
does (``\\r\\n`` and a lone ``\\r`` become ``\\n``). A file that starts with a UTF-16 or UTF-32
byte-order mark is read in that encoding (the mark is dropped, as Python's codecs do).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from rag.ingest.formats.base import ExtractedText, UnreadableDocument, unreadable

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
    encoding = text_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _not_text(name, encoding, data.count(b"\n", 0, error.start) + 1) from None
    if encoding == "utf-8" and "\x00" in text:
        raise _binary(name)
    return universal_newlines(text)


def universal_newlines(text: str) -> str:
    """Line ends as Python's text mode translates them: ``\\r\\n`` and ``\\r`` become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


#: Characters of a plain-text file read, hashed and chunked at a time: what bounds an ingest's
#: memory for a huge file (rag.ingest.documents reads it as a stream of such blocks).
BLOCK_CHARS = 1 << 20
#: Bytes read from the file per read call while streaming it.
READ_BYTES = 1 << 16


def text_blocks(path: Path, block_chars: int | None = None) -> Iterator[str]:
    """The text ``read_text`` gives, as consecutive blocks of at most ``block_chars`` characters
    (BLOCK_CHARS by default), so a file of any size is read in bounded memory. A text no longer
    than one block is one block; a longer one is cut after the last paragraph break of a block,
    else its last line break (either only in the block's second half, so no block but the last
    is short), else at the limit.

    Raises UnreadableDocument as ``read_text`` does, but only once the reading reaches the fault:
    a caller that must not act on a bad file reads all blocks first."""
    limit = block_chars or BLOCK_CHARS
    parts: list[str] = []
    size = 0
    for piece in _decoded_pieces(path):
        parts.append(piece)
        size += len(piece)
        if size <= limit:
            continue
        text = "".join(parts)
        while len(text) > limit:
            end = _block_end(text, limit)
            yield text[:end]
            text = text[end:]
        parts, size = [text], len(text)
    if size:
        yield "".join(parts)


def text_head(path: Path, chars: int) -> str:
    """The first ``chars`` characters of the text ``read_text`` gives, reading no further."""
    head = ""
    for piece in _decoded_pieces(path):
        head += piece[: chars - len(head)]
        if len(head) >= chars:
            break
    return head


def _block_end(text: str, limit: int) -> int:
    """Where the block starting ``text`` ends (see ``text_blocks``)."""
    for separator in ("\n\n", "\n"):
        found = text.rfind(separator, limit // 2, limit)
        if found >= 0:
            return found + len(separator)
    return limit


def _decoded_pieces(path: Path) -> Iterator[str]:
    """The file's text piece by piece as read, decoded as ``decode_text`` decodes the whole: the
    incremental decoder carries a character split between reads, and a piece ending in "\\r"
    keeps it for the next (it may be the first half of "\\r\\n"). A NUL is reported at the end,
    as ``decode_text`` reports it only for bytes that decode."""
    with path.open("rb") as handle:
        data = handle.read(max(READ_BYTES, 4))  # a byte-order mark has up to 4 bytes
        encoding = text_encoding(data)
        decoder = codecs.getincrementaldecoder(encoding)()
        line_ends = 0  # b"\n" in the bytes decoded before ``data``, for the error message
        carried = ""
        binary = False
        while True:
            final = not data
            try:
                text = carried + decoder.decode(data, final)
            except UnicodeDecodeError as error:  # error.object: the decoder's held bytes and data
                line = line_ends + error.object.count(b"\n", 0, error.start) + 1
                raise _not_text(path.name, encoding, line) from None
            binary = binary or (encoding == "utf-8" and "\x00" in text)
            if final and binary:
                raise _binary(path.name)
            line_ends += data.count(b"\n")
            carried = "\r" if text.endswith("\r") and not final else ""
            text = text[: len(text) - len(carried)]
            if text:
                yield universal_newlines(text)
            if final:
                return
            data = handle.read(READ_BYTES)


def text_encoding(start: bytes) -> str:
    """UTF-8, or UTF-16/32 when the text starts with their byte-order mark."""
    return next((codec for bom, codec in _BOMS if start.startswith(bom)), "utf-8")


def _not_text(name: str, encoding: str, line: int) -> UnreadableDocument:
    if encoding == "utf-8":
        return unreadable(name, f"it is not UTF-8 text (line {line} has bytes that are not valid UTF-8)")
    return unreadable(name, f"it starts like {encoding.upper()} text but is not valid {encoding.upper()}")


def _binary(name: str) -> UnreadableDocument:
    return unreadable(name, "it contains NUL bytes, so it is a binary file or UTF-16 text without a byte-order mark")
