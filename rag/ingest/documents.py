"""Reading a folder of documents: files to ingest, their text, and the metadata that describes them.

A document's text is its extracted text (rag.ingest.formats: PDF, DOCX, HTML, Markdown, plain
text) and what every offset indexes (``text[start:end]`` is a passage); ``Rag.source_text``
returns the same text. For a text file it is exactly what ``open(path, encoding="utf-8").read()``
returns: a UTF-8 byte-order mark stays as character 0 and line ends are translated as Python's
text mode does; a file that starts with a UTF-16 or UTF-32 byte-order mark is read in that
encoding. A file that cannot be read is skipped with its reason, never stopping the rest of the
folder.

Reading a folder keeps no texts, only what describes each file (hash, length, title, pages and
sections): chunking reads a file again (``SourceDocument.text_blocks``), a plain-text file as a
stream of blocks, so memory grows neither with the folder nor with the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from rag.config import Settings
from rag.errors import CorpusError, DocumentFileMissingError
from rag.ingest.extraction_cache import ExtractionCache
from rag.ingest.fingerprints import sha256_text
from rag.ingest.formats import (
    FORMATS,
    READER_VERSION,
    ExtractedText,
    PageSpan,
    SectionSpan,
    UnreadableDocument,
    text_blocks,
    text_head,
)
from rag.ingest.formats import text as text_format
from rag.ingest.formats.base import page_range, section_at
from rag.text.language import SUPPORTED, UNDETERMINED, detect_language
from rag.types import SECTION_SEPARATOR, Location, SkippedFile

#: Progress through the pages of one file: (source, pages done, pages in all).
PageProgress = Callable[[str, int, int], None]
#: The folder an index was last ingested from, recorded in its cache folder (for ``source_text``).
SOURCE_FOLDER_FILE = "source_folder.json"

DESCRIPTION_KEYS = ("title", "language", "kind")


#: Characters a detected language is judged on (the start of the text).
LANGUAGE_SAMPLE_CHARS = 5000


class DocumentChanged(Exception):
    """A document's text, read again to be chunked, is not the text its reading described: the
    file changed (or became unreadable) in between. ``reason`` is for people."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class TextBlock(NamedTuple):
    """A stretch of a document's text: ``text`` is ``document text[start:start + len(text)]``."""

    start: int
    text: str


@dataclass(frozen=True)
class SourceDocument:
    """One source file, described: what change detection, the manifest and chunk metadata need.

    The text is not held: a folder's documents would hold every text at once, and a huge file
    all of its text. ``text_blocks`` reads it again, checked against this description, when the
    document is chunked."""

    source: str  # path relative to the corpus folder, with forward slashes
    title: str
    declared_language: str  # from the folder's metadata file; "" when not declared
    kind: str
    content_hash: str
    chars: int = 0  # characters of the text: what every offset indexes
    format: str = "text"  # "pdf" | "docx" | "html" | "markdown" | "text"
    pages: tuple[PageSpan, ...] = ()
    sections: tuple[SectionSpan, ...] = ()
    path: Path | None = None  # None: a text held by the caller (Chunker.chunk_text)
    has_text: bool = True  # any character that is not whitespace
    #: Plain text: SHA-256 of each block (rag.ingest.formats.text.text_blocks) as first read.
    block_hashes: tuple[bytes, ...] = field(default=(), repr=False)
    extractions: ExtractionCache | None = field(default=None, compare=False, repr=False)

    @cached_property
    def language(self) -> str:
        """Declared, else detected from the start of the text (read again); computed on first
        use, since an ingest of an unchanged file never needs it. DocumentChanged when the file
        can no longer be read."""
        if self.declared_language:
            return self.declared_language
        try:
            if self.format == "text":
                head = text_head(self._path(), LANGUAGE_SAMPLE_CHARS)
            else:
                head = self._extracted().text[:LANGUAGE_SAMPLE_CHARS]
        except UnreadableDocument as error:
            raise DocumentChanged(self.source, _no_longer_readable(error)) from None
        return detect_language(head)

    def location(self, start: int, end: int) -> Location:
        """The pages ``text[start:end]`` is on and the heading path it starts under."""
        if not self.pages and not self.sections:
            return Location()
        pages = page_range(self.pages, self.chars, start, end)
        path = section_at(self.sections, self.chars, start)
        return Location(
            page_start=pages[0] if pages else None,
            page_end=pages[1] if pages else None,
            section=SECTION_SEPARATOR.join(path) if path else None,
        )

    def text_blocks(self) -> Iterator[TextBlock]:
        """The text read again, in consecutive blocks: a plain-text file in blocks of bounded
        size, each checked against its hash from the first reading before it is given out (so
        no chunk of another version is ever made from it); another format as one block, its
        extraction checked against the content hash. DocumentChanged when the text differs."""
        try:
            if self.format == "text":
                yield from self._checked_text_blocks()
                return
            extracted = self._extracted()
        except UnreadableDocument as error:
            raise DocumentChanged(self.source, _no_longer_readable(error)) from None
        if content_hash(extracted) != self.content_hash:
            raise DocumentChanged(self.source, CHANGED_WHILE_INGESTED)
        yield TextBlock(0, extracted.text)

    def read_text(self) -> str:
        """The whole text, read again and checked (``text_blocks``): for callers that need it at
        once, never for ingesting."""
        return "".join(block.text for block in self.text_blocks())

    def _checked_text_blocks(self) -> Iterator[TextBlock]:
        start = count = 0
        for count, block in enumerate(text_blocks(self._path()), 1):
            expected = self.block_hashes[count - 1] if count <= len(self.block_hashes) else None
            if hashlib.sha256(block.encode("utf-8")).digest() != expected:
                raise DocumentChanged(self.source, CHANGED_WHILE_INGESTED)
            yield TextBlock(start, block)
            start += len(block)
        if count != len(self.block_hashes):
            raise DocumentChanged(self.source, CHANGED_WHILE_INGESTED)

    def _extracted(self) -> ExtractedText:
        return (self.extractions or ExtractionCache(None)).extract(self._path())

    def _path(self) -> Path:
        if self.path is None:
            raise ValueError(f"{self.source} has no file to read its text from; chunk its text with Chunker.chunk_text")
        return self.path


CHANGED_WHILE_INGESTED = (
    "it changed while it was being ingested, so this ingest left it as the index had it; ingest again to index it"
)


def _no_longer_readable(error: UnreadableDocument) -> str:
    return f"it could no longer be read while it was being ingested ({error.reason}); ingest again once it can be read"


@dataclass
class FolderReading:
    """What reading a folder gave: its documents, and the files that could not be read."""

    documents: list[SourceDocument] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


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
        if path.suffix.lower() not in settings.file_extensions:
            continue
        # A broken link is kept so that reading it fails with a clear error instead of vanishing.
        if path.exists() and not path.is_file():
            skipped.append(SkippedFile(source=name, reason=_NOT_A_REGULAR_FILE))
            continue
        files.append(path)
    return FolderListing(sorted(files), skipped)


_NOT_UTF8_NAME = "the file name is not UTF-8, so it cannot be stored or cited; rename the file"
#: A named pipe, socket or device: reading one could wait forever (a pipe nobody writes to).
_NOT_A_REGULAR_FILE = "not a regular file (a named pipe, socket or device), so it is not read"


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
    encoding = text_format.text_encoding(raw)
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
    return text_format.universal_newlines(text)


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
    except RecursionError:  # the JSON parser recurses once per level of nesting
        raise CorpusError(
            f"{path} is nested too deeply to be read; it must map file names to {{title, language, kind}} objects."
        ) from None
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
        if not _is_unicode(value):  # JSON can escape half a surrogate pair; the store cannot hold it
            raise CorpusError(
                f"{path}: {key!r} of {source!r} holds an unpaired surrogate escape (\\ud800-\\udfff); "
                "write the character itself."
            )
    language = entry.get("language", "")
    allowed = (*SUPPORTED, UNDETERMINED)
    if language and language not in allowed:
        raise CorpusError(
            f"{path}: the language of {source!r} is {language!r}; use one of {', '.join(allowed)} "
            "(or leave it out to have it detected)."
        )
    return dict(entry)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def extraction_cache(settings: Settings) -> ExtractionCache:
    """The store's cache of extracted texts (rag.ingest.extraction_cache)."""
    return ExtractionCache(settings.resolved_cache_dir / "extracted")


def read_document(
    path: Path,
    folder: Path,
    metadata: dict[str, dict],
    cache: ExtractionCache | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> SourceDocument:
    """The document at ``path``, described; raises UnreadableDocument with a reason for people.

    Its text is read through and let go (a plain-text file block by block, so memory is bounded
    by a block, not by the file); chunking reads it again (``SourceDocument.text_blocks``)."""
    source = path.relative_to(folder).as_posix()
    described = metadata.get(source, {})
    if FORMATS.get(path.suffix.lower()) == "text":
        return _read_text_document(path, source, described)
    extracted = (cache or ExtractionCache(None)).extract(path, on_page=on_page)
    return SourceDocument(
        source=source,
        title=described.get("title") or extracted.title or title_from_text(path, extracted.text),
        declared_language=described.get("language", ""),
        kind=described.get("kind", ""),
        content_hash=content_hash(extracted),
        chars=len(extracted.text),
        format=extracted.format,
        pages=extracted.pages,
        sections=extracted.sections,
        path=path,
        has_text=bool(extracted.text) and not extracted.text.isspace(),
        extractions=cache,
    )


def _read_text_document(path: Path, source: str, described: dict[str, str]) -> SourceDocument:
    """A plain-text file read as a stream of blocks: its hash (the same as ``content_hash`` of
    the whole text: either digest is fed as the blocks come), each block's hash, its length and its title from its start. Every block is
    read, so a fault anywhere in the file is found before anything of it is written."""
    whole = hashlib.sha256()
    whole_in_blocks = hashlib.sha256(_in_blocks_header().encode("utf-8"))
    block_hashes: list[bytes] = []
    chars = 0
    head = ""
    has_text = False
    for block in text_blocks(path):
        data = block.encode("utf-8")
        whole.update(data)
        whole_in_blocks.update(data)
        block_hashes.append(hashlib.sha256(data).digest())
        chars += len(block)
        head += block[: LANGUAGE_SAMPLE_CHARS - len(head)]
        has_text = has_text or not block.isspace()
    return SourceDocument(
        source=source,
        title=described.get("title") or title_from_text(path, head),
        declared_language=described.get("language", ""),
        kind=described.get("kind", ""),
        content_hash=(whole_in_blocks if len(block_hashes) > 1 else whole).hexdigest(),
        chars=chars,
        path=path,
        has_text=has_text,
        block_hashes=tuple(block_hashes),
    )


def content_hash(extracted: ExtractedText) -> str:
    """The hash of what the index holds of a file. Plain text: its text alone (as before other
    formats were read, so existing stores stay valid), but a text longer than one block, which
    is chunked block by block, also names the block size: a store holding it cut whole (or in
    other blocks) cuts it again, instead of mixing chunks of two cuts under the ids of one
    version when it repairs or resumes it (vectors of unchanged chunk texts are reused). Other
    formats also carry pages, sections and a title, so the reader version is part of it: a new
    reader renews their chunks."""
    if extracted.format == "text":
        if len(extracted.text) > text_format.BLOCK_CHARS:
            return sha256_text(_in_blocks_header() + extracted.text)
        return sha256_text(extracted.text)
    return sha256_text(f"{extracted.format} reader {READER_VERSION}\n{extracted.text}")


def _in_blocks_header() -> str:
    """What the hash of a plain text of several blocks starts with (see ``content_hash``)."""
    return f"text chunked in blocks of {text_format.BLOCK_CHARS} characters\n"


def title_from_text(path: Path, text: str) -> str:
    """A Markdown heading if the file starts with one, else the file name. ``text`` may be the
    start of the text only (a plain-text file's first LANGUAGE_SAMPLE_CHARS characters)."""
    first_line = text.lstrip("\ufeff \t\n").split("\n", 1)[0].strip()
    if first_line.startswith("#"):
        return first_line.lstrip("#").strip()[:120] or path.stem
    return path.stem


def read_documents(folder: Path, settings: Settings, on_page: PageProgress | None = None) -> FolderReading:
    """Every document of the folder except those removed from the index (rag.ingest.exclusions);
    files that cannot be read or listed are skipped with their reason. Extractions of files no
    longer in the folder (or changed) leave the cache."""
    from rag.ingest.exclusions import excluded_sources

    metadata = load_folder_metadata(folder, settings)
    listing = list_folder(folder, settings)
    excluded = excluded_sources(settings, folder)  # removed from the index, kept on disk
    cache = extraction_cache(settings)
    reading = FolderReading(skipped=list(listing.skipped))
    for path in listing.files:
        source = path.relative_to(folder).as_posix()
        if source in excluded:
            continue
        pages = (lambda done, total, source=source: on_page(source, done, total)) if on_page else None
        try:
            reading.documents.append(read_document(path, folder, metadata, cache, pages))
        except UnreadableDocument as error:
            reading.skipped.append(SkippedFile(source=source, reason=error.reason))
    cache.prune()
    return reading


def read_one_document(
    folder: Path, source: str, settings: Settings, on_page: PageProgress | None = None
) -> SourceDocument:
    """The document ``source`` of the folder, read as reading the whole folder reads it (the same
    metadata file, extraction cache and checks of names, suffixes and links) without listing
    the folder. DocumentFileMissingError when the file is gone; CorpusError when the name is
    not one the folder's ingest would read, or the file cannot be read (with the reason)."""
    path = folder / source
    relative = Path(source)
    if relative.is_absolute() or ".." in relative.parts or any(part.startswith(".") for part in relative.parts):
        raise CorpusError(f"{source!r} is not a document of {folder}.")
    if path.suffix.lower() not in settings.file_extensions:
        raise CorpusError(f"{source!r} is not a document of {folder}: only {', '.join(settings.file_extensions)} files are.")
    if path.is_symlink():
        problem = _link_problem(path, folder.resolve(), settings)
        if problem:
            raise CorpusError(f"{source} is {problem}.")
    if path.is_dir():
        raise CorpusError(f"{source} is a folder now, not a document of {folder}.")
    if not path.is_file():
        raise DocumentFileMissingError(source, str(folder))
    pages = (lambda done, total: on_page(source, done, total)) if on_page else None
    try:
        return read_document(path, folder, load_folder_metadata(folder, settings), extraction_cache(settings), pages)
    except UnreadableDocument as error:
        raise CorpusError(
            f"{source} cannot be read: {error.reason}. The index keeps its earlier text; "
            "fix the file, or remove it from the index."
        ) from None


def read_folder(folder: Path, settings: Settings) -> Iterator[SourceDocument]:
    """The readable documents of the folder (``read_documents`` also says which were skipped)."""
    yield from read_documents(folder, settings).documents


@dataclass(frozen=True)
class SourceFile:
    """An ingested file on disk and its extracted text (with pages and sections)."""

    path: Path
    extracted: ExtractedText


def read_source_file(folder: Path, source: str, settings: Settings) -> SourceFile:
    """The file ``source`` (relative to ``folder``) and its extracted text: what the index's
    offsets index. CorpusError when it is outside the folder, missing or unreadable."""
    path = (folder / source).resolve()
    if folder.resolve() not in path.parents:
        raise CorpusError(f"{source!r} is not inside {folder}.")
    if not path.is_file():
        raise CorpusError(f"{source!r} is not a file of {folder}.")
    try:
        return SourceFile(path, extraction_cache(settings).extract(path))
    except UnreadableDocument as error:
        raise CorpusError(str(error)) from None


def remember_source_folder(settings: Settings, folder: Path) -> None:
    """Record the folder an index was ingested from, so its texts can be shown later."""
    record = settings.resolved_cache_dir / SOURCE_FOLDER_FILE
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"source_dir": str(Path(folder).resolve())}), encoding="utf-8")
    except OSError:  # only costs naming the folder later (--source)
        pass


def remembered_source_folder(settings: Settings) -> Path | None:
    """The folder the index was last ingested from, if recorded."""
    try:
        data = json.loads((settings.resolved_cache_dir / SOURCE_FOLDER_FILE).read_text(encoding="utf-8"))
        return Path(data["source_dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def page_progress(enabled: bool, min_pages: int = 20) -> tuple[PageProgress | None, Callable[[], None]]:
    """A progress callback drawing a tqdm bar per file of at least ``min_pages`` pages, and its closer."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(source: str, done: int, total: int) -> None:
        if total < min_pages:
            return
        bar = bars.get(source)
        if bar is None:
            bar = bars[source] = tqdm(total=total, unit="page", desc=f"Reading {source[-40:]}", dynamic_ncols=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return update, close
