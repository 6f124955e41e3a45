"""Reading a folder of texts and cutting it into chunks with exact character offsets.

A chunk's text is always ``source_text[start:end]``: the splitter's output is aligned back onto the
source, so citations can point at the exact characters that support an answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from pathlib import Path

from rag.config import Settings
from rag.errors import CorpusError
from rag.language import detect_language

CHUNKER_VERSION = "2"
#: A last chunk is merged into the one before when both fit in this share of chunk_size.
MERGED_TAIL_SHARE = 1.1


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
class Chunk:
    """A piece of a source document; ``document.text[start:end] == text``."""

    document: SourceDocument
    index: int
    start: int
    end: int
    text: str
    metadata: dict = field(default_factory=dict, compare=False)

    @property
    def text_hash(self) -> str:
        return sha256_text(self.text)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- reading --------------------------------------------------------------------------------------


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
    metadata = load_folder_metadata(folder, settings)
    for path in discover_files(folder, settings):
        yield read_document(path, folder, metadata)


# --- chunking -------------------------------------------------------------------------------------


class Chunker:
    """Sentence-aware chunks sized in the embedding model's word pieces, aligned to the source."""

    def __init__(self, settings: Settings):
        from llama_index.core.node_parser import SentenceSplitter

        self.settings = settings
        self._count_pieces = word_piece_counter(settings)
        self._merge_limit = _merged_tail_limit(settings)
        self._splitter = SentenceSplitter(
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            tokenizer=lambda text: range(self._count_pieces(text)),  # it only takes the len()
            paragraph_separator="\n\n",
            include_metadata=False,
            include_prev_next_rel=False,
        )

    @property
    def fingerprint(self) -> str:
        return chunk_fingerprint(self.settings)

    def chunk(self, document: SourceDocument) -> list[Chunk]:
        if not document.text.strip():
            return []
        pieces = self._splitter.split_text(document.text)
        spans = self._merge_short_tail(document.text, align_pieces(document.text, pieces))
        return [
            Chunk(document=document, index=i, start=start, end=end, text=document.text[start:end])
            for i, (start, end) in enumerate(spans)
        ]

    def _merge_short_tail(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The splitter leaves whatever remains as a last chunk, sometimes a dozen words that
        then outrank whole passages in BM25 (short documents score high). Merge such a tail
        into the chunk before when the two together stay within MERGED_TAIL_SHARE of the size
        (and of what the embedding model reads)."""
        if len(spans) < 2:
            return spans
        start, end = spans[-2][0], spans[-1][1]
        if self._count_pieces(text[start:end]) > self._merge_limit:
            return spans
        return spans[:-2] + [(start, end)]


def _merged_tail_limit(settings: Settings) -> int:
    """Word pieces a merged last chunk may have: MERGED_TAIL_SHARE of the chunk size, and no more
    than the local embedding model reads."""
    limit = int(settings.chunk_size * MERGED_TAIL_SHARE)
    if settings.embedding_backend == "local":
        from rag.onnx_model import OnnxExportError, read_model_spec

        try:
            limit = min(limit, read_model_spec(settings.embedding_model).max_seq_length - 2)
        except OnnxExportError:  # not a model folder: the embedding reports that itself
            pass
    return limit


def chunk_fingerprint(settings: Settings) -> str:
    """Changes whenever chunk boundaries or their vectors could change: the store never mixes
    vectors of different models, runtimes or prefixes. (Cheap: builds no splitter, so an
    unchanged re-ingest can check it without loading LlamaIndex.)"""
    s = settings
    return f"chunker{CHUNKER_VERSION}:{vector_fingerprint(s)}:{s.chunk_size}:{s.chunk_overlap}"


def vector_fingerprint(settings: Settings) -> str:
    """The part of the chunk fingerprint that says which vectors a chunk has: questions must be
    embedded the same way (backend, model and runtime, passage prefix)."""
    from rag.embeddings import embedding_fingerprint

    s = settings
    return f"{s.embedding_backend}:{embedding_fingerprint(s)}:{s.embedding_passage_prefix}"


def vector_fingerprint_of(fingerprint: str) -> str:
    """The vector part of a chunk fingerprint made by ``chunk_fingerprint``."""
    return fingerprint.split(":", 1)[-1].rsplit(":", 2)[0]


def word_piece_counter(settings: Settings) -> Callable[[str], int]:
    """How many word pieces a text has for the embedding model's tokenizer, or for tiktoken with
    API embeddings."""
    tokenizer_file = Path(settings.embedding_model) / "tokenizer.json"
    if settings.embedding_backend == "local" and tokenizer_file.is_file():
        return _hf_counter(str(tokenizer_file))
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    return lambda text: len(encoding.encode(text))


def _hf_counter(tokenizer_file: str) -> Callable[[str], int]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(tokenizer_file)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    if WordPieceCounter.applies_to(tokenizer):
        return WordPieceCounter(tokenizer)
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


# What BertNormalizer turns into a plain space (after dropping control characters) and
# BertPreTokenizer then splits on.
_BERT_WORD = re.compile("[^ \t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


class WordPieceCounter:
    """Counts a text's word pieces as a BERT tokenizer would, as the sum over its space-separated
    words, each tokenized once and remembered.

    This is exact: BERT's normalizer and pre-tokenizer act on each such word on its own. The
    splitter measures every paragraph and sentence, some several times; tokenizing each call
    took 9 of the 14 s that cutting a 10^4-chunk corpus cost.
    """

    def __init__(self, tokenizer: Any):
        self._tokenizer = tokenizer
        self._pieces: dict[str, int] = {}

    @staticmethod
    def applies_to(tokenizer: Any) -> bool:
        import json

        config = json.loads(tokenizer.to_str())
        normalizer, pre_tokenizer = config.get("normalizer") or {}, config.get("pre_tokenizer") or {}
        return normalizer.get("type") == "BertNormalizer" and pre_tokenizer.get("type") == "BertPreTokenizer"

    def __call__(self, text: str) -> int:
        words = _BERT_WORD.findall(text)
        pieces = self._pieces
        unseen = [w for w in dict.fromkeys(words) if w not in pieces]
        if unseen:
            encodings = self._tokenizer.encode_batch(unseen, add_special_tokens=False)
            pieces.update((word, len(encoding.ids)) for word, encoding in zip(unseen, encodings))
        return sum(map(pieces.__getitem__, words))


def align_pieces(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Character spans of the splitter's consecutive pieces in ``text``.

    Each piece starts inside the previous one (overlap) or after it, and ends after it. Where a
    text repeats itself a piece may occur several times: the last occurrence starting within the
    previous piece is taken (else the first one after it), so consecutive spans leave no gap.
    That choice can still strand the end of the text (a last piece that also occurs inside the one
    before it); the pieces are then aligned from the end backwards, which cannot. Pieces are
    normally exact substrings; if the splitter changed whitespace, any run of whitespace matches
    any other.
    """
    spans = _align_forwards(text, pieces)
    if pieces and not _covers(text, spans):
        backwards = _align_backwards(text, pieces)
        if backwards is not None and _covers(text, backwards):
            return backwards
    return spans


def _align_forwards(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    previous_start, previous_end = -1, 0
    for piece in pieces:
        start = text.rfind(piece, previous_start + 1, previous_end + len(piece))
        if start < 0 or start + len(piece) <= previous_end:  # none there that moves forward
            start = text.find(piece, previous_end)
        if start >= 0:
            end = start + len(piece)
        else:
            start, end = _find_ignoring_whitespace(text, piece, previous_start + 1)
        spans.append((start, end))
        previous_start, previous_end = start, end
    return spans


def _align_backwards(text: str, pieces: list[str]) -> list[tuple[int, int]] | None:
    """Mirror of ``_align_forwards`` from the last piece (exact substrings only, else None)."""
    spans: list[tuple[int, int]] = []
    next_start, next_end = len(text), len(text) + 1
    for piece in reversed(pieces):
        start = text.find(piece, max(next_start - len(piece), 0), next_end - 1)
        if start < 0 or start + len(piece) > next_end - 1 or start >= next_start:
            start = text.rfind(piece, 0, next_start)
        if start < 0:
            return None
        spans.append((start, start + len(piece)))
        next_start, next_end = start, start + len(piece)
    return spans[::-1]


def _covers(text: str, spans: list[tuple[int, int]]) -> bool:
    """Whether the spans move forward and leave nothing but whitespace uncovered."""
    if text[: spans[0][0]].strip() or text[spans[-1][1] :].strip():
        return False
    return all(
        a_start < b_start and a_end < b_end and not text[a_end:b_start].strip()
        for (a_start, a_end), (b_start, b_end) in zip(spans, spans[1:])
    )


def _find_ignoring_whitespace(text: str, piece: str, cursor: int) -> tuple[int, int]:
    words = piece.split()
    pattern = r"\s+".join(re.escape(word) for word in words)
    match = re.compile(pattern).search(text, cursor) or re.compile(pattern).search(text)
    if match is None:
        raise CorpusError(f"Internal error: a chunk could not be located in its source ({piece[:60]!r}).")
    return match.start(), match.end()
