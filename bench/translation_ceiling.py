"""How far would a perfect translation of the question get? The seed fixtures that retrieval misses.

    .venv/bin/python bench/translation_ceiling.py [--store DIR] [--no-write]

For each answerable seed fixture that is not in the top 3, the question is searched twice through
the public API: as it is (the dictionary translates it word by word) and with a human translation
into the other language passed as ``translations`` (what llm mode's query translation does at
best). It prints the rank of the first passage holding a gold quote either way and writes the
table to bench/TRANSLATION_CEILING.md. A fixture the human translation does not lift into the top
3 is missed in its own language too: no better translation fixes it, only a better model of
meaning (another embedding model, a reranker).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag import open_rag  # noqa: E402
from retrieval_xquad import FIXTURES, passage_hits  # noqa: E402  (bench/ is on sys.path when run)

REPORT = REPO / "bench" / "TRANSLATION_CEILING.md"
TOP = 3
DEPTH = 50

#: Human translations of the fixture questions into the language of their gold passages.
HUMAN_TRANSLATIONS = {
    "en-sum0-007": ("de", "Welchen Grund nennen die beiden Außerirdischen dafür, dass Clark mit ihnen gehen soll?"),
    "en-sum1-011": ("de", "Wo glaubt Lana, Clark flüchtig zu sehen?"),
    "span-006": ("de", "Wie wird Clark die beiden außerirdischen Eindringlinge los?"),
    "span-007": ("de", "Was macht Jor-El mit Superkräften in den beiden deutschen Episodenzusammenfassungen?"),
    "de-ff-001": ("en", "What, according to Jor-El, was replicated in the Fortress of Solitude?"),
    "de-ff-002": ("en", "What agreement does Clark make with Jor-El about his training?"),
    "de-ff-003": ("en", "What are the names of the two Kryptonians Clark fights against?"),
    "de-ff-004": ("en", "Where does Clark send the two Kryptonians at the end of the fight?"),
    "de-ff-013": ("en", "How many police officers did the Kryptonians kill, according to Clark?"),
}


def gold_rank(passages, fixture: dict) -> int | None:
    """Rank (from 1) of the first passage holding a gold quote, as bench/retrieval_xquad.py counts hits."""
    for rank, passage in enumerate(passages, start=1):
        if passage_hits(fixture, passage.to_json()):
            return rank
    return None


def rank_text(rank: int | None) -> str:
    if rank is None:
        return f"> {DEPTH}"
    return f"**{rank}**" if rank <= TOP else str(rank)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="store of the seeds (default: a new temporary one)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    store = args.store or Path(tempfile.mkdtemp(prefix="rag-ceiling-"))
    rag = open_rag(store_dir=store, show_progress=False)
    rag.ingest(REPO / "seeds")
    fixtures = {f["id"]: f for f in map(json.loads, FIXTURES.read_text(encoding="utf-8").splitlines())}
    rows, lifted, still_missed, direct = [], 0, 0, 0
    for fixture_id, (language, translation) in HUMAN_TRANSLATIONS.items():
        fixture = fixtures[fixture_id]
        plain = gold_rank(rag.retrieve(fixture["question"], top_k=DEPTH), fixture)
        translated = gold_rank(
            rag.retrieve(fixture["question"], top_k=DEPTH, translations={language: translation}), fixture
        )
        asked_directly = gold_rank(rag.retrieve(translation, top_k=DEPTH), fixture)
        lifted += translated is not None and translated <= TOP
        direct += asked_directly is not None and asked_directly <= TOP
        still_missed += plain is not None and plain <= TOP
        rows.append(
            f"| `{fixture_id}` | {fixture['question']} | {translation} | {rank_text(plain)} | {rank_text(translated)} "
            f"| {rank_text(asked_directly)} |"
        )
    lines = [
        "# Translation ceiling: the missed seed fixtures with human translations",
        "",
        "Command: `.venv/bin/python bench/translation_ceiling.py`. Rank of the first passage holding a",
        f"gold quote (bold: in the top {TOP}), searched as asked (dictionary translation) and with the",
        "human translation passed as `translations` (llm mode's query translation at its best), and",
        "with the translation asked as the question itself (a question in the passage's language).",
        "",
        "| fixture | question | human translation | rank as asked | rank translated | translation asked |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"With human translations {lifted} of {len(rows)} reach the top {TOP}"
        + (f" ({still_missed} were already there as asked)." if still_missed else ".")
        + f" Asked in the passage's language, {direct} of {len(rows)} do.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.no_write:
        REPORT.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
