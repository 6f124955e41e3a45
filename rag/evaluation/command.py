"""``python -m rag eval``: run fixtures, print or write the report, enforce thresholds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rag.evaluation.fixtures import resolve_fixtures
from rag.evaluation.report import (
    format_table,
    missed_thresholds,
    parse_thresholds,
    write_report,
)
from rag.evaluation.runner import evaluate


def add_eval_arguments(parser) -> None:
    parser.add_argument("fixtures", help="Fixtures (.jsonl), or xquad:QQ-CC[:DIR], e.g. xquad:en-de.")
    parser.add_argument("--source", default=None, help="Corpus folder (default: seeds, or the XQuAD corpus).")
    parser.add_argument("--store", default=None, help="Index store folder (default: index_store).")
    parser.add_argument("--mode", choices=["extractive", "llm"], default=None, help="Answer mode.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON instead of a table.")
    parser.add_argument("--report", default=None, help="Write a Markdown report here (plus .json and a PNG plot).")
    parser.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE",
                        help="Fail (exit 1) when an overall metric misses this threshold (latency: maximum).")
    parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")


def run_eval_command(args, overrides: dict[str, Any]) -> int:
    from rag.api import open_rag

    thresholds = parse_thresholds(args.min)
    fixtures, implied_source = resolve_fixtures(args.fixtures)
    if overrides.get("source_dir") is None and implied_source is not None:
        overrides = {**overrides, "source_dir": implied_source}
    rag = open_rag(**overrides)
    rag.ingest(progress=not args.no_progress)
    run = evaluate(rag, fixtures, mode=args.mode, progress=not args.no_progress, name=args.fixtures)
    if args.json:
        print(json.dumps(run.to_json(), ensure_ascii=False))
    else:
        print(format_table(run))
    if args.report:
        written = write_report(run, Path(args.report))
        print("report: " + ", ".join(str(p) for p in written), file=sys.stderr)
    errors = [r for r in run.results if r.error]
    for result in errors:
        print(f"error on {result.id}: {result.error}", file=sys.stderr)
    missed = missed_thresholds(run.metrics["all"], thresholds)
    for line in missed:
        print(f"threshold missed: {line}", file=sys.stderr)
    return 1 if missed or errors else 0
