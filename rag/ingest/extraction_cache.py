"""Extracted text kept between ingests, so an unchanged PDF, DOCX or HTML file is not read again.

An entry is keyed by the SHA-256 of the file's bytes and the reader version
(rag.ingest.formats.READER_VERSION): a changed file, or a changed reader, is extracted once more.
Plain text and Markdown are not cached: decoding them costs no more than reading an entry.
Entries are JSON files written atomically; a damaged entry is ignored (the file is read again).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from rag.ingest.formats import FORMATS, READER_VERSION, ExtractedText, PageSpan, SectionSpan, extract

#: Formats whose extraction costs more than reading a cache entry.
CACHED_FORMATS = frozenset({"pdf", "docx", "html"})


class ExtractionCache:
    """Extracted texts under ``folder`` (None: no cache, every file is read)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.used: set[str] = set()  # keys read or written through this cache

    def extract(self, path: Path, on_page: Callable[[int, int], None] | None = None) -> ExtractedText:
        """The file's text: from the cache when its bytes were extracted before by this reader
        version, else extracted (and stored). Raises UnreadableDocument like ``extract``."""
        if self.folder is None or FORMATS.get(path.suffix.lower()) not in CACHED_FORMATS:
            return extract(path, on_page=on_page)
        key = _key(path)
        if key is None:  # unreadable bytes: let the reader say why
            return extract(path, on_page=on_page)
        self.used.add(key)
        cached = self._load(key)
        if cached is not None:
            return cached
        extracted = extract(path, on_page=on_page)
        self._store(key, extracted)
        return extracted

    def prune(self) -> int:
        """Delete the entries this cache did not use (files changed or gone); returns how many.
        Call it after reading a whole folder."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        removed = 0
        for entry in self.folder.glob("*.json"):
            if entry.stem not in self.used:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def _load(self, key: str) -> ExtractedText | None:
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            return ExtractedText(
                text=data["text"],
                format=data["format"],
                pages=tuple(PageSpan(*page) for page in data["pages"]),
                sections=tuple(SectionSpan(tuple(path), start, end) for path, start, end in data["sections"]),
                title=data["title"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _store(self, key: str, extracted: ExtractedText) -> None:
        data = {
            "text": extracted.text,
            "format": extracted.format,
            "pages": [[p.number, p.start, p.end] for p in extracted.pages],
            "sections": [[list(s.path), s.start, s.end] for s in extracted.sections],
            "title": extracted.title,
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
            os.replace(temporary, self.folder / f"{key}.json")
        except OSError:  # a cache that cannot be written only costs the next read
            pass


def _key(path: Path) -> str | None:
    """Reader version and SHA-256 of the file's bytes, read in blocks (a 500-page PDF is not held twice)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return f"v{READER_VERSION}-{digest.hexdigest()}"
