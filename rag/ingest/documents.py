"""Reading a folder of documents: files to ingest, their text, and the metadata that describes them.

A document's ``text`` is what every offset indexes (``text[start:end]`` is a passage). For a text
file it is exactly what ``open(path, encoding="utf-8").read()`` returns: a UTF-8 byte-order mark
stays as character 0 and line ends are translated as Python's text mode does; a file that starts
with a UTF-16 or UTF-32 byte-order mark is read in that encoding.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.config import Settings
from rag.errors import CorpusError
from rag.ingest.fingerprints import sha256_text
from rag.text.language import SUPPORTED, UNDETERMINED, detect_language
from rag.types import SkippedFile

DESCRIPTION_KEYS = ("title", "language", "kind")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: FF FE 00 00 also starts like UTF-16 LE
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


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


@dataclass(frozen=True)
class FolderListing:
    """The ingestible files of a folder, and the files left out with the reason."""

    files: list[Path]
    skipped: list[SkippedFile]


def discover_files(folder: Path, settings: Settings) -> list[Path]:
    """The ingestible files below ``folder``, sorted (see ``list_folder``)."""
    return list_folder(folder, settings).files


def list_folder(folder: Path, settings: Settings) -> FolderListing:
    """The ingestible files below ``folder``, sorted; hidden files and folders are skipped.

    Left out, each with a reason a person can act on: names that are not UTF-8 (they cannot be
    stored or cited), links that lead outside the folder (unless ``follow_external_links``), and
    links to folders (their files would be ingested twice or come from elsewhere)."""
    if not folder.exists():
        raise CorpusError(f"Source folder {folder} does not exist.")
    if not folder.is_dir():
        raise CorpusError(f"Source {folder} is not a folder.")
    root = folder.resolve()
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    for path in _walk(folder):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        name = _printable_name(relative)
        if name is None:
            skipped.append(SkippedFile(source=ascii(os.fsencode(relative))[2:-1], reason=_NOT_UTF8_NAME))
            continue
        if path.is_symlink():
            reason = _link_problem(path, root, settings)
            if reason:
                skipped.append(SkippedFile(source=name, reason=reason))
                continue
        if path.is_dir():
            continue
        # A broken link is kept so that reading it fails with a clear error instead of vanishing.
        if path.suffix.lower() in settings.file_extensions:
            files.append(path)
    return FolderListing(sorted(files), skipped)


_NOT_UTF8_NAME = "the file name is not UTF-8, so it cannot be stored or cited; rename the file"


def _walk(folder: Path) -> Iterator[Path]:
    """Every file and link below ``folder``; links to folders are listed, not entered."""
    for directory, subfolders, names in os.walk(folder, followlinks=False):
        base = Path(directory)
        for name in sorted(subfolders):
            if (base / name).is_symlink():
                yield base / name
        subfolders.sort()
        for name in sorted(names):
            yield base / name


def _printable_name(relative: Path) -> str | None:
    """The path with forward slashes, or None when it is not valid UTF-8 (surrogate escapes)."""
    name = relative.as_posix()
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return name


def _link_problem(path: Path, root: Path, settings: Settings) -> str | None:
    """Why a link is not followed, or None when it is."""
    target = path.resolve()
    if target.is_dir():
        return f"a link to the folder {target}; links to folders are not followed"
    if root in target.parents or settings.follow_external_links or not target.exists():
        return None
    return (
        f"a link to {target}, outside the folder; it is not followed "
        "(set follow_external_links, RAG_FOLLOW_EXTERNAL_LINKS=true, to ingest such files)"
    )


def read_source_text(path: Path) -> str:
    """The file's text, exactly as ``open(path, encoding="utf-8").read()`` returns it (a UTF-8
    BOM is character 0, line ends translated); UTF-16 and UTF-32 files are read by their BOM."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CorpusError(f"Cannot read {path}: {error.strerror or error}.") from error
    return decode_text(raw, path)


def decode_text(raw: bytes, path: Path) -> str:
    encoding = next((codec for bom, codec in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        if encoding != "utf-8":
            raise CorpusError(
                f"{path} starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()} "
                f"(byte {error.start}). Save it again as UTF-8 or {encoding.upper()}."
            ) from error
        line = raw.count(b"\n", 0, error.start) + 1
        raise CorpusError(
            f"{path} is not valid UTF-8 (line {line}, byte {error.start}: {raw[error.start:error.start + 1]!r}). "
            "Save it as UTF-8 (or UTF-16 with a byte-order mark)."
        ) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_folder_metadata(folder: Path, settings: Settings) -> dict[str, dict[str, str]]:
    """Per-file metadata from ``<folder>/<metadata_file>``: {relative path: {title, language, kind}}.

    Checked in full before anything is written: a bad entry is an error naming the file, the
    entry and what is allowed."""
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
    return {str(source): _checked_description(path, source, entry) for source, entry in documents.items()}


def _checked_description(path: Path, source: str, entry: object) -> dict[str, str]:
    if not isinstance(entry, dict):
        raise CorpusError(f"{path}: the entry for {source!r} must be an object with title, language and kind.")
    unknown = sorted(set(entry) - set(DESCRIPTION_KEYS))
    if unknown:
        raise CorpusError(
            f"{path}: the entry for {source!r} has unknown keys {unknown}; allowed: {', '.join(DESCRIPTION_KEYS)}."
        )
    for key, value in entry.items():
        if not isinstance(value, str):
            raise CorpusError(f"{path}: {key!r} of {source!r} must be a string, not {value!r}.")
    language = entry.get("language", "")
    allowed = (*SUPPORTED, UNDETERMINED)
    if language and language not in allowed:
        raise CorpusError(
            f"{path}: the language of {source!r} is {language!r}; use one of {', '.join(allowed)} "
            "(or leave it out to have it detected)."
        )
    return dict(entry)


def read_document(path: Path, folder: Path, metadata: dict[str, dict[str, str]]) -> SourceDocument:
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
    first_line = text.lstrip("\ufeff \t\n").split("\n", 1)[0].strip()
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
