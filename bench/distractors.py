"""The corpus of bench.answers: XQuAD's dev split in both languages plus real prose as distractors.

    .venv/bin/python -m bench.distractors [--root /tmp/rag-bench-answers]   # build (or reuse), print the folder

Layout of ``<root>/corpus/`` (built once, reused while its ``.complete`` stamp matches):

- ``en/pNNNN.txt``, ``de/pNNNN.txt``: links to the dev split's paragraphs (read in place; the
  repository never holds their text), so a hit's source names its language and paragraph;
- ``distractors/de/NNNN.txt``: prose paragraphs of the German man pages (/usr/share/man/de),
  rendered with ``man -l FILE | col -b`` (or, without man, by stripping the roff requests);
- ``distractors/en/NNNN.txt``: prose paragraphs of /usr/share/doc (README, NEWS, .md, .txt,
  gzipped or not).

Paragraphs are 300-1500 characters of running text (option lists, tables, code and lists are
skipped), in the expected language (``rag.text.language.detect_language``), at most two per file,
chosen by a hash of their text from the sorted files: the same machine gives the same corpus.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.evaluation.fixtures import XQUAD_DIR
from rag.text.language import detect_language

DEFAULT_ROOT = Path("/tmp/rag-bench-answers")
GERMAN_MAN_PAGES = Path("/usr/share/man/de")
DOC_ROOT = Path("/usr/share/doc")
PER_LANGUAGE = 120
MIN_CHARS, MAX_CHARS = 300, 1500
MAX_PER_FILE = 2
#: Sections of a man page that are not running text (names, synopses, credits).
SKIPPED_SECTIONS = {"BEZEICHNUNG", "NAME", "ÜBERSICHT", "SIEHE AUCH", "AUTOR", "AUTOREN", "ÜBERSETZUNG", "COPYRIGHT"}
PROSE_INDENT = 7  # man's left margin for body text; option descriptions and examples sit deeper
ENGLISH_DOC_NAME = re.compile(r"^(README|NEWS)([._-].*)?$|\.(md|txt)$", re.IGNORECASE)
MISSING_MAN_PAGES = (
    "Too few German man pages under {folder} ({found} prose paragraphs, {needed} needed). "
    "Install them with `apt-get install manpages-de man-db` (Debian package manpages-de); in a slim "
    "container image also drop the `path-exclude /usr/share/man/*` line from /etc/dpkg/dpkg.cfg.d/ first."
)


@dataclass(frozen=True)
class Paragraph:
    origin: str  # the file it was cut from
    text: str


class DistractorsUnavailable(Exception):
    """The machine lacks the prose the distractors are cut from; the message says what to install."""


# --- the corpus folder ----------------------------------------------------------------------------


def build_corpus(root: Path = DEFAULT_ROOT, xquad: Path = XQUAD_DIR) -> Path:
    """``<root>/corpus``, built on first use and reused while its stamp matches these parameters."""
    corpus = root / "corpus"
    stamp = json.dumps(
        {"xquad": str(xquad.resolve()), "per_language": PER_LANGUAGE, "chars": [MIN_CHARS, MAX_CHARS], "copies": True}
    )
    if (corpus / ".complete").is_file() and (corpus / ".complete").read_text(encoding="utf-8") == stamp:
        return corpus
    partial = root / "corpus.partial"
    shutil.rmtree(partial, ignore_errors=True)
    link_xquad_paragraphs(xquad, partial)
    write_paragraphs(select(german_paragraphs(), PER_LANGUAGE, "de"), partial / "distractors" / "de")
    write_paragraphs(select(english_paragraphs(), PER_LANGUAGE, "en"), partial / "distractors" / "en")
    (partial / ".complete").write_text(stamp, encoding="utf-8")
    shutil.rmtree(corpus, ignore_errors=True)
    partial.rename(corpus)
    return corpus


def link_xquad_paragraphs(xquad: Path, corpus: Path) -> None:
    """``corpus/en/p0001.txt``: a copy of ``xquad/corpus_en/p0001.txt`` (and German), under the
    temporary root only (never in the repository). Copies, not links: ingest skips links that
    leave the folder."""
    for language in ("en", "de"):
        folder = corpus / language
        folder.mkdir(parents=True)
        for paragraph in sorted((xquad / f"corpus_{language}").glob("p*.txt")):
            shutil.copyfile(paragraph, folder / paragraph.name)


def language_view(corpus: Path, language: str) -> Path:
    """``<corpus>-<language>``: the dev half of one language plus every distractor (both languages),
    so a question has no translated twin of its paragraph to find. Built from ``corpus`` once."""
    view = corpus.parent / f"{corpus.name}-{language}"
    stamp = (corpus / ".complete").read_text(encoding="utf-8")
    if (view / ".complete").is_file() and (view / ".complete").read_text(encoding="utf-8") == stamp:
        return view
    shutil.rmtree(view, ignore_errors=True)
    shutil.copytree(corpus / language, view / language)
    shutil.copytree(corpus / "distractors", view / "distractors")
    (view / ".complete").write_text(stamp, encoding="utf-8")
    return view


def write_paragraphs(paragraphs: list[Paragraph], folder: Path) -> None:
    folder.mkdir(parents=True)
    for number, paragraph in enumerate(paragraphs, start=1):
        (folder / f"{number:04d}.txt").write_text(paragraph.text + "\n", encoding="utf-8")
    (folder / ".origins.json").write_text(json.dumps([p.origin for p in paragraphs], indent=0), encoding="utf-8")


def select(candidates: Iterable[Paragraph], count: int, language: str) -> list[Paragraph]:
    """``count`` paragraphs in ``language``: distinct texts, at most MAX_PER_FILE per file, in the
    order of a hash of their text (deterministic, unrelated to file order)."""
    seen, per_file, kept = set(), {}, []
    for paragraph in sorted(candidates, key=lambda p: hashlib.sha256(p.text.encode()).hexdigest()):
        if paragraph.text in seen or per_file.get(paragraph.origin, 0) >= MAX_PER_FILE:
            continue
        if detect_language(paragraph.text) != language:
            continue
        seen.add(paragraph.text)
        per_file[paragraph.origin] = per_file.get(paragraph.origin, 0) + 1
        kept.append(paragraph)
        if len(kept) == count:
            return kept
    if language == "de":
        raise DistractorsUnavailable(MISSING_MAN_PAGES.format(folder=GERMAN_MAN_PAGES, found=len(kept), needed=count))
    raise DistractorsUnavailable(f"Only {len(kept)} English prose paragraphs under {DOC_ROOT} ({count} needed).")


# --- German: man pages ----------------------------------------------------------------------------


def german_paragraphs() -> Iterator[Paragraph]:
    for page in sorted(p for p in GERMAN_MAN_PAGES.rglob("*") if p.is_file()):
        for text in sized_paragraphs(man_prose_blocks(render_man_page(page))):
            yield Paragraph(str(page), text)


def render_man_page(page: Path) -> str:
    """The page as man shows it (one line per paragraph), or its roff source stripped to that layout."""
    if shutil.which("man") and shutil.which("col"):
        env = {**os.environ, "LC_ALL": "C.UTF-8", "MANWIDTH": "4000", "MAN_KEEP_FORMATTING": ""}
        shown = subprocess.run(["man", "-l", str(page)], env=env, capture_output=True, text=True).stdout
        return subprocess.run(["col", "-b"], input=shown, capture_output=True, text=True).stdout
    return strip_roff(read_text(page))


ROFF_CHARACTERS = {
    ":a": "ä", ":o": "ö", ":u": "ü", ":A": "Ä", ":O": "Ö", ":U": "Ü", "ss": "ß", "Bq": "„", "lq": "“",
    "rq": "”", "Fo": "«", "Fc": "»", "em": "—", "en": "–", "hy": "-", "dq": '"', "aq": "'", "bu": "•",
}
ROFF_NAMED_CHARACTER = re.compile(r"\\(?:\((..)|\[([^]]*)\])")
ROFF_DROPPED = re.compile(r"\\f(\[[^]]*\]|\(..|.)|\\\*(\[[^]]*\]|\(..|.)|\\s[-+]?\d|\\[&c^|]")


def strip_roff(source: str) -> str:
    """Roff source in man's rendered layout: section names at column 0, body paragraphs at
    PROSE_INDENT, tagged or indented paragraphs (option lists) deeper; only what the paragraph
    cutter needs."""
    lines, paragraph, indent = [], [], PROSE_INDENT

    def flush() -> None:
        if paragraph:
            lines.extend([" " * indent + " ".join(paragraph), ""])
            paragraph.clear()

    for raw in source.splitlines():
        line = unescape_roff(raw)
        request, _, argument = raw.partition(" ")
        if raw.startswith((".\\\"", "'\\\"")):
            continue
        if request in (".SH", ".SS"):
            flush()
            indent = PROSE_INDENT
            lines.extend([unescape_roff(argument).strip('"'), ""])
        elif request in (".PP", ".P", ".LP"):
            flush()
            indent = PROSE_INDENT
        elif request in (".TP", ".IP", ".RS", ".nf", ".EX"):
            flush()
            indent = PROSE_INDENT + 4
        elif request in (".B", ".I", ".BR", ".IR", ".RB", ".RI", ".BI", ".IB"):
            paragraph.append(" ".join(part.strip('"') for part in unescape_roff(argument).split()))
        elif raw.startswith((".", "'")):
            continue
        elif line.strip():
            paragraph.append(line.strip())
        else:
            flush()
    flush()
    return "\n".join(lines)


def unescape_roff(text: str) -> str:
    """Fonts, sizes and strings dropped; named characters (umlauts, quotes, dashes) as Unicode."""
    text = ROFF_DROPPED.sub("", text)
    text = ROFF_NAMED_CHARACTER.sub(lambda m: ROFF_CHARACTERS.get(m.group(1) or m.group(2), ""), text)
    return text.replace("\\-", "-").replace("\\e", "\\").replace("\\ ", " ")


def man_prose_blocks(rendered: str) -> Iterator[tuple[str, str]]:
    """(section, paragraph) for the body paragraphs of a rendered page: blocks at the body margin
    that read as sentences; headers, footers, option lists and examples are skipped."""
    section = ""
    for block in re.split(r"\n\s*\n", rendered):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if not lines[0].startswith(" ") and "\t" not in lines[0]:
            section = lines[0].strip()
            continue
        margins = {len(line) - len(line.lstrip(" ")) for line in lines}
        text = " ".join(line.strip() for line in lines)
        if margins == {PROSE_INDENT} and section.upper() not in SKIPPED_SECTIONS and reads_as_prose(text):
            yield section, text


# --- English: /usr/share/doc ----------------------------------------------------------------------


def english_paragraphs() -> Iterator[Paragraph]:
    for path in sorted(DOC_ROOT.rglob("*")):
        name = path.name.removesuffix(".gz")
        if path.is_symlink() or not path.is_file() or not ENGLISH_DOC_NAME.search(name):
            continue
        blocks = ((str(path), text) for text in plain_prose_blocks(read_text(path)))
        for text in sized_paragraphs(blocks):
            yield Paragraph(str(path), text)


def plain_prose_blocks(text: str) -> Iterator[str]:
    """Blank-line separated blocks of a text file that are running text, not code, lists or tables."""
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines or any(is_markup_line(line) for line in lines):
            continue
        joined = " ".join(line.strip() for line in lines)
        if reads_as_prose(joined):
            yield joined


def is_markup_line(line: str) -> bool:
    """Code (indented 4+), list items, headings, tables, rules, quotes."""
    stripped = line.strip()
    return (
        line.startswith(("    ", "\t"))
        or re.match(r"([-*+#>|=~`]|\d+[.)]\s|\[)", stripped) is not None
        or stripped.count("|") >= 2
    )


# --- shared ---------------------------------------------------------------------------------------


def reads_as_prose(text: str) -> bool:
    """Sentences: starts with a capital, ends a sentence, mostly letters, no long runs of symbols."""
    if not text or "\ufffd" in text or not text[0].isupper() or not text.rstrip().endswith((".", "!", "?", ":")):
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in text)
    return letters / len(text) >= 0.88 and text.count(". ") + text.count(": ") >= 1


def sized_paragraphs(blocks: Iterable[tuple[str, str]]) -> Iterator[str]:
    """Paragraphs of MIN_CHARS..MAX_CHARS: consecutive blocks of one section joined until long
    enough; blocks longer than MAX_CHARS cut at sentence ends."""
    pending, pending_section = [], None
    for section, text in blocks:
        if section != pending_section:
            pending, pending_section = [], section
        for piece in sentence_groups(text):
            if len(piece) > MAX_CHARS:
                continue
            pending.append(piece)
            joined = "\n\n".join(pending)
            if len(joined) > MAX_CHARS:
                pending = [piece]
                joined = piece
            if len(joined) >= MIN_CHARS:
                yield joined
                pending = []


def sentence_groups(text: str) -> Iterator[str]:
    """``text`` as it is when short enough, else whole sentences up to MAX_CHARS at a time."""
    if len(text) <= MAX_CHARS:
        yield text
        return
    group = ""
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ])", text):
        if group and len(group) + 1 + len(sentence) > MAX_CHARS:
            yield group
            group = ""
        group = f"{group} {sentence}".strip()
    if MIN_CHARS <= len(group) <= MAX_CHARS:
        yield group


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace").replace("\r\n", "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.distractors", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"where the corpus is built (default {DEFAULT_ROOT})")
    args = parser.parse_args(argv)
    try:
        print(build_corpus(args.root))
    except DistractorsUnavailable as error:
        print(f"error: {error}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
