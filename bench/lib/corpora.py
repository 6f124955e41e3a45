"""Benchmark corpora of about 10^2 .. 10^5 chunks, built from real text already on the machine.

- small sizes: the seed texts and the XQuAD development split (``../shared/data/xquad-dev``, read in
  place; the corpus folder under /tmp gets copies, the repository never does);
- large sizes: prose that Debian and Python packages install: /usr/share/doc (README, changelogs,
  NEWS, .md/.rst/.txt, gzipped ones unpacked), package READMEs and docs in site-packages, and the
  docstrings of the Python standard library and of installed packages (one text per module).

Documents are deduplicated by content, put in a fixed pseudo-random order (hash of the name), and
each corpus is a prefix of that order, so a larger corpus contains every smaller one. A corpus is
written once to ``<root>/corpus-<size>/`` with a ``.complete`` marker and reused afterwards.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import shutil
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from bench.lib.paths import SEEDS, XQUAD

DOC_ROOT = Path("/usr/share/doc")
TEXT_SUFFIXES = {".txt", ".md", ".rst", ""}
MIN_CHARS = 400
MAX_CHARS = 60_000  # longer texts are cut into parts: no single changelog dominates a corpus
#: Source characters per project chunk (chunk_size 200, overlap 40 word pieces), measured on a
#: sample of these texts; used only to decide how much text a corpus of N chunks needs.
CHARS_PER_CHUNK = 480


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\x00", "")
    return "".join(ch for ch in text if ch in "\n\t" or ch >= " ")


def _parts(name: str, text: str) -> Iterator[tuple[str, str]]:
    text = _clean(text).strip()
    if len(text) < MIN_CHARS:
        return
    if len(text) <= MAX_CHARS:
        yield name, text
        return
    start, index = 0, 0
    while start < len(text):
        end = min(len(text), start + MAX_CHARS)
        cut = text.rfind("\n\n", start + MAX_CHARS // 2, end) if end < len(text) else end
        end = cut if cut > start else end
        if len(text[start:end].strip()) >= MIN_CHARS:
            yield f"{name}.part{index:03d}", text[start:end].strip()
        start, index = end, index + 1


def debian_docs() -> Iterator[tuple[str, str]]:
    for path in sorted(DOC_ROOT.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        name = path.name.lower()
        if name.startswith("copyright") or name.endswith((".html", ".png", ".gif", ".c", ".pl", ".py")):
            continue  # licences repeat; markup and code are not prose
        raw_suffix = Path(name[:-3]).suffix if name.endswith(".gz") else path.suffix
        if raw_suffix not in TEXT_SUFFIXES and not name.startswith(("changelog", "news", "readme")):
            continue
        try:
            data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
        except (OSError, EOFError):
            continue
        text = data.decode("utf-8", errors="ignore")
        yield from _parts("doc/" + path.relative_to(DOC_ROOT).as_posix().removesuffix(".gz"), text)


def package_docs(site_packages: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(site_packages.rglob("*")):
        if path.suffix.lower() in (".md", ".rst", ".txt") and path.is_file():
            lower = path.name.lower()
            if "licen" in lower or lower in ("record", "top_level.txt", "entry_points.txt") or "requirements" in lower:
                continue
            text = path.read_bytes().decode("utf-8", errors="ignore")
            yield from _parts("pkgdoc/" + path.relative_to(site_packages).as_posix(), text)


def docstrings(root: Path, label: str) -> Iterator[tuple[str, str]]:
    """Each module's docstrings (module, classes, functions) as one text."""
    for path in sorted(root.rglob("*.py")):
        if "test" in path.relative_to(root).as_posix().lower():
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError, RecursionError):
            continue
        pieces = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= 80:
                    title = getattr(node, "name", path.stem)
                    pieces.append(f"{title}\n\n{doc}")
        if pieces:
            yield from _parts(f"{label}/{path.relative_to(root).as_posix()}", "\n\n".join(pieces))


def large_sources() -> Iterator[tuple[str, str]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    purelib = Path(sysconfig.get_paths()["purelib"])
    yield from debian_docs()
    yield from package_docs(purelib)
    yield from docstrings(stdlib, "stdlib")
    yield from docstrings(purelib, "site-packages")


def small_sources() -> Iterator[tuple[str, str]]:
    for path in sorted(SEEDS.glob("*.txt")):
        yield f"seeds/{path.name}", path.read_text(encoding="utf-8")
    for lang in ("en", "de"):
        for path in sorted((XQUAD / f"corpus_{lang}").glob("*.txt")):
            yield f"xquad/{lang}/{path.name}", path.read_text(encoding="utf-8")


def _order_key(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


_LARGE: list[tuple[str, str]] = []


def _large_pool() -> list[tuple[str, str]]:
    """All large-source documents in their fixed order (scanned once per process: ~2 min)."""
    if not _LARGE:
        _LARGE.extend(sorted(large_sources(), key=lambda d: _order_key(d[0])))
    return _LARGE


def corpus_documents(target_chunks: int) -> list[tuple[str, str]]:
    """Documents worth about ``target_chunks`` project chunks, in a fixed order."""
    budget = target_chunks * CHARS_PER_CHUNK
    chosen, seen, used = [], set(), 0
    small = sorted(small_sources(), key=lambda d: (not d[0].startswith("seeds/"), _order_key(d[0])))
    for pool in (small, None):
        for name, text in pool if pool is not None else _large_pool():
            digest = hashlib.sha1(text.encode()).hexdigest()
            if digest in seen:
                continue
            if used + len(text) > budget * 1.02 and used > 0:
                if len(text) > budget - used:
                    continue  # too big for the rest of the budget: a smaller one may fit
            seen.add(digest)
            chosen.append((name, text))
            used += len(text)
            if used >= budget:
                return chosen
    return chosen


def build_corpus(root: Path, target_chunks: int) -> Path:
    """``<root>/corpus-<target>/`` with the documents as .txt files (built once)."""
    folder = root / f"corpus-{target_chunks}"
    marker = folder / ".complete"
    if marker.is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    documents = corpus_documents(target_chunks)
    for name, text in documents:
        path = folder / (name.replace(" ", "_") + ("" if name.endswith(".txt") else ".txt"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    summary = {"documents": len(documents), "chars": sum(len(t) for _, t in documents)}
    marker.write_text(json.dumps(summary))
    return folder


def describe(folder: Path) -> dict:
    return json.loads((folder / ".complete").read_text())
