"""Evaluation fixtures: JSON Lines question files, and XQuAD questions turned into fixtures.

Format (see README): ``{"id", "question", "lang", "answerable", "gold_sources", "gold_quotes",
"answer_keywords", "reference_answer"}``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from rag.config import REPO_ROOT
from rag.errors import CorpusError

XQUAD_DIR = REPO_ROOT.parent / "shared" / "data" / "xquad-dev"


class Fixture(BaseModel):
    """One evaluation question."""

    id: str
    question: str
    lang: str
    answerable: bool
    gold_sources: list[str] = Field(default_factory=list)
    gold_quotes: list[str] = Field(default_factory=list)
    answer_keywords: list[list[str]] = Field(default_factory=list)
    reference_answer: str = ""
    kind: str = Field("", description="What the question asks for: 'fact', 'why_how', 'multi', 'unanswerable'.")
    split: Literal["tune", "check"] | None = Field(
        None,
        description="'tune': weights and thresholds may be fitted on it; 'check': never tuned on, "
        "reported beside the tuning part.",
    )


def load_fixtures(path: Path) -> list[Fixture]:
    """Fixtures from a JSON Lines file; errors name the line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CorpusError(f"Cannot read fixtures {path}: {error.strerror or error}.") from error
    fixtures = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            fixtures.append(Fixture.model_validate_json(line))
        except ValidationError as error:
            raise CorpusError(f"{path}:{number}: not a valid fixture: {error.errors()[0]['msg']}") from error
    if not fixtures:
        raise CorpusError(f"{path} holds no fixtures.")
    return fixtures


def xquad_fixtures(question_lang: str, corpus_lang: str, folder: Path = XQUAD_DIR) -> list[Fixture]:
    """XQuAD questions as fixtures: gold source = the answering paragraph, gold quotes = answers;
    the split (tune/check) is that of the paragraph's article (``xquad_split_by_paragraph``)."""
    path = folder / "questions.jsonl"
    if not path.is_file():
        raise CorpusError(f"XQuAD questions not found at {path}.")
    split_of = xquad_split_by_paragraph(folder)
    fixtures = []
    for item in _json_lines(path):
        answers = item[f"answers_{corpus_lang}"]
        reference = item[f"answers_{question_lang}"]
        fixtures.append(
            Fixture(
                id=f"{item['id']}-{question_lang}{corpus_lang}",
                question=item[f"question_{question_lang}"],
                lang=question_lang,
                answerable=True,
                gold_sources=[f"{item['paragraph']}.txt"],
                gold_quotes=answers,
                answer_keywords=[sorted(set(answers) | set(reference))],
                reference_answer=reference[0],
                kind="fact",
                split=split_of.get(item["paragraph"]),
            )
        )
    return fixtures


def xquad_split_by_paragraph(folder: Path = XQUAD_DIR) -> dict[str, str]:
    """paragraph id -> 'tune' or 'check', by article, so all paragraphs and questions of one article
    fall on one side. Derived from the data where it lies, so nothing of it is copied into the repo,
    by a rule that looks only at question counts (``balanced_split``); this rule made the split the
    weights and thresholds were tuned on (bench/results/answers/RESULTS.md)."""
    paragraphs, questions = folder / "paragraphs.jsonl", folder / "questions.jsonl"
    if not paragraphs.is_file() or not questions.is_file():
        return {}
    title_of = {item["paragraph"]: item["title"] for item in _json_lines(paragraphs)}
    questions_per_title = Counter(title_of[item["paragraph"]] for item in _json_lines(questions))
    split_of_title = balanced_split(questions_per_title)
    return {paragraph: split_of_title[title] for paragraph, title in title_of.items()}


def balanced_split(questions_per_title: Counter[str]) -> dict[str, str]:
    """Titles by question count (most first, ties by title), each to the side with fewer questions
    so far (ties: 'tune'), at most half of the titles (rounded up) per side."""
    cap = (len(questions_per_title) + 1) // 2
    sides: dict[str, list[str]] = {"tune": [], "check": []}
    counts = {"tune": 0, "check": 0}
    for title, count in sorted(questions_per_title.items(), key=lambda item: (-item[1], item[0])):
        open_sides = [side for side in ("tune", "check") if len(sides[side]) < cap]
        side = min(open_sides, key=lambda s: (counts[s], s != "tune"))
        sides[side].append(title)
        counts[side] += count
    return {title: side for side, titles in sides.items() for title in titles}


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def resolve_fixtures(spec: str) -> tuple[list[Fixture], Path | None]:
    """A fixtures file, or ``xquad:QQ-CC[:DIR]`` (question and corpus language); also returns
    the corpus folder the spec implies (None for plain files)."""
    match = re.fullmatch(r"xquad:(en|de)-(en|de)(?::(.+))?", spec)
    if match:
        folder = Path(match.group(3)) if match.group(3) else XQUAD_DIR
        corpus_lang = match.group(2)
        return xquad_fixtures(match.group(1), corpus_lang, folder), folder / f"corpus_{corpus_lang}"
    return load_fixtures(Path(spec)), None
