"""Sanity checks for the evaluation fixtures in fixtures/seeds.jsonl.

These tests need no project imports: they only read the fixture file and the
seed corpus and verify that every fixture is well formed and grounded.
"""

from __future__ import annotations

import json
from collections import Counter
import pytest

from support.paths import REPO, SEEDS

FIXTURES = REPO / "fixtures" / "seeds.jsonl"

EXPECTED_KEYS = {
    "id",
    "question",
    "lang",
    "answerable",
    "gold_sources",
    "gold_quotes",
    "answer_keywords",
    "reference_answer",
}
LANGS = {"en", "de"}
# Language of each seed text (by file-name prefix).
SOURCE_LANG = {"000": "de", "001": "de", "002": "en"}

SEED_ID = "seed-powers"
SEED_QUESTION = "Why did Clark lose his powers?"
SEED_SOURCE = "000_10d9073bc3f8410e.txt"

MIN_TOTAL = 44
MIN_EN_ABOUT_DE = 12
MIN_DE_ABOUT_EN = 8
MIN_SAME_LANG = 6
MIN_SPANNING = 4
MIN_UNANSWERABLE = 6


def _load() -> list[tuple[int, dict]]:
    rows = []
    with FIXTURES.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            rows.append((lineno, json.loads(line)))
    return rows


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return [obj for _, obj in _load()]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def source_lang(name: str) -> str:
    return SOURCE_LANG[name[:3]]


def category(item: dict) -> str:
    """One of: unanswerable, spanning, cross, same."""
    if not item["answerable"]:
        return "unanswerable"
    if len(item["gold_sources"]) > 1:
        return "spanning"
    return "cross" if item["lang"] != source_lang(item["gold_sources"][0]) else "same"


# --------------------------------------------------------------------------- format


def test_file_exists_and_lines_parse():
    assert FIXTURES.is_file(), f"missing {FIXTURES}"
    bad = []
    with FIXTURES.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                bad.append(f"line {lineno}: empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                bad.append(f"line {lineno}: {exc}")
                continue
            if not isinstance(obj, dict):
                bad.append(f"line {lineno}: not a JSON object")
    assert not bad, "\n".join(bad)


def test_utf8_not_ascii_escaped():
    raw = FIXTURES.read_text(encoding="utf-8")
    assert "\\u00" not in raw, "fixtures should be written with ensure_ascii=False"


def test_keys_and_types():
    problems = []
    for lineno, obj in _load():
        keys = set(obj)
        if keys != EXPECTED_KEYS:
            problems.append(
                f"line {lineno}: missing {sorted(EXPECTED_KEYS - keys)}, extra {sorted(keys - EXPECTED_KEYS)}"
            )
            continue
        for key in ("id", "question", "lang", "reference_answer"):
            if not isinstance(obj[key], str):
                problems.append(f"line {lineno} ({obj.get('id')}): {key} must be a string")
        if not isinstance(obj["answerable"], bool):
            problems.append(f"line {lineno} ({obj['id']}): answerable must be a bool")
        for key in ("gold_sources", "gold_quotes"):
            val = obj[key]
            if not isinstance(val, list) or not all(isinstance(x, str) and x for x in val):
                problems.append(f"line {lineno} ({obj['id']}): {key} must be a list of non-empty strings")
        groups = obj["answer_keywords"]
        if not isinstance(groups, list) or not all(
            isinstance(g, list) and g and all(isinstance(a, str) and a.strip() for a in g) for g in groups
        ):
            problems.append(
                f"line {lineno} ({obj['id']}): answer_keywords must be a list of non-empty lists of non-empty strings"
            )
        if isinstance(obj["id"], str) and not obj["id"].strip():
            problems.append(f"line {lineno}: empty id")
        if isinstance(obj["question"], str) and not obj["question"].strip():
            problems.append(f"line {lineno} ({obj['id']}): empty question")
    assert not problems, "\n".join(problems)


def test_ids_unique(items):
    dupes = [i for i, n in Counter(it["id"] for it in items).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_questions_unique(items):
    dupes = [q for q, n in Counter(it["question"] for it in items).items() if n > 1]
    assert not dupes, f"duplicate questions: {dupes}"


def test_lang_values(items):
    bad = [(it["id"], it["lang"]) for it in items if it["lang"] not in LANGS]
    assert not bad, f"lang must be one of {sorted(LANGS)}: {bad}"


# --------------------------------------------------------------------------- grounding


def test_gold_sources_exist(items, texts):
    bad = [(it["id"], s) for it in items for s in it["gold_sources"] if s not in texts]
    assert not bad, f"gold sources not found in seeds/: {bad}"
    dup = [it["id"] for it in items if len(set(it["gold_sources"])) != len(it["gold_sources"])]
    assert not dup, f"repeated gold source within an item: {dup}"


def test_gold_quotes_verbatim(items, texts):
    failures = []
    for it in items:
        for quote in it["gold_quotes"]:
            if "\n" in quote or "\r" in quote:
                failures.append(f"{it['id']}: quote spans a line break: {quote!r}")
                continue
            if not any(quote in texts.get(src, "") for src in it["gold_sources"]):
                failures.append(f"{it['id']}: quote not found verbatim in {it['gold_sources']}: {quote!r}")
    assert not failures, "\n".join(failures)


def test_gold_quotes_are_short(items):
    bad = []
    for it in items:
        for quote in it["gold_quotes"]:
            n = len(quote.split())
            if not 3 <= n <= 16:
                bad.append(f"{it['id']}: {n} words: {quote!r}")
    assert not bad, "\n".join(bad)


def test_every_gold_source_backed_by_a_quote(items, texts):
    bad = []
    for it in items:
        for src in it["gold_sources"]:
            if not any(q in texts.get(src, "") for q in it["gold_quotes"]):
                bad.append(f"{it['id']}: no gold quote comes from {src}")
    assert not bad, "\n".join(bad)


def test_answerable_items_complete(items):
    bad = []
    for it in items:
        if not it["answerable"]:
            continue
        if not it["gold_sources"]:
            bad.append(f"{it['id']}: no gold_sources")
        if not 1 <= len(it["gold_quotes"]) <= 3:
            bad.append(f"{it['id']}: needs 1-3 gold_quotes, has {len(it['gold_quotes'])}")
        if not it["answer_keywords"]:
            bad.append(f"{it['id']}: no answer_keywords")
        if not it["reference_answer"].strip():
            bad.append(f"{it['id']}: empty reference_answer")
    assert not bad, "\n".join(bad)


def test_keywords_in_reference_answer(items):
    bad = []
    for it in items:
        ref = it["reference_answer"].lower()
        for group in it["answer_keywords"]:
            if not any(alt.lower() in ref for alt in group):
                bad.append(f"{it['id']}: no alternative of {group} in reference answer {it['reference_answer']!r}")
    assert not bad, "\n".join(bad)


def test_unanswerable_items_empty(items):
    bad = []
    for it in items:
        if it["answerable"]:
            continue
        for key in ("gold_sources", "gold_quotes", "answer_keywords"):
            if it[key] != []:
                bad.append(f"{it['id']}: {key} must be [] for unanswerable items")
        if it["reference_answer"] != "":
            bad.append(f"{it['id']}: reference_answer must be '' for unanswerable items")
    assert not bad, "\n".join(bad)


# --------------------------------------------------------------------------- mix


def test_seed_question_present(items, texts):
    seeds = [it for it in items if it["id"] == SEED_ID]
    assert len(seeds) == 1, f"expected exactly one item with id {SEED_ID!r}"
    seed = seeds[0]
    assert seed["question"] == SEED_QUESTION
    assert seed["lang"] == "en"
    assert seed["answerable"] is True
    assert SEED_SOURCE in seed["gold_sources"]
    text = texts[SEED_SOURCE]
    assert any(q in text for q in seed["gold_quotes"])
    joined = " ".join(seed["gold_quotes"])
    assert "Sonnenuntergang" in joined or "Ultimatum" in joined or "Superkräfte" in joined


def test_total_count(items):
    assert len(items) >= MIN_TOTAL, f"only {len(items)} fixtures, need >= {MIN_TOTAL}"


def test_mix_counts(items):
    cats = Counter(category(it) for it in items)
    en_about_de = [
        it for it in items
        if category(it) == "cross" and it["lang"] == "en" and source_lang(it["gold_sources"][0]) == "de"
    ]
    de_about_en = [
        it for it in items
        if category(it) == "cross" and it["lang"] == "de" and source_lang(it["gold_sources"][0]) == "en"
    ]
    summary = (
        f"categories={dict(cats)}, en_about_de={len(en_about_de)}, de_about_en={len(de_about_en)}"
    )
    assert len(en_about_de) >= MIN_EN_ABOUT_DE, summary
    # English cross-language questions must cover both German summaries.
    srcs = Counter(it["gold_sources"][0][:3] for it in en_about_de)
    assert srcs["000"] >= 3 and srcs["001"] >= 3, f"en->de questions per source: {dict(srcs)}"
    assert len(de_about_en) >= MIN_DE_ABOUT_EN, summary
    assert cats["same"] >= MIN_SAME_LANG, summary
    assert cats["spanning"] >= MIN_SPANNING, summary
    assert cats["unanswerable"] >= MIN_UNANSWERABLE, summary


def test_unanswerable_in_both_languages(items):
    langs = {it["lang"] for it in items if not it["answerable"]}
    assert langs == LANGS, f"unanswerable questions only in {sorted(langs)}"


def test_spanning_items_use_distinct_sources(items):
    bad = [it["id"] for it in items if category(it) == "spanning" and len(set(it["gold_sources"])) < 2]
    assert not bad, bad
