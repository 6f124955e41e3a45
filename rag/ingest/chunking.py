"""Cutting a document into sentence-aware chunks with exact character offsets.

A chunk's text is always ``text[start:end]`` of its document's text: the splitter's output is
aligned back onto the source (rag.ingest.alignment), so citations point at the exact characters
that support an answer. A huge plain-text file is cut a block at a time (``Chunker.chunks``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from rag.config import Settings
from rag.ingest.alignment import align_pieces
from rag.ingest.documents import SourceDocument, TextBlock
from rag.ingest.fingerprints import chunk_fingerprint, sha256_text
from rag.ingest.wordpieces import word_piece_counter

#: A last chunk is merged into the one before when both fit in this share of chunk_size.
MERGED_TAIL_SHARE = 1.1
#: A run of sentence ends and the punctuation NLTK accepts after one, with no space in it ("!!!!",
#: "?![?!["). NLTK's sentence tokenizer cuts such a run one character at a time and the splitter
#: recurses once per cut: 2,000 "!" raised RecursionError, 100,000 took minutes first.
_PUNCTUATION_RUN = re.compile(r"""[.?!)";}\]*:@'({\[‘’“”«»]{100,}""")


_WORD_WITH_SPACE = re.compile(r"\s*\S+\s*")
#: The longest whitespace between two chunks that a passage may bridge (a paragraph break, as a rule).
MAX_GAP = 16


def _cut(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class Chunk:
    """A piece of a source document: ``text`` is its text's ``[start:end]``. ``document`` holds no
    text (rag.ingest.documents.SourceDocument), so a chunk drags no file along."""

    document: SourceDocument
    index: int
    start: int
    end: int
    text: str
    metadata: dict = field(default_factory=dict, compare=False)
    #: The whitespace between the chunk before and this one (``text[previous end:start]``), when
    #: they do not overlap, it is at most MAX_GAP characters and no page break or heading lies
    #: between them: it lets retrieval show two neighbouring chunks as one exact stretch of the
    #: source (rag.retrieval.passages).
    gap_before: str | None = None

    @property
    def text_hash(self) -> str:
        return sha256_text(self.text)


class Chunker:
    """Sentence-aware chunks sized in the embedding model's word pieces, aligned to the source."""

    def __init__(self, settings: Settings):
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

        self.settings = settings
        self._nltk_sentences = split_by_sentence_tokenizer()
        self._count_pieces = word_piece_counter(settings)
        self._merge_limit = _merged_tail_limit(settings)
        self._splitter = SentenceSplitter(
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            tokenizer=lambda text: range(self._count_pieces(text)),  # it only takes the len()
            paragraph_separator="\n\n",
            chunking_tokenizer_fn=self._sentences,
            include_metadata=False,
            include_prev_next_rel=False,
        )

    @property
    def fingerprint(self) -> str:
        return chunk_fingerprint(self.settings)

    def chunks(self, document: SourceDocument, blocks: Iterable[TextBlock] | None = None) -> Iterator[Chunk]:
        """The document's chunks in order, made block by block as they are consumed: of its text
        read again (``SourceDocument.text_blocks``, which raises DocumentChanged when the text is
        not the one described), or of ``blocks``. Memory holds one block and its chunks, not the
        file. Each block is cut alone, so a text of one block is cut exactly as a whole; chunks
        do not overlap across a block boundary (a paragraph break, as a rule)."""
        index = 0
        since_previous: str | None = None  # the text after the previous chunk, up to the block read
        previous_end = 0
        for block in document.text_blocks() if blocks is None else blocks:
            at = 0  # where since_previous stops in this block
            for start, end in self._spans(block.text):
                gap = None if since_previous is None or start < at else since_previous + block.text[at:start]
                bridgeable = gap is not None and len(gap) <= MAX_GAP and not gap.strip()
                yield Chunk(
                    document, index, block.start + start, block.start + end, block.text[start:end],
                    gap_before=gap if bridgeable and _one_place(document, previous_end, block.start + start) else None,
                )
                index += 1
                since_previous, at, previous_end = "", end, block.start + end
            if since_previous is not None:
                since_previous += block.text[at:]
                if len(since_previous) > MAX_GAP:  # no neighbour bridges it: keep memory bounded
                    since_previous = since_previous[: MAX_GAP + 1]

    def chunk(self, document: SourceDocument) -> list[Chunk]:
        """All chunks of the document's text, read again (see ``chunks``)."""
        return list(self.chunks(document))

    def chunk_text(self, document: SourceDocument, text: str) -> list[Chunk]:
        """All chunks of ``text``, the document's whole text held by the caller, cut as one block."""
        return list(self.chunks(document, [TextBlock(0, text)]))

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Where the chunks of ``text`` start and end."""
        if not text.strip():
            return []
        try:
            pieces = self._splitter.split_text(text)
        except RecursionError:
            # LlamaIndex's splitter recurses once per cut when the sentence tokenizer cuts a text
            # a character at a time (symbol soup found by tests/test_hardening_files.py).
            pieces = self._pieces_by_words(text)
        return self._merge_short_tail(text, align_pieces(text, pieces))

    def _sentences(self, text: str) -> list[str]:
        """NLTK's sentences, as the splitter's default; a text with long runs of punctuation is cut
        around them instead (the splitter then cuts a run too long for a chunk by characters)."""
        runs = [span for run in _PUNCTUATION_RUN.finditer(text) for span in run.span()]
        if not runs:
            return self._nltk_sentences(text)
        cuts = sorted({0, *runs, len(text)})
        return [text[start:end] for start, end in pairwise(cuts)]

    def _pieces_by_words(self, text: str) -> list[str]:
        """The text cut without recursion: runs of whole words (at whitespace) of at most
        chunk_size word pieces, no overlap; a word longer than that is cut by characters (a
        character is at most one word piece)."""
        limit = self.settings.chunk_size
        pieces: list[str] = []
        current, count = "", 0
        for word in _WORD_WITH_SPACE.findall(text):
            pieces_of_word = self._count_pieces(word)
            parts = [word] if pieces_of_word <= limit else _cut(word, max(1, limit // 2))
            for part in parts:
                size = pieces_of_word if part is word else self._count_pieces(part)
                if current and count + size > limit:
                    pieces.append(current)
                    current, count = "", 0
                current, count = current + part, count + size
        if current.strip():
            pieces.append(current)
        return [piece.strip() for piece in pieces if piece.strip()]

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


def _one_place(document: SourceDocument, end_before: int, start: int) -> bool:
    """Whether the chunk ending at ``end_before`` and the one starting at ``start`` lie on one page
    under one heading: a passage never joins two chunks across a page break or a heading, so its
    citation names the page and section it comes from."""
    before = document.location(end_before - 1, end_before)
    after = document.location(start, start + 1)
    return before.page_end == after.page_start and before.section == after.section


def _merged_tail_limit(settings: Settings) -> int:
    """Word pieces a merged last chunk may have: MERGED_TAIL_SHARE of the chunk size, and no more
    than the local embedding model reads."""
    limit = int(settings.chunk_size * MERGED_TAIL_SHARE)
    if settings.embedding_backend == "local":
        from rag.embedding.onnx_export import OnnxExportError, read_model_spec

        try:
            limit = min(limit, read_model_spec(settings.embedding_model).max_seq_length - 2)
        except OnnxExportError:  # not a model folder: the embedding reports that itself
            pass
    return limit
