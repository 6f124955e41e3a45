"""The document library: what the index holds, one row per document, for people and for tools."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from rag.answer.prompts import language_name
from rag.api import Rag

FORMATS = {".txt": "Text", ".md": "Markdown"}


class DocumentInfo(BaseModel):
    """One indexed document, as /documents returns it."""

    source: str = Field(description="File path relative to the corpus folder.")
    title: str
    format: str = Field(description="'Text', 'Markdown', … from the file name ending.")
    language: str = Field(description="'en', 'de' or 'und'.")
    chunks: int
    added: str = Field("", description="When the file was last written to the folder (ISO 8601, local time).")


def file_format(source: str) -> str:
    suffix = Path(source).suffix.lower()
    return FORMATS.get(suffix, suffix.lstrip(".").upper() or "unknown")


def _added(path: Path) -> str:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
    except OSError:
        return ""


def indexed_documents(rag: Rag) -> list[DocumentInfo]:
    folder = rag.corpus_folder()
    return [
        DocumentInfo(
            source=d["source"],
            title=d["title"],
            format=file_format(d["source"]),
            language=d["language"],
            chunks=d["chunks"],
            added=_added(folder / d["source"]),
        )
        for d in rag.info().documents
    ]


def library_html(documents: list[DocumentInfo], kept_out: list[str]) -> str:
    """The library table (escaped: titles come from documents) and the files kept out of the index."""
    if not documents:
        return "<p>No documents are indexed yet. Add .txt or .md files below.</p>"
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(d.title)}</td><td><code>{html.escape(d.source)}</code></td>"
        f"<td>{html.escape(d.format)}</td><td>{html.escape(language_name(d.language) if d.language != 'und' else 'unknown')}</td>"
        f"<td class='num'>{d.chunks}</td><td>{html.escape(d.added.replace('T', ' '))}</td>"
        "</tr>"
        for d in documents
    )
    table = (
        '<div class="library-wrap"><table class="library"><caption>Indexed documents</caption>'
        "<thead><tr><th scope='col'>Title</th><th scope='col'>File</th><th scope='col'>Format</th>"
        "<th scope='col'>Language</th><th scope='col'>Chunks</th><th scope='col'>Added</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )
    if kept_out:
        names = ", ".join(f"<code>{html.escape(s)}</code>" for s in kept_out)
        table += f'<p class="kept-out">Removed from the index, file kept in the folder: {names}</p>'
    return table
