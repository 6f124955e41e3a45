"""The worker side of bench.lib.children.run_json: one measurement per process, one JSON line out."""

from __future__ import annotations

import argparse
import json
import resource
from collections.abc import Callable
from typing import Any, NamedTuple

from bench.lib.options import new_parser

Result = dict[str, Any]


class Command(NamedTuple):
    """One measurement a worker offers: its command name, its ``--help`` line and what runs it."""

    name: str
    help: str
    measure: Callable[..., Result]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_result(result: Result) -> None:
    print(json.dumps(result))


def run_worker(
    module: str, doc: str | None, argv: list[str] | None, ingest: Command, query: Command, cold_start: Command
) -> int:
    """Run the measurement that ``argv`` names and print its JSON line; the worker's ``main``.

    Both pipelines (bench.naive and bench.project) are driven by bench.run and bench.ingest_compare
    with the same command lines, so they are parsed in one place and stay comparable:
    ``ingest CORPUS STORE``, ``query STORE QUESTIONS.json [--repeat N]`` and a cold start
    ``STORE QUESTION`` (named by each pipeline: ``ask``, ``phases``).
    """
    args = worker_parser(module, doc, ingest, query, cold_start).parse_args(argv)
    print_result(args.measure(args))
    return 0


def worker_parser(
    module: str, doc: str | None, ingest: Command, query: Command, cold_start: Command
) -> argparse.ArgumentParser:
    """The parser of the three commands; each sets ``measure(args)`` to the call it stands for."""
    parser = new_parser(module, doc)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser(ingest.name, help=ingest.help)
    command.add_argument("corpus")
    command.add_argument("store")
    command.set_defaults(measure=lambda args: ingest.measure(args.corpus, args.store))
    command = commands.add_parser(query.name, help=query.help)
    command.add_argument("store")
    command.add_argument("questions", help="a JSON list of questions")
    command.add_argument("--repeat", type=int, default=1)
    command.set_defaults(measure=lambda args: query.measure(args.store, args.questions, args.repeat))
    command = commands.add_parser(cold_start.name, help=cold_start.help)
    command.add_argument("store")
    command.add_argument("question")
    command.set_defaults(measure=lambda args: cold_start.measure(args.store, args.question))
    return parser
