"""Readers that turn PDF, DOCX, HTML, Markdown and plain-text files into text with offsets.

    from rag.ingest.formats import extract
    document = extract(Path("handbuch.pdf"), on_page=lambda done, total: ...)
    document.text, document.pages, document.sections, document.title
    document.page_range(start, end), document.section_at(start)

Every offset indexes ``document.text``. Files that cannot be read raise UnreadableDocument with
a message for people (file name and reason). Nothing here uses the network or downloads models;
nothing imports other ``rag`` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.ingest.formats.base import ExtractedText, PageSpan, SectionSpan, UnreadableDocument, unreadable

__all__ = [
    "ExtractedText", "PageSpan", "SectionSpan", "READER_VERSION", "SUPPORTED_SUFFIXES", "UnreadableDocument", "extract",
    "text_blocks", "text_head",
]

#: Changes whenever any reader could give other text, pages, sections or titles for the same
#: file: cached extractions (rag.ingest.extraction_cache) and indexed documents are then renewed.
READER_VERSION = "2"  # 2: Markdown headings read up to 1000 characters; HTML "<![" junk read as a comment

FORMATS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".md": "markdown",
           ".markdown": "markdown", ".txt": "text"}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(FORMATS)


def extract(path: Path, *, on_page: Callable[[int, int], None] | None = None) -> ExtractedText:
    """The text of ``path``, chosen by its suffix (case-insensitive); ``on_page(done, total)``
    reports progress through a PDF's pages."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise unreadable(path.name, f"files of type {path.suffix or '(no suffix)'} are not supported ({supported})")
    with _unreadable_on_os_error(path):
        if kind == "pdf":
            from rag.ingest.formats.pdf import read_pdf

            return read_pdf(path, on_page=on_page)
        if kind == "docx":
            from rag.ingest.formats.docx import read_docx

            return read_docx(path)
        if kind == "html":
            from rag.ingest.formats.html import read_html

            return read_html(path)
        if kind == "markdown":
            from rag.ingest.formats.markdown import read_markdown

            return read_markdown(path)
        from rag.ingest.formats.text import read_text

        return read_text(path)


def text_blocks(path: Path) -> Iterator[str]:
    """A plain-text file's text as ``extract`` reads it, in blocks of at most
    rag.ingest.formats.text.BLOCK_CHARS characters (see ``text.text_blocks``); errors as ``extract``'s."""
    from rag.ingest.formats import text

    with _unreadable_on_os_error(path):
        yield from text.text_blocks(path)


def text_head(path: Path, chars: int) -> str:
    """The first ``chars`` characters of a plain-text file's text; errors as ``extract``'s."""
    from rag.ingest.formats.text import text_head as head

    with _unreadable_on_os_error(path):
        return head(path, chars)


@contextmanager
def _unreadable_on_os_error(path: Path) -> Iterator[None]:
    """A failure to read the file becomes UnreadableDocument with a reason for people."""
    try:
        yield
    except FileNotFoundError:
        raise unreadable(path.name, "the file does not exist (or is a broken link)") from None
    except IsADirectoryError:
        raise unreadable(path.name, "it is a folder, not a file") from None
    except PermissionError:
        raise unreadable(path.name, "permission denied") from None
    except OSError as error:
        raise unreadable(path.name, f"the file cannot be read ({error.strerror or 'input/output error'})") from None
