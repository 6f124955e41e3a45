"""How well the machine glosses under foreign-language quotes render a text, against professional translations.

    .venv/bin/python -m bench.gloss_quality [--no-write]

XQuAD's dev paragraphs exist in English and in German (professional translations, aligned paragraph
by paragraph). Each German paragraph is glossed into English and compared with its English original,
and each English paragraph the other way round, with two measures:

- chrF (character 1-6-grams, recall weighted twice, 0-100): how much of the reference's text the gloss
  reproduces, function words and word order included, the standard measure for machine translation
  without tokenisation.
- content F1: overlap of content words (stopwords dropped, compared by their first 5 letters, so
  "forces"/"force" match): whether the gloss carries the right meaning words.

Rows: the retrieval gloss (a bag of content words, rag.text.gloss), what answers showed before
(that bag, with names kept as written), and the reading gloss answers show now
(rag.text.reading_gloss). The paragraphs are split into the tuning and the check part by article as
everywhere (rag.evaluation.fixtures.xquad_split_by_paragraph); nothing in the glosses is fitted to
either part. Writes bench/results/glosses.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from statistics import mean

from bench.lib.options import add_no_write_option, new_parser
from bench.lib.paths import RESULTS, XQUAD
from bench.lib.publish import publish
from rag.config import Settings
from rag.evaluation.fixtures import xquad_split_by_paragraph
from rag.text.gloss import english_names, gloss_english, gloss_german
from rag.text.language import STOPWORDS
from rag.text.reading_gloss import reading_gloss_english, reading_gloss_german
from rag.text.translate import dictionary_for

REPORT = RESULTS / "glosses.md"
_WORD_RE = re.compile(r"[^\W\d_]+")
_SAMPLE_PARAGRAPH = "p0006"
_SAMPLE_CHARS = 300


def chrf(hypothesis: str, reference: str, max_n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015) of one text against one reference, 0-100, whitespace ignored."""
    hyp, ref = (re.sub(r"\s+", "", text.lower()) for text in (hypothesis, reference))
    precisions, recalls = [], []
    for n in range(1, max_n + 1):
        hyp_grams = Counter(hyp[i : i + n] for i in range(len(hyp) - n + 1))
        ref_grams = Counter(ref[i : i + n] for i in range(len(ref) - n + 1))
        matched = sum((hyp_grams & ref_grams).values())
        if hyp_grams:
            precisions.append(matched / sum(hyp_grams.values()))
        if ref_grams:
            recalls.append(matched / sum(ref_grams.values()))
    precision, recall = mean(precisions or [0.0]), mean(recalls or [0.0])
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def content_f1(hypothesis: str, reference: str, language: str) -> float:
    """F1 of the two texts' content words (stopwords of ``language`` dropped, first 5 letters)."""
    hyp, ref = (_content_words(text, language) for text in (hypothesis, reference))
    matched = len(hyp & ref)
    if not matched:
        return 0.0
    precision, recall = matched / len(hyp), matched / len(ref)
    return 2 * precision * recall / (precision + recall)


def _content_words(text: str, language: str) -> set[str]:
    stopwords = STOPWORDS[language]
    return {w.lower()[:5] for w in _WORD_RE.findall(text) if len(w) > 2 and w.lower() not in stopwords}


def _names_kept(gloss: Callable[[str, object], str], text: str, dictionary) -> str:
    """The bag gloss with the text's names shown as written (what answers showed before)."""
    names = english_names(text)
    return " ".join(token if token in names else gloss(token, dictionary) for token in _WORD_RE.findall(text))


def glossers(dictionary) -> dict[str, dict[str, Callable[[str], str]]]:
    """Row label -> direction -> gloss function."""
    return {
        "retrieval gloss (bag of content words)": {
            "de→en": lambda text: gloss_german(text, dictionary),
            "en→de": lambda text: gloss_english(text, dictionary),
        },
        "shown before (the bag, names kept)": {
            "de→en": lambda text: gloss_german(text, dictionary),
            "en→de": lambda text: _names_kept(gloss_english, text, dictionary),
        },
        "reading gloss (shown now)": {
            "de→en": lambda text: reading_gloss_german(text, dictionary),
            "en→de": lambda text: reading_gloss_english(text, dictionary, english_names(text)),
        },
    }


def measure(dictionary) -> dict[tuple[str, str, str, str], float]:
    """(row, direction, part, measure) -> mean over the part's paragraphs."""
    parts = xquad_split_by_paragraph(XQUAD)
    scores: dict[tuple[str, str, str, str], list[float]] = {}
    for paragraph, part in sorted(parts.items()):
        texts = {lang: (XQUAD / f"corpus_{lang}" / f"{paragraph}.txt").read_text(encoding="utf-8") for lang in ("de", "en")}
        for row, by_direction in glossers(dictionary).items():
            for direction, gloss in by_direction.items():
                source, target = direction.split("→")
                glossed, reference = gloss(texts[source]), texts[target]
                scores.setdefault((row, direction, part, "chrF"), []).append(chrf(glossed, reference))
                scores.setdefault((row, direction, part, "content F1"), []).append(content_f1(glossed, reference, target))
    return {key: mean(values) for key, values in scores.items()}


def report(results: dict[tuple[str, str, str, str], float], dictionary) -> str:
    parts = xquad_split_by_paragraph(XQUAD)
    counts = Counter(parts.values())
    lines = [
        "# Machine glosses against professional translations (XQuAD dev, parallel paragraphs)",
        "",
        "`.venv/bin/python -m bench.gloss_quality` (bench/gloss_quality.py says how it measures). "
        f"Paragraphs: tuning part {counts['tune']}, check part {counts['check']} (by article). chrF 0-100; "
        "content F1 0-1. Nothing in the glosses is fitted to either part.",
        "",
        "| gloss | direction | chrF tune | chrF check | content F1 tune | content F1 check |",
        "|---|---|---|---|---|---|",
    ]
    for row, by_direction in glossers(dictionary).items():
        for direction in by_direction:
            cells = [f"{results[(row, direction, part, 'chrF')]:.1f}" for part in ("tune", "check")]
            cells += [f"{results[(row, direction, part, 'content F1')]:.3f}" for part in ("tune", "check")]
            lines.append(f"| {row} | {direction} | " + " | ".join(cells) + " |")
    german = (XQUAD / "corpus_de" / f"{_SAMPLE_PARAGRAPH}.txt").read_text(encoding="utf-8")[:_SAMPLE_CHARS]
    lines += ["", f"Sample ({_SAMPLE_PARAGRAPH}, German, first {_SAMPLE_CHARS} characters):", "", f"> {german}", ""]
    for row, by_direction in glossers(dictionary).items():
        if row.startswith("shown before"):
            continue
        lines += [f"- {row}: {by_direction['de→en'](german)}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = new_parser("bench.gloss_quality", __doc__)
    add_no_write_option(parser, REPORT)
    args = parser.parse_args(argv)
    dictionary = dictionary_for(Settings())
    if dictionary is None:
        print("The Ding dictionary is not installed (apt-get install trans-de-en): nothing to measure.")
        return 1
    publish(report(measure(dictionary), dictionary), REPORT, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
