"""Markdown: the file's exact text, with sections from ATX (``#``) and setext headings.

Lines inside fenced code blocks (````` or ``~~~``) and YAML front matter are never headings.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.ingest.formats.base import ExtractedText, SectionSpan
from rag.ingest.formats.text import decode_text

_ATX_OPEN = re.compile(r" {0,3}(#{1,6})(?=[ \t]|$)")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_LIST_ITEM = re.compile(r" {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_BLOCK_START = re.compile(r" {0,3}(?:>|<|\||[-*_][ \t]*[-*_][ \t]*[-*_])")
_FRONT_MATTER_TITLE = re.compile(r"title:(.*)", re.IGNORECASE)
#: A heading's text is cleaned up to here: the markup patterns take time growing with the square
#: of the length (a line of 24,000 characters took seconds).
MAX_HEADING_CHARS = 1000


def read_markdown(path: Path) -> ExtractedText:
    """A Markdown file: text exactly as the plain-text reader gives it, plus sections and title."""
    text = decode_text(path.read_bytes(), path.name)
    headings, front_title = find_headings(text)
    sections = sections_from_headings(headings, len(text))
    top = [title for _start, level, title in headings if level == 1]
    title = front_title or (top[0] if top else headings[0][2] if headings else None)
    return ExtractedText(text=text, format="markdown", sections=sections, title=title)


def find_headings(text: str) -> tuple[list[tuple[int, int, str]], str | None]:
    """(start offset, level, heading text) of every heading, and the front matter's title."""
    headings: list[tuple[int, int, str]] = []
    lines = _lines(text)
    index, front_title = _skip_front_matter(lines)
    fence: tuple[str, int] | None = None
    paragraph: list[tuple[int, str]] = []  # lines of the paragraph a setext underline would close
    for start, line in lines[index:]:
        if fence is not None:
            marker = _FENCE_OPEN.fullmatch(line)
            if marker and marker[1][0] == fence[0] and len(marker[1]) >= fence[1] and not marker[2].strip():
                fence = None
            continue
        opening = _FENCE_OPEN.fullmatch(line)
        if opening and not (opening[1][0] == "`" and "`" in opening[2]):
            fence, paragraph = (opening[1][0], len(opening[1])), []
            continue
        atx = atx_heading(line)
        if atx:
            headings.append((start, atx[0], clean_heading(atx[1])))
            paragraph = []
            continue
        underline = _SETEXT.fullmatch(line)
        if underline and paragraph:
            level = 1 if underline[1][0] == "=" else 2
            headings.append((paragraph[0][0], level, clean_heading(" ".join(t for _, t in paragraph))))
            paragraph = []
            continue
        if not line.strip() or _LIST_ITEM.match(line) or _BLOCK_START.match(line):
            paragraph = []
        elif paragraph or not line.startswith("    "):
            paragraph.append((start, line.strip()))
    return [h for h in headings if h[2]], front_title


def sections_from_headings(headings: list[tuple[int, int, str]], length: int) -> tuple[SectionSpan, ...]:
    """Non-overlapping sections: each runs from its heading to the next one, under its path."""
    stack: list[tuple[int, str]] = []
    sections = []
    for i, (start, level, title) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = headings[i + 1][0] if i + 1 < len(headings) else length
        sections.append(SectionSpan(path=tuple(t for _, t in stack), start=start, end=end))
    return tuple(sections)


def atx_heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line ("## Title ##"), or None. Its text goes without the
    closing run of "#" that follows a space; read without a regex whose time grew with the square
    of the line's runs of spaces."""
    opening = _ATX_OPEN.match(line)
    if opening is None:
        return None
    text = line[opening.end() :].strip(" \t")
    before_closing = text.rstrip("#")
    if before_closing != text and before_closing[-1:] in (" ", "\t"):
        text = before_closing.rstrip(" \t")
    return len(opening[1]), text


def clean_heading(raw: str) -> str:
    """Heading text without Markdown markup: links and images keep their text, emphasis and code
    markers go. Only the first MAX_HEADING_CHARS characters are read."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw[:MAX_HEADING_CHARS])
    text = re.sub(r"(?<!\w)([*_]{1,3})(\S(?:.*?\S)?)\1(?!\w)", r"\2", text)
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


def _lines(text: str) -> list[tuple[int, str]]:
    """(start offset, line without its newline) for every line."""
    lines, start = [], 0
    for line in text.split("\n"):
        lines.append((start, line))
        start += len(line) + 1
    if lines:  # a BOM (character 0) does not stop the first line from being a heading
        lines[0] = (0, lines[0][1].lstrip("\ufeff"))
    return lines


def _skip_front_matter(lines: list[tuple[int, str]]) -> tuple[int, str | None]:
    """Index of the first line after YAML front matter (0 if none), and its ``title:``."""
    if not lines or lines[0][1].rstrip() != "---":
        return 0, None
    for index in range(1, len(lines)):
        if lines[index][1].rstrip() in ("---", "..."):
            title = None
            for _start, line in lines[1:index]:
                match = _FRONT_MATTER_TITLE.fullmatch(line)
                value = match[1].strip(" \t") if match else ""
                if value:
                    title = value.strip("\"'") or None
                    break
            return index + 1, title
    return 0, None
