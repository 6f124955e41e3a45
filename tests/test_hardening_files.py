"""Whatever bytes a file holds and whatever its name is (issue 18), an ingest reads the file or
skips it with a reason that names it, never fails with a traceback, and leaves a store that still
answers from the seeds with offsets that slice the source text exactly. A bad metadata file
(sources.json) stops the ingest with a message naming it, before anything is written.

The properties share one store (module scope) and change a copy of the seeds between examples, so
each example also proves that the previous one's files leave the index cleanly. Example tests next
to them pin the bugs the properties found.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.api import open_rag
from rag.errors import CorpusError
from rag.ingest.formats import SUPPORTED_SUFFIXES, extract
from support import documents
from support.environment import child_environment
from support.paths import REPO, SEEDS
from support.seeds import copy_seeds, seed_sources
from support.settings import make_settings
from test_cli import run_cli

SEED_QUESTION = "Why did Clark lose his powers?"
SUFFIXES = sorted(SUPPORTED_SUFFIXES) + [".PDF", ".Txt", ".HTM"]
PROPERTY_TEST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: What a reason for people never holds: a traceback, an exception's class name, the CLI's word for a bug.
RAW_ERROR = re.compile(r"Traceback|unexpected|\b[A-Z]\w*(Error|Exception)\b")

# --- what the files hold -------------------------------------------------------------------------

NASTY_TEXT = st.sampled_from(
    ["\x00", "\x1b[2J", "\x9b", "\u202e", "\r", "\r\n", "\ufeff", "\ud800", "\U0001f9b8", "e\u0301", "<p>", "</h1>",
     "<![", "<![CDATA[", "&#0;", "&#xd800;", "# ", "\n---\n", "Clark ", "Kräfte "]
)
TEXT = st.lists(st.one_of(st.characters(), NASTY_TEXT), max_size=200).map("".join)
CODECS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1"]
ENCODED = st.builds(
    lambda text, codec: text.encode(codec, "surrogatepass" if codec.startswith("utf") else "replace"),
    TEXT, st.sampled_from(CODECS),
)
HEADERS = st.sampled_from([
    b"%PDF-1.7\n",
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
    b"PK\x03\x04",
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    b'<!DOCTYPE html><meta charset="utf-16"><h1>',
    b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=shift_jis"><title>',
    b'<?xml version="1.0" encoding="utf-32"?>',
    codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE,
])
ENDINGS = st.sampled_from([b"", b"\n%%EOF\n", b"\x00", b"\xff", b"\xc3", b"\r", b"x"])
HEADED = st.builds(
    lambda head, body, end: head + body + end, HEADERS, st.one_of(st.binary(max_size=2000), ENCODED), ENDINGS
)
LONG_LINE = st.builds(
    lambda start, piece, times, end: start + piece * times + end,
    st.sampled_from([b"", b"# a", b"<p>", b"---\ntitle: a"]),
    st.sampled_from([b"a", "ä".encode(), b"\xff", b"\x00", b" ", b"\t ", b"*x ", b"![", b"<![", b"x ", "字".encode(),
                     b"\x1b[31m", "Kräfte".encode()]),
    st.integers(1_000, 5_000),
    ENDINGS,
)


@dataclass(frozen=True)
class Damaged:
    """A real PDF or DOCX, cut short at ``cut`` (a share of its length), or with ``patch`` written
    over its bytes at ``at`` (a share)."""

    kind: str
    cut: float
    at: float
    patch: bytes

    def data(self) -> bytes:
        whole = real_document(self.kind)
        if not self.patch:
            return whole[: int(len(whole) * self.cut)]
        at = int(len(whole) * self.at)
        return whole[:at] + self.patch + whole[at + len(self.patch) :]


@cache
def real_document(kind: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        make = documents.make_pdf if kind == "pdf" else documents.make_docx
        return make(Path(folder) / f"real.{kind}").read_bytes()


DAMAGED = st.builds(Damaged, st.sampled_from(["pdf", "docx"]), st.floats(0, 1), st.floats(0, 1), st.binary(max_size=64))
CONTENTS = st.one_of(st.just(b""), st.binary(max_size=4096), ENCODED, HEADED, LONG_LINE, DAMAGED)
HOSTILE_FILES = st.lists(st.tuples(st.sampled_from(SUFFIXES), CONTENTS), min_size=1, max_size=3)


def file_bytes(content: bytes | Damaged) -> bytes:
    return content.data() if isinstance(content, Damaged) else content


def python_text(data: bytes) -> str | None:
    """What ``open(path, encoding="utf-8").read()`` gives (UTF-16 or UTF-32 when the file starts
    with their byte-order mark), as the readers promise for text and Markdown; None when Python
    cannot read it, or it holds NUL characters (binary, or UTF-16 without a mark)."""
    boms = {"utf-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)}
    encoding = next((codec for codec, marks in boms.items() if data.startswith(marks)), "utf-8")
    try:
        text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding).read()
    except UnicodeDecodeError:
        return None
    return None if encoding == "utf-8" and "\x00" in text else text


# --- the store under attack ----------------------------------------------------------------------


@dataclass
class Corpus:
    rag: object
    folder: Path

    def reset_and_ingest(self) -> None:
        """The folder and the index hold the seeds only."""
        self.reset()
        self.rag.ingest(self.folder, progress=False)

    def reset(self) -> None:
        """Only the seeds and their metadata file are left in the folder (removed by bytes
        names: not every name can be decoded)."""
        keep = {os.fsencode(name) for name in seed_sources()}
        root = os.fsencode(self.folder)
        for name in os.listdir(root):
            if name in keep:
                continue
            path = os.path.join(root, name)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
        shutil.copyfile(SEEDS / "sources.json", self.folder / "sources.json")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, embedding) -> Corpus:
    """A copy of the seeds ingested into a store of this module; each example adds its files."""
    folder = copy_seeds(tmp_path_factory.mktemp("fuzz_files") / "corpus")
    rag = open_rag(make_settings(tmp_path_factory.mktemp("fuzz_store")), embedding=embedding)
    rag.ingest(folder)
    return Corpus(rag, folder)


def indexed_sources(rag) -> set[str]:
    return {document["source"] for document in rag.info().documents}


def assert_slices_exactly(rag, passages) -> None:
    for passage in passages:
        assert rag.source_text(passage.source)[passage.start : passage.end] == passage.text, passage


def assert_still_answers(rag, indexed: set[str] | None = None) -> None:
    """Every seed is still indexed (next to exactly ``indexed``, when given), the store matches its
    manifest, and the seed question is answered with citations that slice their sources exactly."""
    sources = indexed_sources(rag)
    assert sources == set(seed_sources()) | indexed if indexed is not None else set(seed_sources()) <= sources
    assert rag.verify().ok, rag.verify().summary()
    answer = rag.ask(SEED_QUESTION)
    assert not answer.not_found and answer.citations, answer.text
    assert_slices_exactly(rag, [citation.passage for citation in answer.citations])


def assert_reason_for_people(report, source: str, reason: str, folder: Path) -> None:
    assert reason.strip() and not RAW_ERROR.search(reason) and str(folder) not in reason, reason
    assert f"skipped {source}: {reason}" in report.summary()


# --- file contents -------------------------------------------------------------------------------


@PROPERTY_TEST
@given(files=HOSTILE_FILES)
@example(files=[(".txt", b"")])
@example(files=[(".pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"),
                (".docx", b"PK\x03\x04" + b"\xff" * 300)])
@example(files=[(".txt", "Grüße".encode("utf-16-le")), (".md", "Grüße\r\n".encode("utf-16")),
                (".html", b"\xff\xfe<\x00p\x00>")])
@example(files=[(".html", b"<p>before <![ after</p>"), (".htm", b"<![if !IE]><p>shown</p><![endif]><![bogus junk")])
@example(files=[(".docx", Damaged("docx", cut=0.6, at=0, patch=b"")),
                (".pdf", Damaged("pdf", cut=1, at=0.5, patch=b"\x00" * 64))])
@example(files=[(".Txt", b"---\ntitle: a" + b"![" * 2527 + b"\r")])
def test_any_file_content_is_read_or_skipped_by_name_and_the_store_still_answers(corpus, files):
    corpus.reset()
    names = {}
    for number, (suffix, content) in enumerate(files):
        names[f"hostile{number}{suffix}"] = data = file_bytes(content)
        (corpus.folder / f"hostile{number}{suffix}").write_bytes(data)
    report = corpus.rag.ingest(corpus.folder, progress=False)  # any exception fails the example
    skipped = {file.source: file.reason for file in report.files_skipped}
    read = set(report.files_added) | set(report.files_updated) | set(report.files_unchanged)
    for name, data in names.items():
        assert (name in skipped) != (name in read), (name, report.summary())
        if name in skipped:
            assert_reason_for_people(report, name, skipped[name], corpus.folder)
        if name.lower().endswith((".txt", ".md", ".markdown")):
            expected = python_text(data)
            assert (expected is not None) == (name in read), (name, skipped.get(name))
            if expected is not None:
                assert corpus.rag.source_text(name) == expected
            else:
                assert re.search(r"UTF-8|UTF-16|UTF-32|NUL", skipped[name]), skipped[name]
    assert_still_answers(corpus.rag, read & set(names))
    for name in read & set(names) & {d["source"] for d in corpus.rag.info().documents if d["chunks"]}:
        assert_slices_exactly(corpus.rag, corpus.rag.retrieve(SEED_QUESTION, sources=[name]))


def test_a_stray_marked_section_in_html_is_read_around_not_fatal(corpus):
    """``<![`` without a keyword made Python's HTML parser raise AssertionError: the ingest of the
    whole folder failed with "unexpected AssertionError". Browsers read it as a comment to ``>``."""
    corpus.reset()
    (corpus.folder / "stray.html").write_bytes(b"<p>Lex Luthor owns LuthorCorp.<![ junk ]> Lana runs the Talon.</p>")
    report = corpus.rag.ingest(corpus.folder, progress=False)
    assert report.files_added == ["stray.html"] and not report.files_skipped
    assert corpus.rag.source_text("stray.html") == "Lex Luthor owns LuthorCorp. Lana runs the Talon."
    assert_still_answers(corpus.rag, {"stray.html"})


def test_a_named_pipe_with_a_text_name_is_skipped_by_name_not_waited_on(corpus):
    """Reading a pipe nobody writes to waits forever: the ingest hung on "x.txt" made by mkfifo."""
    corpus.reset()
    os.mkfifo(corpus.folder / "pipe.txt")
    report = corpus.rag.ingest(corpus.folder, progress=False)
    [skipped] = report.files_skipped
    assert skipped.source == "pipe.txt" and "not a regular file" in skipped.reason
    assert_reason_for_people(report, "pipe.txt", skipped.reason, corpus.folder)
    assert_still_answers(corpus.rag, set())


def test_a_long_run_of_exclamation_marks_is_cut_into_chunks(corpus):
    """NLTK's sentence tokenizer cut a run of "!" one character at a time and LlamaIndex's
    splitter recursed once per cut: RecursionError, "unexpected" for the whole ingest (100,000
    of them took four minutes to get there). rag.ingest.chunking cuts around such runs."""
    corpus.reset()
    text = "Lana shouts. " + "!" * 5_000 + "?![" * 2_000 + " Then silence.\n"
    (corpus.folder / "laut.txt").write_text(text, encoding="utf-8")
    report = corpus.rag.ingest(corpus.folder, progress=False)
    assert report.files_added == ["laut.txt"]
    [document] = [d for d in corpus.rag.info().documents if d["source"] == "laut.txt"]
    assert document["chunks"] > 10
    assert_slices_exactly(corpus.rag, corpus.rag.retrieve("Lana shouts", sources=["laut.txt"], top_k=50))
    assert_still_answers(corpus.rag, {"laut.txt"})


def test_text_the_sentence_tokenizer_cuts_a_character_at_a_time_is_still_chunked(corpus):
    """"!" between non-breaking spaces escapes the punctuation-run cut: NLTK still cut it a
    character at a time and the splitter recursed once per cut (RecursionError, found by the
    content property in a full run). The chunker then cuts by words instead."""
    corpus.reset()
    text = "Lana shouts. " + "!\u00a0" * 3_000 + " Then silence.\n"
    (corpus.folder / "leise.txt").write_text(text, encoding="utf-8")
    report = corpus.rag.ingest(corpus.folder, progress=False)
    assert report.files_added == ["leise.txt"]
    assert_slices_exactly(corpus.rag, corpus.rag.retrieve("Lana shouts", sources=["leise.txt"], top_k=50))
    assert_still_answers(corpus.rag, {"leise.txt"})


def test_one_very_long_german_word_is_ingested_in_seconds(corpus):
    """A 12,000-letter word held an ingest for 87 s: the compound splitter's work grew with the
    cube of the word's length (rag.text.language.MAX_COMPOUND_LENGTH)."""
    corpus.reset()
    (corpus.folder / "wort.html").write_bytes(("<p>Die Kräfte " + "ä" * 12_000 + "</p>").encode())
    started = time.monotonic()
    report = corpus.rag.ingest(corpus.folder, progress=False)
    assert time.monotonic() - started < 30, report.summary()
    assert report.files_added == ["wort.html"]
    assert_still_answers(corpus.rag, {"wort.html"})


def test_markdown_with_endless_heading_lines_is_read_in_seconds(tmp_path):
    """This file took 23 s to read: the heading patterns' time grew with the square of a line's
    runs of spaces or emphasis markers (rag.ingest.formats.markdown)."""
    path = tmp_path / "lang.md"
    lines = ["---", "title: Lang" + " " * 30_000 + "!", "---", "# a" + " " * 30_000 + "b ##",
             "# " + "*x " * 20_000, "Absatz " + "![" * 20_000, "===", "## Ende"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    document = extract(path)
    assert time.monotonic() - started < 10
    assert document.title == "Lang" + " " * 30_000 + "!"
    assert [section.path[-1][:12] for section in document.sections] == ["a", "*x *x *x *x ", "Absatz ![![!", "Ende"]


# --- the metadata file ---------------------------------------------------------------------------

JSON_TEXT = st.one_of(TEXT, st.sampled_from(["\ud800", "x\udfff", "\U0001f9b8", ""]))
ENTRY = st.one_of(
    st.fixed_dictionaries({}, optional={
        "title": st.one_of(JSON_TEXT, st.integers(), st.none()),
        "kind": JSON_TEXT,
        "language": st.sampled_from(["klingon", "", "DE", "\ud800", 3]),
        "extra": st.booleans(),
    }),
    st.lists(st.integers(), max_size=2), st.none(), JSON_TEXT,
)
DESCRIBED = st.sampled_from([*seed_sources(), "nope.txt", "../outside.txt", "\udcff.txt", ""])
METADATA_JSON = st.builds(
    lambda entries, wrapped, ascii_only: json.dumps({"documents": entries} if wrapped else entries,
                                                    ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"),
    st.dictionaries(DESCRIBED, ENTRY, max_size=4), st.booleans(), st.booleans(),
)
DEEP_JSON = st.builds(lambda opening, depth: opening * depth, st.sampled_from([b"[", b'{"a":', b'{"documents": [']),
                      st.integers(1, 100_000))
METADATA = st.one_of(METADATA_JSON, DEEP_JSON, CONTENTS.map(file_bytes))


@PROPERTY_TEST
@given(metadata=METADATA)
@example(metadata=b"[" * 100_000)
@example(metadata=json.dumps({"000_10d9073bc3f8410e.txt": {"title": "\ud800"}}).encode())
def test_any_metadata_file_is_applied_or_refused_by_name_and_the_store_still_answers(corpus, metadata):
    corpus.reset_and_ingest()
    (corpus.folder / "sources.json").write_bytes(metadata)
    before = corpus.rag.info().documents
    try:
        report = corpus.rag.ingest(corpus.folder, progress=False)
    except CorpusError as error:
        assert "sources.json" in str(error) and not RAW_ERROR.search(str(error)), error
        assert corpus.rag.info().documents == before  # refused before anything was written
    else:
        assert not report.files_skipped
    assert_still_answers(corpus.rag, set())


def test_a_deeply_nested_metadata_file_is_refused_by_name(corpus):
    """json.loads raised RecursionError: the ingest failed with "unexpected RecursionError"."""
    corpus.reset_and_ingest()
    (corpus.folder / "sources.json").write_bytes(b'{"documents": ' + b"[" * 100_000)
    with pytest.raises(CorpusError, match=r"sources\.json is nested too deeply to be read"):
        corpus.rag.ingest(corpus.folder, progress=False)
    assert_still_answers(corpus.rag, set())


def test_an_unpaired_surrogate_in_a_title_is_refused_before_anything_is_written(corpus):
    """A JSON escape "\\ud800" in a title reached Chroma, which raised TypeError halfway through
    writing: "unexpected TypeError", the titles of the files before it already rewritten in the
    store, and the store marked as left by an unfinished ingest."""
    corpus.reset_and_ingest()
    metadata = json.loads((SEEDS / "sources.json").read_text(encoding="utf-8"))
    for number, source in enumerate(seed_sources()):
        metadata["documents"][source]["title"] = f"Episode {number}" if number < 2 else "Clark \ud800"
    (corpus.folder / "sources.json").write_text(json.dumps(metadata), encoding="utf-8")
    titles = {document["source"]: document["title"] for document in corpus.rag.info().documents}
    with pytest.raises(CorpusError, match=r"'title' of '002_835fa61d1c21454d.txt' holds an unpaired surrogate"):
        corpus.rag.ingest(corpus.folder, progress=False)
    assert {document["source"]: document["title"] for document in corpus.rag.info().documents} == titles
    assert_still_answers(corpus.rag, set())


# --- file names ----------------------------------------------------------------------------------

NAME_PIECES = st.sampled_from(
    ["e\u0301", "\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627", "\u202e", "\U0001f9b8\u200d\u2642\ufe0f",
     " ", "  ", "-", "--", "\u200b", "\ufeff", "\n", "\t", "\\", "'", '"', "*", "?", "$(id)", "%s", "\u0130", "ß",
     "\u1e9e", "..", ":", "\x1b[2J", "\x7f", "~"]
)
NAME_TEXT = st.lists(
    st.one_of(st.characters(exclude_categories=("Cs",), exclude_characters="/\x00"), NAME_PIECES),
    min_size=1, max_size=30,
).map("".join)
LONG_TEXT = st.builds(lambda piece, times: piece * times, st.sampled_from(["a", "ä", "字", "\U0001f9b8", "e\u0301"]),
                      st.integers(60, 260))
TEXT_SUFFIXES = [".txt", ".md", ".markdown", ".html", ".htm", ".TXT"]


def fitting(name: str, limit: int = 255) -> str:
    """``name`` cut so that its UTF-8 form fits a file name (255 bytes on Linux)."""
    while len(name.encode()) > limit:
        name = name[:-1]
    return name


def is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


FOLDER_PART = st.one_of(NAME_TEXT, LONG_TEXT).map(fitting).filter(
    lambda part: part not in ("", ".", "..") and not part.lower().endswith(tuple(SUPPORTED_SUFFIXES))
)
FILE_NAME = st.builds(lambda stem, suffix: fitting(stem, 255 - len(suffix)) + suffix,
                      st.one_of(NAME_TEXT, LONG_TEXT), st.sampled_from(TEXT_SUFFIXES))
VALID_PATH = st.builds(lambda folders, name: "/".join([*folders, name]), st.lists(FOLDER_PART, max_size=2), FILE_NAME)
NOT_UTF8 = st.builds(
    lambda before, bad, after: (before + bad + after).replace(b"/", b"_").replace(b"\x00", b"_"),
    st.binary(max_size=20),
    st.sampled_from([b"\xff", b"\xfe", b"\xc3", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80"]),
    st.binary(max_size=20),
).filter(lambda name: not name.startswith(b".") and not is_utf8(name))
BYTES_PATH = st.one_of(NOT_UTF8.map(lambda name: name + b".txt"), NOT_UTF8.map(lambda folder: folder + b"/inside.txt"))


def is_hidden(path: str) -> bool:
    """Hidden files and folders are left out of an ingest, as documented (rag.ingest.documents)."""
    return any(part.startswith(".") for part in path.split("/"))


def document_text(number: int) -> str:
    return f"The keeper of lighthouse number {number} is called Zorblax{number} and feeds the gulls.\n"


def extracted_text(path: str, number: int) -> str:
    """The file's text as the index holds it: HTML loses the trailing line end."""
    text = document_text(number)
    return text.rstrip("\n") if path.lower().endswith((".html", ".htm")) else text


def write_file(folder: Path, relative: bytes, text: str) -> None:
    """Create the file (and its folders) under a bytes path: names that are not UTF-8 need one."""
    path = os.path.join(os.fsencode(folder), relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))


@PROPERTY_TEST
@given(paths=st.lists(VALID_PATH, min_size=1, max_size=4, unique=True),
       bad=st.lists(BYTES_PATH, max_size=2, unique=True))
@example(paths=["e\u0301t\u00e9 \u05e9\u05dc\u05d5\u05dd \U0001f9b8.txt", "-rf --help.md", "sub dir/\u202egnp.txt"],
         bad=[b"caf\xe9.txt"])
@example(paths=["\u00e4" * 125 + ".txt", "a" * 200 + "/" + "\U0001f9b8" * 62 + ".md", ".hidden.txt",
                "x/.git/config.txt"],
         bad=[b"\xff\xfe/inside.txt"])
@example(paths=["new\nline.txt", "back\\slash.html", " leading and trailing space .md"], bad=[])
@example(paths=["\u00e9t\u00e9.txt", "e\u0301te\u0301.txt", "\u00c9T\u00c9.txt"], bad=[])
def test_any_file_name_is_ingested_and_citable_or_skipped_by_its_escaped_name(corpus, paths, bad):
    corpus.reset()
    for number, path in enumerate(paths):
        write_file(corpus.folder, os.fsencode(path), document_text(number))
    for path in bad:
        write_file(corpus.folder, path, document_text(99))
    report = corpus.rag.ingest(corpus.folder, progress=False)
    skipped = {file.source: file.reason for file in report.files_skipped}
    assert len(skipped) == len(bad), skipped
    named = {codecs.escape_decode(source)[0]: source for source in skipped if source.isascii()}
    for path in bad:
        source = named[path]  # the file is named, escaped to ASCII, and the escape is unambiguous
        assert "not UTF-8" in skipped[source]
        assert_reason_for_people(report, source, skipped[source], corpus.folder)
    visible = {path: number for number, path in enumerate(paths) if not is_hidden(path)}
    assert_still_answers(corpus.rag, set(visible))
    for path, number in visible.items():
        assert corpus.rag.source_text(path) == extracted_text(path, number)
        assert_slices_exactly(corpus.rag, corpus.rag.retrieve(f"Who is Zorblax{number}?", sources=[path]))
    if visible:
        gone = min(visible)
        corpus.rag.remove_document(gone, progress=False)
        assert not (corpus.folder / gone).exists() and gone not in indexed_sources(corpus.rag)


def rag_source(source: str, store: Path) -> subprocess.CompletedProcess:
    """``python -m rag source`` with the store before ``--``, so a name starting with "-" is a name."""
    return subprocess.run(
        [sys.executable, "-m", "rag", "source", "--store", str(store), "--", source],
        capture_output=True, check=False, cwd=REPO, env=child_environment(), timeout=300,
    )


def test_exotic_names_are_printed_exactly_by_the_cli_source_command(corpus):
    corpus.reset()
    names = ["e\u0301t\u00e9 \u05e9\u05dc\u05d5\u05dd \U0001f9b8.txt", "-rf.md", "sub dir/new\nline \u202egnp.html",
             "\u00e4" * 125 + ".txt"]
    for number, name in enumerate(names):
        write_file(corpus.folder, os.fsencode(name), document_text(number))
    corpus.rag.ingest(corpus.folder, progress=False)
    store = corpus.rag.settings.store_dir
    for number, name in enumerate(names):
        result = rag_source(name, store)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode("utf-8") == extracted_text(name, number)
        assert b"Traceback" not in result.stderr


# --- the command line ----------------------------------------------------------------------------


def test_cli_ingest_of_a_hostile_folder_names_each_skipped_file_and_succeeds(tmp_path, embedding):
    folder = copy_seeds(tmp_path / "corpus")
    hostile = {
        "kaputt.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 8,
        "falsch.docx": b"PK\x03\x04" + b"\x00\xff" * 200,
        "latin1.txt": "Grüße aus Köln\n".encode("latin-1"),
        "ohne-bom.md": "Hallo Welt".encode("utf-16-le"),
        "binär.html": bytes(range(256)),
        "leer.txt": b"",
        "utf16.txt": "Grüße aus Köln\n".encode("utf-16"),
        "stray.htm": b"<p>Lana runs the Talon.<![ junk</p>",
    }
    for name, data in hostile.items():
        (folder / name).write_bytes(data)
    write_file(folder, b"caf\xe9.txt", "Latin-1 named.\n")
    store = tmp_path / "store"
    result = run_cli("ingest", "--source", str(folder), "--no-progress", store=store)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    for name, phrase in [("kaputt.pdf", "truncated"), ("falsch.docx", "ZIP"), ("latin1.txt", "not UTF-8"),
                         ("ohne-bom.md", "NUL"), ("caf\\xe9.txt", "file name is not UTF-8")]:
        line = next((line for line in result.stdout.splitlines() if line.startswith(f"skipped {name}: ")), "")
        assert phrase in line, result.stdout
    assert "5 skipped" in result.stdout
    rag = open_rag(make_settings(store), embedding=embedding)
    assert_still_answers(rag, {"binär.html", "leer.txt", "utf16.txt", "stray.htm"})
    assert rag.source_text("utf16.txt") == "Grüße aus Köln\n"
