"""How far would a perfect translation of the question get? The seed fixtures that retrieval misses.

    .venv/bin/python -m bench.translation_ceiling [--store DIR] [--no-write]

For each answerable seed fixture that is not in the top 3, the question is searched twice through
the public API: as it is (the dictionary translates it word by word) and with a human translation
into the other language passed as ``translations`` (what llm mode's query translation does at
best). It prints the rank of the first passage holding a gold quote either way and writes the
table to bench/results/TRANSLATION_CEILING.md. A fixture the human translation does not lift into the top
3 is missed in its own language too: no better translation fixes it, only a better model of
meaning (another embedding model, a reranker).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.lib.datasets import holds_gold_quote, seed_fixtures
from bench.lib.options import add_no_write_option, new_parser
from bench.lib.paths import RESULTS, SEEDS
from bench.lib.publish import publish
from rag import open_rag

REPORT = RESULTS / "TRANSLATION_CEILING.md"
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
    """Rank (from 1) of the first passage holding a gold quote, as bench.retrieval_xquad counts hits."""
    for rank, passage in enumerate(passages, start=1):
        if holds_gold_quote(fixture, passage.text):
            return rank
    return None


def rank_text(rank: int | None) -> str:
    if rank is None:
        return f"> {DEPTH}"
    return f"**{rank}**" if rank <= TOP else str(rank)


def main(argv: list[str] | None = None) -> int:
    parser = new_parser("bench.translation_ceiling", __doc__)
    parser.add_argument("--store", type=Path, help="store of the seeds (default: a new temporary one)")
    add_no_write_option(parser, REPORT)
    args = parser.parse_args(argv)
    store = args.store or Path(tempfile.mkdtemp(prefix="rag-ceiling-"))
    rag = open_rag(store_dir=store, show_progress=False)
    rag.ingest(SEEDS)
    fixtures = {f["id"]: f for f in seed_fixtures()}
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
        "Command: `.venv/bin/python -m bench.translation_ceiling`. Rank of the first passage holding a",
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
    publish("\n".join(lines), REPORT, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
