"""What every reader returns: the text, its pages and sections as character offsets, a title."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpan:
    """Page ``number`` (1-based) is ``text[start:end]``, its page separator included."""

    number: int
    start: int
    end: int


@dataclass(frozen=True)
class SectionSpan:
    """``text[start:end]`` lies under the heading path ``path``, e.g. ("Installation", "Offline use").

    Sections do not overlap: one runs from its heading to the next heading of any level.
    """

    path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class ExtractedText:
    """A document's text; every offset here indexes ``text`` exactly."""

    text: str
    format: str  # "pdf" | "docx" | "html" | "markdown" | "text"
    pages: tuple[PageSpan, ...] = ()  # PDFs only; contiguous, cover the text
    sections: tuple[SectionSpan, ...] = ()
    title: str | None = None

    def page_range(self, start: int, end: int) -> tuple[int, int] | None:
        """First and last page that ``text[start:end]`` touches (see ``page_range``)."""
        return page_range(self.pages, len(self.text), start, end)

    def section_at(self, start: int) -> tuple[str, ...] | None:
        """The heading path of the section holding offset ``start`` (see ``section_at``)."""
        return section_at(self.sections, len(self.text), start)


def page_range(pages: tuple[PageSpan, ...], length: int, start: int, end: int) -> tuple[int, int] | None:
    """First and last page that ``text[start:end]`` touches in a text of ``length`` characters; an
    empty span touches the page holding ``start``. None without pages or outside the text. (Only
    the length: a document's location is found without holding its text.)"""
    if not pages or start < 0 or start > length or end < start:
        return None
    starts = [page.start for page in pages]
    first = _page_index(starts, start)
    last = _page_index(starts, max(start, end - 1))
    return pages[first].number, pages[last].number


def section_at(sections: tuple[SectionSpan, ...], length: int, start: int) -> tuple[str, ...] | None:
    """The heading path of the section holding offset ``start`` of a text of ``length``
    characters; None before the first heading."""
    if not sections:
        return None
    index = bisect_right([section.start for section in sections], start) - 1
    if index < 0:
        return None
    section = sections[index]
    if start < section.end or (start == section.end == length):
        return section.path
    return None


def _page_index(starts: list[int], offset: int) -> int:
    return max(0, bisect_right(starts, offset) - 1)


class UnreadableDocument(Exception):
    """A file that cannot be read as text. The message is for people: it names the file and
    the reason, and holds no traceback or temporary path; ``reason`` is the reason alone."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


def unreadable(name: str, reason: str) -> UnreadableDocument:
    """The error for file ``name`` (a file name, not a path) with a plain-language reason."""
    return UnreadableDocument(f'"{name}" cannot be read: {reason}', reason)
