"""The question sets of the benchmarks: XQuAD's dev split and the seed fixtures, and what counts as a hit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.lib.paths import FIXTURES, SEEDS, XQUAD


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def xquad_questions(folder: Path = XQUAD) -> list[dict[str, Any]]:
    """``{"paragraph", "question_en", "question_de", ...}`` per question of the split."""
    return read_jsonl(folder / "questions.jsonl")


def xquad_paragraphs(language: str, folder: Path = XQUAD) -> dict[str, str]:
    """Paragraph id (file stem) -> text, for one language's corpus."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted((folder / f"corpus_{language}").glob("*.txt"))}


def seed_fixtures() -> list[dict[str, Any]]:
    """The question fixtures of fixtures/seeds.jsonl (answerable and unanswerable)."""
    return read_jsonl(FIXTURES)


def seed_language(source: str) -> str:
    """The language recorded for a seed text in seeds/sources.json ('und' when not recorded)."""
    meta = json.loads((SEEDS / "sources.json").read_text(encoding="utf-8"))["documents"]
    return meta.get(source, {}).get("language", "und")


def normalised(text: str) -> str:
    return " ".join(text.split())


def holds_gold_quote(fixture: dict[str, Any], passage_text: str) -> bool:
    """A passage hits when it contains one of the fixture's gold quotes (whitespace-normalised)."""
    text = normalised(passage_text)
    return any(normalised(quote) in text for quote in fixture["gold_quotes"])
