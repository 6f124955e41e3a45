"""Plain-text files are read, hashed and chunked as a stream of blocks: the text and offsets are
those of the whole file, a file of one block is chunked exactly as before, memory does not grow
with the file, and a file that changes between reading and writing is never stored wrongly."""

from __future__ import annotations

import codecs
import random
import tracemalloc
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from support.chunks import assert_gaps_are_the_whitespace_between_neighbours
from support.paths import SEEDS
from support.settings import make_settings

from bench.ingest_memory import generated_text
from rag.ingest.chunking import Chunker
from rag.ingest.documents import (
    DocumentChanged,
    content_hash,
    read_document,
    read_folder,
)
from rag.ingest.fingerprints import sha256_text
from rag.ingest.formats import UnreadableDocument, extract
from rag.ingest.formats import text as text_format
from rag.ingest.formats.text import decode_text, text_blocks
from rag.ingest.pipeline import ingest_folder, read_corpus

#: Characters a block holds in these tests, so a few KB of text make several blocks.
SMALL_BLOCK = 2000


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of SMALL_BLOCK characters, read 7 bytes at a time: every multibyte character and
    "\\r\\n" of a test text meets a read boundary somewhere, and a text of a few KB several blocks."""
    monkeypatch.setattr(text_format, "BLOCK_CHARS", SMALL_BLOCK)
    monkeypatch.setattr(text_format, "READ_BYTES", 7)
    return SMALL_BLOCK


def tricky_text(paragraphs: int, seed: int = 0) -> str:
    """Paragraphs of words with umlauts, CJK and emoji, "\\r\\n" and lone "\\r" line ends, and
    some lines longer than a block (cut between any two characters)."""
    draw = random.Random(seed)
    words = ["Clark", "walks", "über", "die", "Straße", "中文", "😀", "farm.", "dawn!", "Lana", "waits?"]
    parts = []
    for _ in range(paragraphs):
        length = draw.choice([5, 40, 300]) if draw.random() < 0.9 else SMALL_BLOCK
        line_end = draw.choice(["\r\n", "\n", "\r"])
        parts.append(" ".join(draw.choice(words) for _ in range(length)) + line_end * draw.choice([1, 2]))
    return "".join(parts)


def write(path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bom + text.encode(encoding))
    return path


# --- the stream of blocks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-32-be", codecs.BOM_UTF32_BE)],
)
def test_blocks_join_to_the_text_read_whole_and_are_cut_at_line_ends(tmp_path, small_blocks, encoding, bom):
    path = write(tmp_path / "long.txt", tricky_text(120), encoding, bom)
    whole = decode_text(path.read_bytes(), path.name)
    blocks = list(text_blocks(path))
    assert len(blocks) > 5
    assert "".join(blocks) == whole
    assert all(len(block) <= small_blocks for block in blocks)
    assert all(is_cut_at_its_last_break(block, after, small_blocks) for block, after in pairwise(blocks))
    assert any(block.endswith("\n\n") for block in blocks) and any(not block.endswith("\n") for block in blocks)


def is_cut_at_its_last_break(block: str, after: str, limit: int) -> bool:
    """Of the first ``limit`` characters from the block's start, it ends after the last paragraph
    break in the second half, else the last line break there, else at the limit."""
    ahead = (block + after)[:limit]
    for separator in ("\n\n", "\n"):
        found = ahead.rfind(separator, limit // 2)
        if found >= 0:
            return len(block) == found + len(separator)
    return len(block) == limit


@hsettings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=60)
    | st.text(alphabet=st.sampled_from(list("ab \r\n\x00äß中😀\ufeff")), max_size=80).map(lambda t: t.encode("utf-8")),
    prefix=st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]),
    read_bytes=st.integers(1, 9),
    block=st.integers(1, 12),
)
def test_any_bytes_stream_as_they_decode_whole_or_fail_alike(tmp_path_factory, data, prefix, read_bytes, block):
    path = tmp_path_factory.mktemp("bytes") / "x.txt"
    path.write_bytes(prefix + data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_format, "READ_BYTES", read_bytes)
        try:
            whole = decode_text(path.read_bytes(), path.name)
        except UnreadableDocument as error:
            with pytest.raises(UnreadableDocument) as streamed:
                list(text_blocks(path, block))
            assert streamed.value.reason == error.reason
            return
        blocks = list(text_blocks(path, block))
    assert "".join(blocks) == whole
    assert all(0 < len(b) <= block for b in blocks)


def test_a_file_that_is_not_utf8_is_found_before_anything_of_it_is_given_out(tmp_path, small_blocks):
    path = tmp_path / "latin.txt"
    path.write_bytes(tricky_text(60).encode("utf-8") + "\nCaf\xe9\n".encode("latin-1"))
    with pytest.raises(UnreadableDocument, match="line .* not valid UTF-8") as streamed:
        read_document(path, tmp_path, {})
    with pytest.raises(UnreadableDocument) as whole:
        extract(path)
    assert streamed.value.reason == whole.value.reason


# --- what reading a text file describes -----------------------------------------------------------


def test_reading_a_long_file_describes_it_as_reading_it_whole_did(tmp_path, small_blocks):
    text = "# Die Straße\r\n\r\n" + tricky_text(150, seed=3)
    path = write(tmp_path / "docs" / "long.txt", text, "utf-8", codecs.BOM_UTF8)
    whole = extract(path).text
    document = read_document(path, tmp_path / "docs", {})
    assert document.content_hash == content_hash(extract(path))
    assert document.content_hash == sha256_text(f"text chunked in blocks of {small_blocks} characters\n{whole}")
    assert document.chars == len(whole)
    assert document.title == "Die Straße"
    assert document.has_text
    assert document.read_text() == whole
    assert not hasattr(document, "text")


# --- chunks of a file of many blocks ---------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE)])
def test_chunks_of_a_file_of_many_blocks_slice_its_whole_text_exactly(tmp_path, small_blocks, encoding, bom):
    path = write(tmp_path / "docs" / "long.txt", tricky_text(150, seed=1), encoding, bom)
    whole = extract(path).text
    settings = make_settings(tmp_path / "store", chunk_size=40, chunk_overlap=8)
    [document] = read_folder(tmp_path / "docs", settings)
    chunks = list(Chunker(settings).chunks(document))
    assert len(whole) > 5 * small_blocks
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(whole[c.start : c.end] == c.text and c.text.strip() for c in chunks)
    assert all(a.start < b.start for a, b in pairwise(chunks))
    assert_gaps_are_the_whitespace_between_neighbours(whole, chunks)  # across block ends too
    covered = bytearray(len(whole))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    assert "".join(ch for ch, c in zip(whole, covered) if not c).strip() == ""


def test_a_file_of_one_block_is_chunked_exactly_as_its_whole_text(tmp_path):
    settings = make_settings(tmp_path / "store")
    chunker = Chunker(settings)
    documents = list(read_folder(SEEDS, settings))
    assert len(documents) == 3
    for document in documents:
        whole = extract(SEEDS / document.source).text
        streamed = [(c.index, c.start, c.end, c.text, c.gap_before) for c in chunker.chunk(document)]
        assert streamed == [(c.index, c.start, c.end, c.text, c.gap_before) for c in chunker.chunk_text(document, whole)]
        assert len(streamed) > 1


def test_a_text_exactly_one_block_long_is_one_block(tmp_path, small_blocks):
    path = write(tmp_path / "edge.txt", ("Clark waits.\n\n" * 200)[:small_blocks])
    assert list(text_blocks(path)) == [path.read_text(encoding="utf-8")]
    path.write_text(path.read_text(encoding="utf-8") + "x", encoding="utf-8")
    assert len(list(text_blocks(path))) == 2


# --- memory -----------------------------------------------------------------------------------------


def peak_of_reading_and_chunking(path: Path, chunker: Chunker) -> tuple[int, int]:
    """Peak traced bytes of reading ``path`` as an ingest does and making all its chunks (a writer
    holds one window of them; here each is let go), and the number of chunks."""
    tracemalloc.start()
    try:
        document = read_document(path, path.parent, {})
        count = sum(1 for _ in chunker.chunks(document))
        return tracemalloc.get_traced_memory()[1], count
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_of_reading_and_chunking_a_text_file_does_not_grow_with_the_file(tmp_path, monkeypatch):
    """Blocks of 256 K characters (a quarter of the default) make a 5 MB file 20 blocks: the
    peak, what one block's splitting takes, is then well under either file."""
    monkeypatch.setattr(text_format, "BLOCK_CHARS", 1 << 18)
    chunker = Chunker(make_settings(tmp_path / "store"))
    peak_of_reading_and_chunking(generated_text(tmp_path / "warm.txt", 1), chunker)  # loads what splitting needs
    small = generated_text(tmp_path / "small.txt", 5)
    large = generated_text(tmp_path / "large.txt", 20)
    small_peak, small_chunks = peak_of_reading_and_chunking(small, chunker)
    large_peak, large_chunks = peak_of_reading_and_chunking(large, chunker)
    assert large_chunks > 3.5 * small_chunks
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
    assert large_peak < small.stat().st_size, (small_peak, large_peak)


# --- a file that changes between reading and writing ------------------------------------------------


def test_a_file_changed_after_the_folder_was_read_is_skipped_and_not_committed(tmp_path, fresh_rag):
    folder = tmp_path / "docs"
    write(folder / "story.txt", "Clark walks to the barn at dawn. " * 40)
    write(folder / "other.txt", "Lana waits by the river for the boat. " * 40)
    rag = fresh_rag()
    corpus = read_corpus(folder, rag.settings)
    write(folder / "story.txt", "Clark flies over the ocean at night. " * 40)
    store = rag.store(create=True)
    report = ingest_folder(corpus, store, rag.embedding, rag.settings)
    assert [(f.source, "changed while it was being ingested" in f.reason) for f in report.files_skipped] == [
        ("story.txt", True)
    ]
    assert report.files_added == ["other.txt"]
    assert set(store.file_records()) == {"other.txt"}
    assert store.count() == report.chunks_total == store.file_records()["other.txt"].n_chunks
    again = rag.ingest(folder)
    assert again.files_added == ["story.txt"] and not again.files_skipped
    text = (folder / "story.txt").read_text(encoding="utf-8")
    stored = [c for c in rag.store().current_chunks() if c.metadata["source"] == "story.txt"]
    assert stored and all(text[c.metadata["start"] : c.metadata["end"]] == c.text for c in stored)


def test_a_long_file_changed_while_its_chunks_are_written_keeps_its_indexed_version(tmp_path, fresh_rag, small_blocks):
    """The file's first blocks are chunked and stored (windows of 4 chunks) before a later block
    is read again and found changed: nothing of the new text is stored under the old version, the
    file keeps its earlier entry, and the chunks already stored are cleared as stale."""
    folder = tmp_path / "docs"
    path = write(folder / "long.txt", "Lana waits by the river. " * 40)
    rag = fresh_rag(ingest_window=4)
    rag.ingest(folder)
    before = rag.store().file_records()["long.txt"]
    indexed = {c.chunk_id: c.text for c in rag.store().current_chunks()}
    new_text = "".join(f"Paragraph {i}: Clark walks über die Straße to the farm at dawn. " * 4 + "\r\n\r\n" for i in range(40))
    write(path, new_text)
    corpus = read_corpus(folder, rag.settings)
    assert len(list(text_blocks(path))) > 3

    def change_the_tail(done: int, total: int, source: str) -> None:
        if done < total:
            write(path, new_text[:-30] + "Clark flies over the sea.")

    store = rag.store(create=True)
    report = ingest_folder(corpus, store, rag.embedding, rag.settings, progress=change_the_tail)
    assert [f.source for f in report.files_skipped] == ["long.txt"]
    assert report.chunks_embedded > 0  # windows of the first blocks were stored before the change was read
    assert store.file_records()["long.txt"] == before
    assert {c.chunk_id: c.text for c in store.current_chunks()} == indexed
    assert store.count() == before.n_chunks


def test_a_document_changed_since_it_was_read_raises_before_giving_a_chunk_of_the_new_text(tmp_path, small_blocks):
    path = write(tmp_path / "long.txt", tricky_text(80, seed=2))
    document = read_document(path, tmp_path, {})
    first_block = next(iter(text_blocks(path)))
    write(path, first_block + "A new ending, never read before. " * 100)
    settings = make_settings(tmp_path / "store", chunk_size=40, chunk_overlap=8)
    chunks = []
    with pytest.raises(DocumentChanged):
        chunks.extend(Chunker(settings).chunks(document))
    assert chunks and max(c.end for c in chunks) <= len(first_block)


def test_reingesting_a_document_that_changes_while_it_is_written_is_an_error_and_keeps_it(
    tmp_path, fresh_rag, monkeypatch
):
    from rag.errors import CorpusError
    from rag.ingest import documents

    folder = tmp_path / "docs"
    path = write(folder / "story.txt", "Clark walks to the barn at dawn. " * 40)
    rag = fresh_rag()
    rag.ingest(folder)
    before = rag.store().file_records()["story.txt"]
    read_one = documents.read_one_document

    def read_then_change(*args, **kwargs):
        document = read_one(*args, **kwargs)
        write(path, "Lana sails to the island at noon. " * 40)
        return document

    write(path, "Clark flies over the ocean at night. " * 40)
    monkeypatch.setattr(documents, "read_one_document", read_then_change)
    with pytest.raises(CorpusError, match="story.txt was not re-ingested: it changed while it was being ingested"):
        rag.reingest_document("story.txt", folder)
    assert rag.store().file_records()["story.txt"] == before
