"""Reading a folder of documents: files to ingest, their text, and the metadata that describes them.

A document's ``text`` is what every offset indexes (``text[start:end]`` is a passage).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.config import Settings
from rag.errors import CorpusError
from rag.ingest.fingerprints import sha256_text
from rag.text.language import detect_language


@dataclass(frozen=True)
class SourceDocument:
    """One source file, read and described."""

    source: str  # path relative to the corpus folder, with forward slashes
    text: str
    title: str
    declared_language: str  # from the folder's metadata file; "" when not declared
    kind: str
    content_hash: str

    @cached_property
    def language(self) -> str:
        """Declared, else detected; computed on first use, since an ingest of an unchanged file
        never needs it."""
        return self.declared_language or detect_language(self.text[:5000])


def discover_files(folder: Path, settings: Settings) -> list[Path]:
    """The ingestible files below ``folder``, sorted; hidden files and folders are skipped."""
    if not folder.exists():
        raise CorpusError(f"Source folder {folder} does not exist.")
    if not folder.is_dir():
        raise CorpusError(f"Source {folder} is not a folder.")
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        # A broken link is kept so that reading it fails with a clear error instead of vanishing.
        if (path.is_file() or path.is_symlink()) and path.suffix.lower() in settings.file_extensions:
            files.append(path)
    return files


def read_source_text(path: Path) -> str:
    """The file's text as UTF-8 (a BOM is dropped; CRLF kept, so offsets match the file)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CorpusError(f"Cannot read {path}: {error.strerror or error}.") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"{path} is not valid UTF-8 (byte {error.start}: {raw[error.start:error.start + 1]!r}). "
            "Convert it to UTF-8, e.g. `iconv -f latin1 -t utf-8`."
        ) from error
    return text.removeprefix("\ufeff")


def load_folder_metadata(folder: Path, settings: Settings) -> dict[str, dict]:
    """Per-file metadata from ``<folder>/<metadata_file>``: {relative path: {title, language, kind}}."""
    path = folder / settings.metadata_file
    if not path.is_file():
        return {}
    try:
        data = json.loads(read_source_text(path))
    except json.JSONDecodeError as error:
        raise CorpusError(f"{path} is not valid JSON: {error}.") from error
    documents = data.get("documents", data) if isinstance(data, dict) else None
    if not isinstance(documents, dict):
        raise CorpusError(f"{path} must map file names to {{title, language, kind}} objects.")
    return documents


def read_document(path: Path, folder: Path, metadata: dict[str, dict]) -> SourceDocument:
    text = read_source_text(path)
    source = path.relative_to(folder).as_posix()
    described = metadata.get(source, {})
    return SourceDocument(
        source=source,
        text=text,
        title=described.get("title") or title_from_text(path, text),
        declared_language=described.get("language", ""),
        kind=described.get("kind", ""),
        content_hash=sha256_text(text),
    )


def title_from_text(path: Path, text: str) -> str:
    """A Markdown heading if the file starts with one, else the file name."""
    first_line = text.lstrip().split("\n", 1)[0].strip()
    if first_line.startswith("#"):
        return first_line.lstrip("#").strip()[:120] or path.stem
    return path.stem


def read_folder(folder: Path, settings: Settings) -> Iterator[SourceDocument]:
    """The folder's documents, except those removed from the index (rag.ingest.exclusions)."""
    from rag.ingest.exclusions import excluded_sources

    metadata = load_folder_metadata(folder, settings)
    excluded = excluded_sources(settings, folder)
    for path in discover_files(folder, settings):
        if path.relative_to(folder).as_posix() not in excluded:
            yield read_document(path, folder, metadata)
