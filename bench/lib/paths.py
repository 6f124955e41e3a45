"""Where the benchmarks find their inputs and put their results."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
#: The hand-written lab notebook, appended to RESULTS.md by bench.lib.report.
NOTES = BENCH / "notes.md"
SEEDS = REPO / "seeds"
FIXTURES = REPO / "fixtures" / "seeds.jsonl"
#: The XQuAD development split, read in place (never copied into the repository).
XQUAD = REPO.parent / "shared" / "data" / "xquad-dev"
#: Corpora, stores and question files of bench.run and the drivers that reuse its stores.
WORK_ROOT = Path("/tmp/rag-bench")


def display_path(path: Path) -> str:
    """``path`` relative to the repository when it is inside it or beside it (``../shared/...``), else absolute."""
    relative = os.path.relpath(Path(path).resolve(), REPO)
    return str(Path(path).resolve()) if relative.startswith(os.path.join(os.pardir, os.pardir)) else relative
