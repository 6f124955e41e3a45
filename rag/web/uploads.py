"""Checking uploaded files one by one: a batch adds its good files and names each bad one with a
plain reason; a file whose name is already in the folder waits for the person to confirm the
replacement. Messages name the file as the person called it, never a server path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rag.api import Rag
from rag.config import Settings
from rag.ingest.documents import read_document
from rag.ingest.formats import UnreadableDocument
from rag.ingest.exclusions import set_excluded
from rag.types import IngestReport


@dataclass(frozen=True)
class RejectedFile:
    name: str
    reason: str


@dataclass(frozen=True)
class UploadPlan:
    ready: list[Path] = field(default_factory=list)  # new names: added right away
    conflicts: list[Path] = field(default_factory=list)  # names already in the folder: ask first
    rejected: list[RejectedFile] = field(default_factory=list)


def readable_size(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def problem_with(path: Path, settings: Settings) -> str | None:
    """Why the file cannot be added, in words a person can act on; None when it can."""
    name = path.name
    allowed = " or ".join(settings.file_extensions)
    if name.startswith(".") or name == settings.metadata_file:
        return f"{name}: this name is reserved (hidden files and {settings.metadata_file} are not documents)."
    if path.suffix.lower() not in settings.file_extensions:
        return f"{name}: only {allowed} files can be added."
    try:
        size = path.stat().st_size
    except OSError:
        return f"{name}: the upload did not arrive completely; add it again."
    if size > settings.max_upload_bytes:
        return (
            f"{name} is {readable_size(size)}; the limit for uploads is {readable_size(settings.max_upload_bytes)}. "
            "Split it into smaller files, or ask the app's operator to raise max_upload_bytes."
        )
    try:
        document = read_document(path, path.parent, {})  # PDF, DOCX, HTML, Markdown, text
    except UnreadableDocument as error:
        if path.suffix.lower() in (".txt", ".md", ".markdown") and "not UTF-8" in error.reason:
            return (
                f"{name} is not saved as UTF-8 text (it looks like an older encoding such as Latin-1). "
                "Open it in a text editor, save it with the encoding UTF-8, and add it again."
            )
        return f"{name}: {error.reason}."
    if not document.has_text:
        return f"{name} is empty."
    return None


def plan_upload(paths: list[Path], folder: Path, settings: Settings) -> UploadPlan:
    plan = UploadPlan()
    seen: set[str] = set()
    for path in paths:
        reason = problem_with(path, settings)
        if reason is None and path.name in seen:
            reason = f"{path.name} was chosen twice; it is added once."
        if reason is not None:
            plan.rejected.append(RejectedFile(path.name, reason))
        elif (folder / path.name).exists():
            plan.conflicts.append(path)
        else:
            plan.ready.append(path)
        seen.add(path.name)
    return plan


def add_files(rag: Rag, paths: list[Path], progress: bool | None = None) -> IngestReport:
    """Copy checked files into the corpus folder and ingest; a name removed from the index before
    is indexed again, since adding it is asking for it."""
    for path in paths:
        set_excluded(rag.settings, rag.corpus_folder(), path.name, excluded=False)
    return rag.add_documents(paths, progress=progress)


def rejected_text(rejected: list[RejectedFile]) -> str:
    if not rejected:
        return ""
    return "Not added:\n" + "\n".join(f"- {r.reason}" for r in rejected)


def conflicts_text(conflicts: list[Path]) -> str:
    if not conflicts:
        return ""
    names = ", ".join(p.name for p in conflicts)
    verb = "exists" if len(conflicts) == 1 else "exist"
    return f"{names} already {verb} in the folder. Replace with the uploaded version?"
