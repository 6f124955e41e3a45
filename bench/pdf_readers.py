"""Which library should read PDFs? pypdf (LlamaIndex's default), pypdfium2 and pdfminer.six,
measured on the same files, next to what rag.ingest.formats makes of them.

    .venv/bin/python bench/pdf_readers.py [--max-pages 60] [--work .cache/pdf-bench] [--json FILE]
        [--no-full]

pdfminer.six is not a project dependency (only this comparison uses it); without it the tables
leave it out. To include it: ``.venv/bin/python -m pip install pdfminer.six==20260107``.

Readers: pypdf ``page.extract_text()`` (what LlamaIndex's PDFReader calls per page), pypdfium2
``get_text_range()``, pdfminer.six ``extract_text`` (default layout analysis), and
"rag.ingest.formats": pypdfium2 as rag.ingest.formats.pdf reads it (spacing accents of old TeX fonts put on
their letters). Every reader's pages then go through the same cleanup (rag.ingest.formats.pdfclean).

Files:
* generated, with known text (German and English paragraphs "Absatz 1." ... "Absatz 36."):
  pdfLaTeX two columns (T1/Latin Modern, German hyphenation, fancyhdr header and footer),
  pdfLaTeX one column with old OT1 fonts (umlauts drawn as accent + letter), LibreOffice Writer
  two columns (from a .docx made with python-docx: header, footer, automatic hyphenation), and
  reportlab two columns (lines drawn one by one: explicit hyphens, compounds broken at their own
  hyphen, ligature code points U+FB01/FB02, the footer drawn before the body). A generator whose
  tool is missing (pdflatex, soffice) is skipped, with a note.
* real, installed by Debian packages when present: KOMA-Script's German manual (594 pages),
  TeX Live's German guide, l2kurz, libtasn1's Texinfo manual, shared-mime-info's spec, a
  TUG slide deck, two German documents set in OT1 fonts. At most --max-pages pages of each, the
  same pages for every reader.
* all 594 pages of the KOMA-Script manual once per reader, each in a new process: time and peak
  resident memory (VmHWM), unless --no-full.

Columns, generated files (after the shared cleanup unless "raw"): pages/s; words raw / clean:
share of the known words found as whole words (a multiset: hyphen breaks, lost ligatures or
umlauts and glued words all cost words); order: longest run of "Absatz N" in order / paragraphs;
umlaut words: share of the known words with ä ö ü ß found; lig: ligature code points in the raw
text; header/footer: lines of them in the raw text → left after cleanup.
Real files: pages/s, characters per page, share of words (4+ letters) found in the system word
lists (/usr/share/dict/ngerman + american-english; words glued together or torn apart are not),
lig, odd (spacing or combining diaeresis/acute, U+FFFD), lines the cleanup dropped as running
headers/footers. Speeds depend on the machine's load, printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.formats.pdfclean import clean_pages, drop_running_lines, normalise_page

REPO = Path(__file__).resolve().parents[1]

PARAGRAPHS = [
    "Absatz 1. Die Schifffahrtsgesellschaft veröffentlichte im Frühjahr die offizielle Auflage ihres "
    "Jahresberichts, in dem die Geschäftsführung ausführlich über die Größe der Flotte, die Häufigkeit "
    "der Überfahrten und die Pflichten der Besatzung berichtete.",
    "Absatz 2. Für die Übergabe der Dokumente an die Prüfungsbehörde gilt eine Frist von vierzehn "
    "Tagen; danach müssen die Unterlagen erneut beglaubigt werden, was zusätzliche Gebühren und "
    "Verzögerungen verursacht. Fragen beantwortet die E-Mail-Adresse der Geschäftsstelle.",
    "Absatz 3. Die Straßenbahnhaltestelle vor dem Rathaus wird während der Bauarbeiten an der "
    "Fußgängerbrücke vorübergehend verlegt, und die Fahrgäste werden gebeten, die ausgeschilderten "
    "Umleitungen zu benutzen.",
    "Absatz 4. Eine effiziente Datenflussanalyse erfordert, dass alle Zwischenergebnisse vollständig "
    "protokolliert werden; andernfalls lassen sich Fehlerquellen in verschachtelten "
    "Verarbeitungsschritten kaum zuverlässig identifizieren. Lese- und Schreibrechte werden getrennt "
    "vergeben.",
    "Absatz 5. The official office workflow defines five different affiliate roles, and the first "
    "reflection on their efficiency shows that fluent communication between the flight crews and the "
    "offshore staff matters most for state-of-the-art operations.",
    "Absatz 6. Wer die Anwendungsprogrammierschnittstelle benutzt, sollte die Rückgabewerte "
    "sorgfältig überprüfen, denn unvollständige Antworten des Servers führen sonst zu schwer "
    "nachvollziehbaren Folgefehlern im Benutzeroberflächenmodul.",
    "Absatz 7. Die Qualitätssicherungsabteilung empfiehlt, sämtliche Konfigurationsdateien "
    "versionskontrolliert abzulegen und Änderungen ausschließlich über begutachtete "
    "Zusammenführungsanfragen einzuspielen.",
    "Absatz 8. Bei Überschwemmungen übernimmt die Gemeindeverwaltung die Koordination der "
    "Hilfskräfte; Einsatzfahrzeuge erhalten Vorfahrt, und die Bevölkerung wird über "
    "Lautsprecherdurchsagen und Kurznachrichten informiert.",
    "Absatz 9. Scientific publications often hyphenate long words such as internationalization, "
    "interoperability and characterization at the end of a line, which confuses naive text "
    "extraction and degrades retrieval quality.",
    "Absatz 10. Die Grundstücksverkehrsgenehmigungszuständigkeitsübertragungsverordnung ist ein "
    "berühmtes Beispiel für deutsche Komposita, die in schmalen Spalten zwangsläufig getrennt werden "
    "müssen.",
    "Absatz 11. Während der Öffnungszeiten beantworten die Mitarbeiterinnen und Mitarbeiter Fragen "
    "zur Einführung der elektronischen Aktenführung, zur Fristverlängerung und zu den "
    "Zuständigkeiten der einzelnen Fachbereiche.",
    "Absatz 12. Die abschließende Zusammenfassung würdigt den Einfluss der Forschungsergebnisse auf "
    "die Flughafenplanung und nennt offene Fragen, die in künftigen Untersuchungen aufgegriffen "
    "werden sollen.",
]
HEADER = "Technischer Bericht – Vertraulich"
FOOTER = re.compile(r"Seite \d+")
BIG_PDF = "/usr/share/doc/texlive-doc/latex/koma-script/scrguide-de.pdf"
REAL_PDFS = [
    BIG_PDF,
    "/usr/share/doc/texlive-doc/texlive/texlive-de/texlive-de.pdf",
    "/usr/share/doc/texlive-doc/latex/lshort-german/l2kurz.pdf",
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
    "/usr/share/doc/texlive-doc/dvipdfmx/tug2005.pdf",
    "/usr/share/doc/texlive-doc/generic/german/gerdoc.pdf",  # OT1 fonts: umlauts from accent + letter
    "/usr/share/doc/texlive-doc/latex/etdipa/Help/etdipa_doc_DE.pdf",
]
WORD = re.compile(r"\w+")


@dataclass
class Sample:
    name: str
    path: Path
    known: list[str] = field(default_factory=list)  # paragraphs; empty for real files
    note: str = ""


# --- generated files ------------------------------------------------------------------------------


def body_paragraphs(repeat: int) -> list[str]:
    """The known paragraphs, ``repeat`` times (numbered on), so that the text spans pages."""
    out = []
    for round_ in range(repeat):
        for i, paragraph in enumerate(PARAGRAPHS):
            number = round_ * len(PARAGRAPHS) + i + 1
            out.append(re.sub(r"^Absatz \d+\.", f"Absatz {number}.", paragraph))
    return out


def make_latex(work: Path, two_columns: bool) -> Sample | None:
    """pdfLaTeX: two columns with T1 Latin Modern, or one column with OT1 Computer Modern."""
    name = "latex-2col-de" if two_columns else "latex-ot1-1col"
    if not shutil.which("pdflatex"):
        return None
    paragraphs = body_paragraphs(3)
    fonts = r"\usepackage[T1]{fontenc}\usepackage{lmodern}" if two_columns else ""
    options = "10pt,twocolumn,a5paper" if two_columns else "11pt,a5paper"
    source = "\n".join([
        rf"\documentclass[{options}]{{article}}",
        r"\usepackage[utf8]{inputenc}" + fonts,
        r"\usepackage[english,ngerman]{babel}",
        r"\usepackage[margin=14mm,headsep=5mm]{geometry}",
        r"\usepackage{fancyhdr}\pagestyle{fancy}\fancyhf{}",
        r"\fancyhead[C]{Technischer Bericht -- Vertraulich}\fancyfoot[C]{Seite \thepage}",
        r"\begin{document}",
        "\n\n".join(p.replace("ß", r"\ss{}") if not two_columns else p for p in paragraphs),
        r"\end{document}",
    ])
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "doc.tex").write_text(source, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], cwd=folder,
                         capture_output=True, timeout=120)
    if run.returncode or not (folder / "doc.pdf").exists():
        return None
    return Sample(name, folder / "doc.pdf", paragraphs, "pdfTeX, babel ngerman hyphenation")


def make_libreoffice(work: Path) -> Sample | None:
    """LibreOffice Writer: a .docx (python-docx) with two columns, header, footer with a page
    field, German automatic hyphenation, converted by ``soffice --convert-to pdf``."""
    soffice = shutil.which("soffice")
    if not soffice:
        return None
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn
    from docx.shared import Pt

    paragraphs = body_paragraphs(3)
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(10)
    normal.element.get_or_add_rPr().append(parse_xml(f'<w:lang {nsdecls("w")} w:val="de-DE"/>'))
    normal.paragraph_format.alignment = 3  # justified
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER
    footer = section.footer.paragraphs[0]
    footer.add_run("Seite ")
    footer._p.append(parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'))
    sect_pr = section._sectPr
    cols = sect_pr.find(qn("w:cols"))
    if cols is None:
        cols = parse_xml(f'<w:cols {nsdecls("w")}/>')
        sect_pr.append(cols)
    cols.set(qn("w:num"), "2")
    cols.set(qn("w:space"), "567")
    document.settings.element.append(parse_xml(f'<w:autoHyphenation {nsdecls("w")}/>'))
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    folder = work / "libreoffice-2col-de"
    folder.mkdir(parents=True, exist_ok=True)
    document.save(folder / "doc.docx")
    profile = (work / "lo-profile").resolve().as_uri()
    run = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                          "--outdir", str(folder), str(folder / "doc.docx")], capture_output=True, timeout=240)
    if run.returncode or not (folder / "doc.pdf").exists():
        return None
    return Sample("libreoffice-2col-de", folder / "doc.pdf", paragraphs, "LibreOffice Writer from .docx")


def make_reportlab(work: Path) -> Sample | None:
    """reportlab canvas: two columns drawn line by line, explicit hyphens, ligature code points."""
    try:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from reportlab.pdfgen import canvas
    except ImportError:
        return None
    import reportlab

    font = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    pdfmetrics.registerFont(TTFont("Vera", str(font)))
    paragraphs = body_paragraphs(3)
    drawn = [p.replace("fi", "\ufb01").replace("fl", "\ufb02") for p in paragraphs]
    lines = wrap_with_hyphens(drawn, lambda s: pdfmetrics.stringWidth(s, "Vera", 9.5), 220)
    folder = work / "reportlab-2col-de"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "doc.pdf"
    draw_two_columns(canvas.Canvas(str(path)), lines, "Vera", HEADER, "Seite {}")
    return Sample("reportlab-2col-de", path, paragraphs, "reportlab; ligature code points in the text")


def wrap_with_hyphens(paragraphs: list[str], width, limit: float) -> list[str]:
    """Greedy line breaking; a long word that does not fit is broken with a hyphen (at its own
    hyphen if it has one), so lines end in hyphens as in typeset text. "" marks a paragraph end."""
    lines: list[str] = []
    for paragraph in paragraphs:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if width(candidate) <= limit:
                line = candidate
                continue
            while word:
                best = None
                for cut in range(len(word) - 3, 3, -1):
                    head = word[:cut] if word[cut - 1] == "-" else word[:cut] + "-"
                    if "-" in word[1:-1] and word[cut - 1] != "-":
                        continue  # a compound breaks only at its own hyphen
                    if word[cut - 1] != "-" and not (word[cut - 1].isalpha() and word[cut].isalpha()):
                        continue
                    if sum(c.isalpha() for c in word[cut:]) < 3:
                        continue
                    if width(f"{line} {head}".strip()) <= limit:
                        best = (cut, head)
                        break
                if best is None:
                    lines.append(line)
                    line = ""
                    if width(word) <= limit:
                        line = word
                        break
                    continue
                lines.append(f"{line} {best[1]}".strip())
                line, word = "", word[best[0]:]
                if width(word) <= limit:
                    line = word
                    break
        lines.append(line)
        lines.append("")
    return lines


def draw_two_columns(pdf, lines: list[str], font: str, header: str, footer: str) -> None:
    """Lines into two columns per A4 page; footer drawn before the body, header after it."""
    per_column, top, leading = 52, 770, 13
    pages = [lines[i:i + 2 * per_column] for i in range(0, len(lines), 2 * per_column)]
    for number, page in enumerate(pages, 1):
        pdf.setFont(font, 9)
        pdf.drawCentredString(297, 40, footer.format(number))
        pdf.setFont(font, 9.5)
        for index, line in enumerate(page):
            column, row = divmod(index, per_column)
            pdf.drawString(60 + column * 250, top - row * leading, line)
        pdf.setFont(font, 9)
        pdf.drawCentredString(297, 805, header)
        pdf.showPage()
    pdf.save()


# --- readers --------------------------------------------------------------------------------------


def read_pypdf(path: Path, pages: int) -> list[str]:
    import pypdf

    reader = pypdf.PdfReader(path)
    return [reader.pages[i].extract_text() or "" for i in range(min(pages, len(reader.pages)))]


def read_pypdfium2(path: Path, pages: int) -> list[str]:
    return _read_with_pdfium(path, pages, lambda textpage: textpage.get_text_range())


def read_pdfminer(path: Path, pages: int) -> list[str]:
    """pdfminer.six's extract_text (default layout analysis, figures' text included); it ends
    every page with a form feed."""
    from pdfminer.high_level import extract_text

    text = extract_text(path, maxpages=pages)
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def read_project(path: Path, pages: int) -> list[str]:
    """pypdfium2 as rag.ingest.formats.pdf reads it: spacing accents put on their letters."""
    from rag.ingest.formats.pdf import page_text

    return _read_with_pdfium(path, pages, page_text)


def _read_with_pdfium(path: Path, pages: int, text_of) -> list[str]:
    """Each of the first ``pages`` pages' text, as ``text_of`` takes it from pdfium's text page."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    out = []
    try:
        for i in range(min(pages, len(document))):
            page = document[i]
            textpage = page.get_textpage()
            out.append(text_of(textpage))
            textpage.close()
            page.close()
    finally:
        document.close()
    return out


def pdfminer_installed() -> bool:
    """pdfminer.six is compared here only, so it is not a pinned dependency:
    ``.venv/bin/python -m pip install pdfminer.six==20260107`` adds it to the comparison."""
    from importlib.util import find_spec

    return find_spec("pdfminer") is not None


READERS = {"pypdf": read_pypdf, "pypdfium2": read_pypdfium2, "pdfminer.six": read_pdfminer,
           "rag.ingest.formats": read_project}
if not pdfminer_installed():
    del READERS["pdfminer.six"]


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("pypdf", "pypdfium2", "pdfminer.six"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed (pip install pdfminer.six==20260107 to compare it)"
    return found


# --- measures -------------------------------------------------------------------------------------


def word_recall(known: list[str], text: str) -> float:
    want = Counter(WORD.findall(" ".join(known)))
    have = Counter(WORD.findall(text))
    return sum((want & have).values()) / sum(want.values())


def umlaut_recall(known: list[str], text: str) -> float:
    want = Counter(w for w in WORD.findall(" ".join(known)) if re.search("[äöüÄÖÜß]", w))
    have = Counter(WORD.findall(text))
    return sum((want & have).values()) / sum(want.values())


def order_score(known: list[str], text: str) -> float:
    """Longest increasing run of paragraph markers, over the number of paragraphs."""
    found = [int(n) for n in re.findall(r"Absatz\s+(\d+)\.", text)]
    best: list[int] = []  # patience sorting for the longest increasing subsequence
    from bisect import bisect_left

    for value in found:
        i = bisect_left(best, value)
        best[i:i + 1] = [value]
    return len(best) / len(known)


def chrome_left(text: str) -> int:
    """Header and footer lines left in the text."""
    header = len(re.findall(r"Technischer Bericht\s*[–-]+\s*Vertraulich", text))
    return header + len(FOOTER.findall(text))


def odd(text: str) -> int:
    """Spacing or combining diaeresis and acute (umlauts not made), and replacement characters."""
    return sum(text.count(c) for c in ("\u00a8", "\u00b4", "\u0308", "\ufffd"))


def dictionary() -> set[str]:
    words: set[str] = set()
    for name in ("ngerman", "american-english"):
        path = Path("/usr/share/dict") / name
        if path.exists():
            words.update(w.strip().casefold() for w in path.read_text(encoding="utf-8", errors="ignore").split("\n"))
    return words


def in_dictionary(text: str, words: set[str]) -> float | None:
    tokens = [t.casefold() for t in re.findall(r"[^\W\d_]{4,}", text)]
    if not words or not tokens:
        return None
    return sum(t in words for t in tokens) / len(tokens)


# --- main -----------------------------------------------------------------------------------------


def measure(sample: Sample, reader: str, max_pages: int, words: set[str]) -> dict:
    started = time.perf_counter()
    try:
        raw = READERS[reader](sample.path, max_pages)
    except Exception as error:  # a reader that fails on a file is a result, not a crash
        return {"file": sample.name, "reader": reader, "error": f"{type(error).__name__}: {error}"[:80]}
    seconds = time.perf_counter() - started
    cleaned = clean_pages(raw)
    raw_text, clean_text = "\n".join(p.replace("\r\n", "\n") for p in raw), "\n\n".join(cleaned)
    row = {"file": sample.name, "reader": reader, "pages": len(raw),
           "pages_per_s": len(raw) / seconds if seconds else float("inf"),
           "ligatures": sum(raw_text.count(chr(c)) for c in range(0xFB00, 0xFB07)),
           "odd": odd(raw_text), "odd_clean": odd(clean_text)}
    if sample.known:
        row.update(words_raw=word_recall(sample.known, raw_text), words_clean=word_recall(sample.known, clean_text),
                   order=order_score(sample.known, clean_text), umlauts=umlaut_recall(sample.known, clean_text),
                   chrome_before=chrome_left(raw_text), chrome_left=chrome_left(clean_text))
    else:
        normalised = [normalise_page(p) for p in raw]
        dropped = sum(p.count("\n") + 1 for p in normalised) - sum(
            p.count("\n") + 1 for p in drop_running_lines(normalised))
        row.update(chars_per_page=len(clean_text) / max(1, len(raw)), running_dropped=dropped,
                   dictionary=in_dictionary(clean_text, words),
                   dictionary_raw=in_dictionary(raw_text, words))
    return row


FULL_RUN = """
import sys, time
from pathlib import Path
import pypdf, pypdfium2, rag.ingest.formats.pdf
from bench import pdf_readers


def status(field):  # VmHWM (peak) is per process image; getrusage's maxrss survives exec
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) // 1024


before = status("VmRSS")
started = time.perf_counter()
if sys.argv[1] == "rag.ingest.formats.extract":
    document = rag.ingest.formats.extract(Path(sys.argv[2]))
    pages, chars = len(document.pages), len(document.text)
else:
    texts = pdf_readers.READERS[sys.argv[1]](Path(sys.argv[2]), 10**6)
    pages, chars = len(texts), sum(map(len, texts))
seconds = time.perf_counter() - started
print(pages, chars, seconds, before, status("VmHWM"))
"""


def full_runs(path: Path) -> list[dict]:
    """Every reader (and the whole rag.ingest.formats pipeline) on all pages of ``path``, each in a new
    process: seconds and peak resident memory."""
    rows = []
    for reader in [*READERS, "rag.ingest.formats.extract"]:
        run = subprocess.run([sys.executable, "-c", FULL_RUN, reader, str(path), str(REPO)],
                             capture_output=True, text=True, cwd=REPO, timeout=900)
        if run.returncode:
            rows.append({"reader": reader, "error": run.stderr.strip().splitlines()[-1][:100]})
            continue
        pages, chars, seconds, before, after = run.stdout.split()
        rows.append({"reader": reader, "pages": int(pages), "chars": int(chars), "seconds": float(seconds),
                     "rss_before_mb": int(before), "rss_peak_mb": int(after)})
    return rows


def full_table(path: Path, rows: list[dict]) -> str:
    out = [f"| all of {path.name} | pages | seconds | pages/s | peak RSS (MB) | RSS at start (MB) |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['reader']} | failed: {r['error']} | | | | |")
            continue
        out.append(f"| {r['reader']} | {r['pages']} | {r['seconds']:.1f} | {r['pages'] / r['seconds']:.0f} | "
                   f"{r['rss_peak_mb']} | {r['rss_before_mb']} |")
    return "\n".join(out)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def table(rows: list[dict]) -> str:
    known = [r for r in rows if "words_raw" in r]
    real = [r for r in rows if "chars_per_page" in r]
    failed = [r for r in rows if "error" in r]
    out = ["| generated file | reader | pages | pages/s | words raw | words clean | order | umlaut words | lig "
           "| header/footer before → after |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in known:
        out.append(f"| {r['file']} | {r['reader']} | {r['pages']} | {r['pages_per_s']:.0f} | "
                   f"{pct(r['words_raw'])} | {pct(r['words_clean'])} | {pct(r['order'])} | {pct(r['umlauts'])} | "
                   f"{r['ligatures']} | {r['chrome_before']} → {r['chrome_left']} |")
    out += ["", "| real file | reader | pages | pages/s | chars/page | dictionary words raw → clean | lig "
            "| odd raw → clean | running lines dropped |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in real:
        out.append(f"| {r['file']} | {r['reader']} | {r['pages']} | {r['pages_per_s']:.1f} | "
                   f"{r['chars_per_page']:.0f} | {pct(r['dictionary_raw'])} → {pct(r['dictionary'])} | "
                   f"{r['ligatures']} | {r['odd']} → {r['odd_clean']} | {r['running_dropped']} |")
    for r in failed:
        out.append(f"\n{r['file']}: {r['reader']} failed: {r['error']}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pdf_readers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-pages", type=int, default=60, help="pages read of each real file")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "pdf-bench")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    parser.add_argument("--no-full", action="store_true", help=f"skip reading all of {Path(BIG_PDF).name}")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    samples, skipped = [], []
    for maker, label in ((lambda: make_latex(args.work, True), "pdflatex two columns"),
                         (lambda: make_latex(args.work, False), "pdflatex OT1"),
                         (lambda: make_libreoffice(args.work), "LibreOffice"),
                         (lambda: make_reportlab(args.work), "reportlab")):
        sample = maker()
        (samples.append(sample) if sample else skipped.append(label))
    for path in map(Path, REAL_PDFS):
        if path.exists():
            samples.append(Sample(path.stem, path))
        else:
            skipped.append(str(path))
    words = dictionary()
    rows = []
    for sample in samples:
        for reader in READERS:
            rows.append(measure(sample, reader, args.max_pages, words))
            print(f"{sample.name:28} {reader:13} done", file=sys.stderr, flush=True)
    load = os.getloadavg()
    print(f"Readers: {', '.join(f'{k} {v}' for k, v in versions().items())}; "
          f"real files: first {args.max_pages} pages; load average at the end {load[0]:.2f}.\n")
    print(table(rows))
    full = []
    if not args.no_full and Path(BIG_PDF).exists():
        full = full_runs(Path(BIG_PDF))
        print("\nWhole document, each reader in a new process (text kept in memory):\n")
        print(full_table(Path(BIG_PDF), full))
    if skipped:
        print(f"\nSkipped (tool or file missing): {', '.join(skipped)}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "full": full}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
