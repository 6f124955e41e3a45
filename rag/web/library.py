"""The document library: what the index holds, one row per document with its actions (re-ingest,
remove from the index, delete the file), for people and for tools.

The page shows a table on wide screens and one card per document on a phone (the same markup,
laid out by app.css). Each row's buttons name their action and document (``data-action``,
``data-source``); rag/web/static/library.js sends a click as a ``LibraryAction``. Everything a
document supplies (title, file name) is escaped: it is text, never markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from rag.answer.prompts import language_name
from rag.api import Rag
from rag.web.jobs import JobStatus

FORMATS = {".txt": "Text", ".md": "Markdown", ".markdown": "Markdown", ".htm": "HTML"}

ActionName = Literal["reingest", "remove", "delete", "confirm-delete", "forget", "restore", "cancel"]
ACTION_NAMES: tuple[ActionName, ...] = ("reingest", "remove", "delete", "confirm-delete", "forget", "restore", "cancel")


class DocumentInfo(BaseModel):
    """One indexed document, as /documents returns it."""

    source: str = Field(description="File path relative to the corpus folder.")
    title: str
    format: str = Field(description="'Text', 'Markdown', 'PDF', 'DOCX', 'HTML' from the file name ending.")
    language: str = Field(description="'en', 'de' or 'und'.")
    chunks: int
    added: str = Field("", description="When the file was last written to the folder (ISO 8601, local time).")
    present: bool = Field(True, description="False when the file is no longer in the folder (the index still has it).")


@dataclass(frozen=True)
class LibraryAction:
    """A click on one of the library's buttons: what to do, with which document."""

    name: ActionName
    source: str

    @classmethod
    def from_event(cls, event: object) -> LibraryAction | None:
        """The action a click event carries (``action`` and ``source``, from library.js); None for
        anything else, since the page's events are not to be trusted blindly."""
        name, source = getattr(event, "action", None), getattr(event, "source", None)
        if name not in ACTION_NAMES or not isinstance(source, str) or not source:
            return None
        return cls(name, source)


@dataclass(frozen=True)
class Confirmation:
    """A question asked in a document's row before acting on it: deleting its file from the
    folder ("delete"), or taking a document whose file is gone out of the index ("forget")."""

    action: Literal["delete", "forget"]
    source: str
    folder: str

    def asks_for(self, action: str, source: str) -> bool:
        return self.action == action and self.source == source


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
            present=(folder / d["source"]).is_file(),
        )
        for d in rag.info().documents
    ]


def library_html(
    documents: list[DocumentInfo],
    kept_out: list[str],
    job: JobStatus | None = None,
    confirming: Confirmation | None = None,
) -> str:
    """The library: a table of the indexed documents, one ``tbody`` per document (its row, and a
    second row for the job or question about it, if any), then the files kept out of the index."""
    if not documents:
        listing = "<p>No documents are indexed yet. Add documents below.</p>"
    else:
        bodies = "".join(_document_body(d, job, confirming) for d in documents)
        listing = (
            '<div class="library-wrap"><table class="library"><caption>Indexed documents</caption>'
            "<thead><tr><th scope='col'>Title</th><th scope='col'>File</th><th scope='col'>Format</th>"
            "<th scope='col'>Language</th><th scope='col'>Chunks</th><th scope='col'>Added</th>"
            "<th scope='col'>Actions</th></tr></thead>"
            f"{bodies}</table></div>"
        )
    return listing + _kept_out_html(kept_out)


def _document_body(document: DocumentInfo, job: JobStatus | None, confirming: Confirmation | None) -> str:
    source = document.source
    busy = job is not None and job.running and job.subject == source
    cells = (
        f'<td class="doc-title">{html.escape(document.title)}</td>'
        f'<td class="doc-file"><code>{_path_html(source)}</code></td>'
        f'<td class="doc-format">{html.escape(document.format)}</td>'
        f'<td class="doc-language">{html.escape(_language(document.language))}</td>'
        f'<td class="doc-chunks num">{document.chunks}<span class="unit"> {"chunk" if document.chunks == 1 else "chunks"}</span></td>'
        f'<td class="doc-added">{_added_html(document)}</td>'
        f'<td class="doc-actions"><div class="doc-buttons">{_row_buttons(document, busy)}</div></td>'
    )
    extra = _job_note(source, job) + (_confirmation_html(confirming) if confirming and confirming.source == source else "")
    extra_row = f'<tr class="doc-extra"><td colspan="7">{extra}</td></tr>' if extra else ""
    return f'<tbody class="doc"><tr>{cells}</tr>{extra_row}</tbody>'


def _path_html(source: str) -> str:
    """The file's path, escaped, free to wrap after each folder (a file name itself stays whole on wide screens)."""
    return "/<wbr>".join(html.escape(part) for part in source.split("/"))


def _language(code: str) -> str:
    return language_name(code) if code != "und" else "unknown"


def _added_html(document: DocumentInfo) -> str:
    if not document.present:
        return '<span class="doc-missing">file missing from the folder</span>'
    return f'<span class="unit">added </span>{html.escape(document.added.replace("T", " ")[:16])}'


def _button(action: ActionName, source: str, label: str, *, danger: bool = False, disabled: bool = False, back: str = "") -> str:
    """A row button; its accessible name says which document it acts on."""
    classes = "doc-action danger" if danger else "doc-action"
    return (
        f'<button type="button" class="{classes}" data-action="{action}" data-source="{html.escape(source)}"'
        + (f' data-back="{back}"' if back else "")
        + f' aria-label="{html.escape(f"{label} ({source})")}"'
        + (' disabled aria-disabled="true"' if disabled else "")
        + f">{html.escape(label)}</button>"
    )


def _row_buttons(document: DocumentInfo, busy: bool) -> str:
    """Re-ingest, remove from the index, and delete the file (while there is one to delete)."""
    source = document.source
    buttons = _button("reingest", source, "Re-ingest", disabled=busy) + _button(
        "remove", source, "Remove from index", disabled=busy
    )
    if document.present:
        buttons += _button("delete", source, "Delete file…", danger=True, disabled=busy)
    return buttons


def _job_note(source: str, job: JobStatus | None) -> str:
    """The running or last job's word on this document (only jobs about one document have one)."""
    if job is None or job.subject != source:
        return ""
    if job.running:
        return '<p class="doc-note" aria-busy="true">Re-ingesting…</p>'  # app.css draws a spinner
    if not job.outcome:
        return ""
    kind = "doc-note failed" if job.failed else "doc-note"
    return f'<p class="{kind}">{"⚠️ " if job.failed else "✓ "}{html.escape(job.outcome)}</p>'


def _confirmation_html(confirmation: Confirmation) -> str:
    name, folder = html.escape(confirmation.source), html.escape(confirmation.folder)
    if confirmation.action == "delete":
        question = (
            f"Delete the file <strong>{name}</strong> from the folder <code>{folder}</code>? This cannot be undone. "
            "To keep the file and only stop searching it, use <em>Remove from index</em>."
        )
        buttons = _button("confirm-delete", confirmation.source, "Delete the file", danger=True) + _button(
            "cancel", confirmation.source, "Cancel", back="delete"
        )
        label = f"Delete the file {confirmation.source}?"
    else:
        question = (
            f"<strong>{name}</strong> is no longer in the folder <code>{folder}</code>. Remove it from the index? "
            "(Or put the file back and re-ingest it.)"
        )
        buttons = _button("forget", confirmation.source, "Remove from the index", danger=True) + _button(
            "cancel", confirmation.source, "Cancel", back="reingest"
        )
        label = f"{confirmation.source} is missing: remove it from the index?"
    return (
        f'<div class="doc-confirm" role="group" aria-label="{html.escape(label)}"><p>{question}</p>'
        f'<div class="doc-buttons">{buttons}</div></div>'
    )


def _kept_out_html(kept_out: list[str]) -> str:
    if not kept_out:
        return ""
    items = "".join(
        f"<li><code>{html.escape(s)}</code> {_button('restore', s, 'Add back to the index')}</li>" for s in kept_out
    )
    return (
        '<section class="kept-out" aria-label="Removed from the index">'
        f"<p>Removed from the index, file kept in the folder:</p><ul>{items}</ul></section>"
    )
