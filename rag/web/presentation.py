"""HTML and Markdown views of answers and sources, shared by the web app and anything else that
shows answers to people: linked citation markers, highlighted passages, passages in context."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from rag.answer.citations import MARKER
from rag.answer.prompts import language_name
from rag.types import Answer, Citation, Passage
from rag.web.pages import location_label

CONTEXT_CHARS = 6000  # characters of the source shown around a passage "in context"


def anchor(n: int) -> str:
    return f"source-{n}"


def answer_markdown(answer_text: str) -> str:
    """Markers become links to the numbered sources: ``[1]`` -> ``[[1]](#source-1)``."""
    return MARKER.sub(lambda m: f"[\\[{m.group(1)}\\]](#{anchor(int(m.group(1)))})", answer_text)


_LINKED_MARKER = re.compile(r"\[\\\[(\d+)\\\]\]\(#source-\d+\)")


def unlink_markers(markdown: str) -> str:
    """Plain ``[n]`` again: for earlier answers, whose sources are no longer in the panel."""
    return _LINKED_MARKER.sub(r"[\1]", markdown)


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


def citation_card(citation: Citation, source_text: str | None, page_view: str = "") -> str:
    """One source card; ``page_view`` is the rendered page of a PDF citation (rag.web.pages)."""
    p = citation.passage
    where = location_label(p)
    meta = (
        f"{html.escape(p.source)}{' · ' + html.escape(where) if where else ''} · {language_name(p.language)} · "
        f"chars {p.start}–{p.end} · score {p.score:.2f}"
    )
    context = ""
    if source_text is not None:
        section = f" ({html.escape(p.section)})" if p.section else ""
        context = (
            f"<details><summary>Show in the whole text{section}</summary>"
            f"{context_html(source_text, p, citation.highlights)}</details>"
        )
    return (
        f'<div class="citation" id="{anchor(citation.n)}">'
        f'<div class="citation-title"><b>[{citation.n}]</b> {html.escape(p.title)}</div>'
        f'<div class="citation-meta">{meta}</div>'
        f"{passage_html(p, citation.highlights)}{page_view}{context}</div>"
    )


def sources_html(
    answer: Answer, source_text: Callable[[str], str | None], page_view: Callable[[Citation], str] = lambda c: ""
) -> str:
    """The sources panel: one card per citation, or the closest passages when nothing was cited."""
    if answer.citations:
        cards = "".join(citation_card(c, source_text(c.source), page_view(c)) for c in answer.citations)
        return f'<div class="sources">{cards}</div>'
    note = "<p><b>No passage supports an answer.</b></p>"
    if answer.passages:
        closest = "".join(
            f'<li>{html.escape(p.title)} <span class="citation-meta">({html.escape(p.source)}, '
            f"chars {p.start}–{p.end}, score {p.score:.2f})</span>"
            f'<div class="passage">{html.escape(p.text[:200])}…</div></li>'
            for p in answer.passages[:3]
        )
        note += f"<p>Closest passages, not cited:</p><ul>{closest}</ul>"
    return f'<div class="sources">{note}</div>'


CSS = """
.sources .citation { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin-bottom: 10px; }
.sources .citation:target { outline: 3px solid var(--color-accent); }
.citation-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0 6px; }
.passage, .in-context { white-space: pre-wrap; font-size: 0.92em; line-height: 1.45; }
.in-context { position: relative; max-height: 320px; overflow-y: auto; border-top: 1px dashed var(--border-color-primary);
  margin-top: 6px; padding-top: 6px; }
.in-context .cited-passage { background: rgba(255, 214, 102, 0.25); }
mark { background: #ffd666; color: inherit; padding: 0 1px; }
#chat a[href^="#source-"] { color: var(--color-accent); font-weight: 600; text-decoration: none; }
#chat a[href^="#source-"]:hover { text-decoration: underline; }
.sources .citation { scroll-margin-top: 12px; }
"""

# Opening "Show in the whole text" scrolls the box to the cited passage.
HEAD_JS = """<script>
document.addEventListener('toggle', (event) => {
  const details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.open) return;
  const box = details.querySelector('.in-context');
  const cited = box && box.querySelector('.cited-passage');
  if (cited) box.scrollTop = cited.offsetTop - 24;
}, true);
</script>"""
