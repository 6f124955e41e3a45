"""HTML and Markdown views of answers and sources, shared by the web app and anything else that
shows answers to people: linked citation markers, highlighted passages, passages in context.

Document text is data: wherever it is shown it is escaped, so markup in a document (``<img>``,
``<a>``, ``<script>``, Markdown images and links, bare URLs) appears as the characters it is made
of, loads nothing and links nowhere.
"""

from __future__ import annotations

import html
import string
from collections.abc import Callable

from rag.answer.citations import MARKER
from rag.answer.prompts import language_name
from rag.types import Answer, Citation, Passage
from rag.web.pages import location_label

CONTEXT_CHARS = 6000  # characters of the source shown around a passage "in context"
SNIPPET_CHARS = 300  # characters of an uncited passage shown under "Also retrieved"

# Every ASCII punctuation character becomes a numeric character reference in Markdown: Markdown,
# HTML, LaTeX and GFM autolinks ("http://", "www.", "a@b.c") need one of them to start.
_MARKDOWN_INERT = {ord(c): f"&#{ord(c)};" for c in string.punctuation}


def inert_markdown(text: str) -> str:
    """``text`` as Markdown that renders as exactly these characters (no markup, no links)."""
    return text.translate(_MARKDOWN_INERT)


def anchor(answer_number: int, n: int) -> str:
    """The id of citation ``n`` of the conversation's answer ``answer_number`` (1-based)."""
    return f"a{answer_number}-source-{n}"


def answer_markdown(answer_text: str, answer_number: int) -> str:
    """The answer as Markdown: its text inert, its markers links to its own sources
    (``[1]`` of answer 3 -> ``[[1]](#a3-source-1)``)."""
    pieces, cursor = [], 0
    for match in MARKER.finditer(answer_text):
        pieces.append(inert_markdown(answer_text[cursor : match.start()]))
        n = int(match.group(1))
        pieces.append(f"[\\[{n}\\]](#{anchor(answer_number, n)})")
        cursor = match.end()
    pieces.append(inert_markdown(answer_text[cursor:]))
    return "".join(pieces)


def filter_note(sources: list[str]) -> str:
    """Plain text naming an active document filter ("" without one)."""
    if not sources:
        return ""
    return f"Searched only in: {', '.join(sources)}. Remove the filter to search all documents."


def _highlighted(text: str, offset: int, spans: list[tuple[int, int]]) -> str:
    """Escape ``text`` (which starts at ``offset`` in its source) and <mark> the given spans."""
    pieces, cursor = [], 0
    for start, end in sorted(spans):
        start, end = max(start - offset, cursor), min(end - offset, len(text))
        if start >= end:
            continue
        pieces.append(html.escape(text[cursor:start]))
        pieces.append(f"<mark>{html.escape(text[start:end])}</mark>")
        cursor = end
    pieces.append(html.escape(text[cursor:]))
    return "".join(pieces)


def passage_html(passage: Passage, highlights: list[tuple[int, int]]) -> str:
    return f'<div class="passage">{_highlighted(passage.text, passage.start, highlights)}</div>'


def context_html(source_text: str, passage: Passage, highlights: list[tuple[int, int]]) -> str:
    """The passage inside its source: surrounding text, the passage marked, cited sentences stronger."""
    start = max(0, passage.start - CONTEXT_CHARS)
    end = min(len(source_text), passage.end + CONTEXT_CHARS)
    before = html.escape(source_text[start : passage.start])
    inside = _highlighted(source_text[passage.start : passage.end], passage.start, highlights)
    after = html.escape(source_text[passage.end : end])
    lead = "… " if start > 0 else ""
    tail = " …" if end < len(source_text) else ""
    return (
        f'<div class="in-context">{lead}{before}<span class="cited-passage">{inside}</span>{after}{tail}</div>'
    )


def _meta(p: Passage) -> str:
    where = location_label(p)  # "page 3-4 · Installation › Offline use"
    return (
        f"{html.escape(p.source)}{' · ' + html.escape(where) if where else ''} · {language_name(p.language)} · "
        f"chars {p.start}–{p.end} · score {p.score:.2f}"
    )


def no_page_view(citation: Citation) -> str:
    return ""


def citation_card(citation: Citation, answer_number: int, source_text: str | None, page_view: str = "") -> str:
    """One source card; ``page_view`` is a PDF citation's rendered page (rag.web.pages)."""
    p = citation.passage
    context = ""
    if source_text is not None:
        section = f" ({html.escape(p.section)})" if p.section else ""
        context = (
            f"<details><summary>Show in the whole text{section}</summary>"
            f"{context_html(source_text, p, citation.highlights)}</details>"
        )
    return (
        f'<div class="citation" id="{anchor(answer_number, citation.n)}" tabindex="-1" '
        f'data-n="{citation.n}" aria-label="Source {citation.n}: {html.escape(p.title, quote=True)}">'
        f'<div class="citation-title"><b>[{citation.n}]</b> {html.escape(p.title)}</div>'
        f'<div class="citation-meta">{_meta(p)}</div>'
        f"{passage_html(p, citation.highlights)}{page_view}{context}</div>"
    )


def _same_stretch(a: Passage, b: Passage) -> bool:
    return a.source == b.source and a.start < b.end and b.start < a.end


def uncited_passages(answer: Answer) -> list[Passage]:
    """Retrieved passages that no citation covers, best first."""
    cited = [c.passage for c in answer.citations]
    return [p for p in answer.passages if not any(_same_stretch(p, c) for c in cited)]


def also_retrieved_html(passages: list[Passage], title: str) -> str:
    if not passages:
        return ""
    items = "".join(
        f'<li class="retrieved"><div class="citation-title">{html.escape(p.title)}</div>'
        f'<div class="citation-meta">{_meta(p)}</div>'
        f'<div class="passage">{html.escape(p.text[:SNIPPET_CHARS])}{"…" if len(p.text) > SNIPPET_CHARS else ""}'
        "</div></li>"
        for p in passages
    )
    return (
        f'<details class="also-retrieved"><summary>{title} ({len(passages)})</summary>'
        f"<ul>{items}</ul></details>"
    )


def answer_sources_html(
    answer: Answer,
    answer_number: int,
    source_text: Callable[[str], str | None],
    sources_filter: list[str],
    page_view: Callable[[Citation], str] = no_page_view,
) -> str:
    """One answer's sources: a card per citation, then the retrieved passages it did not cite."""
    heading = (
        f'<div class="answer-heading">Sources of answer {answer_number}: '
        f"<q>{html.escape(answer.question)}</q></div>"
    )
    note = filter_note(sources_filter)
    note_html = f'<p class="filter-note">{html.escape(note)}</p>' if note else ""
    if answer.citations:
        cards = "".join(
            citation_card(c, answer_number, source_text(c.source), page_view(c)) for c in answer.citations
        )
        also = also_retrieved_html(uncited_passages(answer), "Also retrieved, not cited")
        return f"{heading}{note_html}{cards}{also}"
    refusal = "<p><b>No passage supports an answer.</b></p>"
    closest = also_retrieved_html(answer.passages, "Closest passages, not cited")
    return f"{heading}{refusal}{note_html}{closest}"


EMPTY_SOURCES = "<div class='sources'><p>Sources of the answer appear here.</p></div>"


def sources_panel_html(
    answers: list[tuple[Answer, list[str]]],
    source_text: Callable[[str], str | None],
    page_view: Callable[[Citation], str] = no_page_view,
) -> str:
    """The sources panel of a conversation: each answer's sources in its own section, the latest
    shown; a marker of an earlier answer shows that answer's section (static/app.js)."""
    if not answers:
        return EMPTY_SOURCES
    sections = []
    for number, (answer, sources_filter) in enumerate(answers, start=1):
        hidden = "" if number == len(answers) else " hidden"
        sections.append(
            f'<section class="answer-sources" id="answer-{number}" data-answer="{number}"'
            f' aria-label="Sources of answer {number}"{hidden}>'
            f"{answer_sources_html(answer, number, source_text, sources_filter, page_view)}</section>"
        )
    return f'<div class="sources">{"".join(sections)}</div>'
