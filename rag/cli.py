"""Command line: the stable interface for scripts and evaluation.

    python -m rag ingest   [--source DIR] [--store DIR] [--rebuild] [--verify]
    python -m rag reingest SOURCE [--store DIR] [--source DIR] [--json]
    python -m rag ask      QUESTION [--store DIR] [--top-k K] [--mode M] [--json]
    python -m rag retrieve QUESTION [--store DIR] [--top-k K] [--json]
    python -m rag info     [--store DIR] [--json] [--verify]
    python -m rag source   SOURCE [--store DIR] [--source DIR]
    python -m rag eval     FIXTURES [...]   (see `python -m rag eval --help`)

A QUESTION of "-" reads one question per line from standard input and writes one result per line;
a line that is not UTF-8 fails alone. Errors are printed as one line on stderr (never a traceback);
the exit status is 0 on success, 1 when some questions failed, 2 when nothing could be done.
Text from documents is printed with its control characters made visible (rag.text.terminal).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass

from rag.runtime.offline import prepare_offline_environment
from rag.text.terminal import json_line, visible

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Cited answers over a folder of texts.")
    parser.add_argument("--debug", action="store_true", help="Show tracebacks of unexpected errors.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="Ingest a folder into the index (incremental).")
    _store_options(ingest)
    ingest.add_argument("--rebuild", action="store_true", help="Delete the index and build it anew.")
    ingest.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")
    ingest.add_argument("--verify", action="store_true",
                        help="Check the store against its manifest (and repair it) even if the folder is unchanged.")

    reingest = commands.add_parser(
        "reingest", help="Re-read one indexed document from its folder and update its chunks (incremental)."
    )
    reingest.add_argument("document", metavar="SOURCE", help="The document, as the index names it (e.g. docs/guide.pdf).")
    _store_options(reingest)
    reingest.add_argument("--json", action="store_true", help="Write the outcome as JSON.")

    for name, help_text in (("ask", "Answer a question with citations."), ("retrieve", "Show the passages found.")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("question", help='The question, or "-" to read one question per line from stdin.')
        _store_options(command)
        command.add_argument("--top-k", type=_top_k, default=None, help="Passages to retrieve (1-50).")
        command.add_argument("--json", action="store_true", help="Write JSON (one object per line).")
        command.add_argument("--filter-source", action="append", default=None, metavar="FILE",
                             help="Only search this source file (repeatable).")
        if name == "ask":
            command.add_argument("--mode", choices=["extractive", "llm"], default=None, help="Answer mode.")

    info = commands.add_parser("info", help="Show what the index holds.")
    _store_options(info)
    info.add_argument("--json", action="store_true")
    info.add_argument("--verify", action="store_true",
                      help="Check that every chunk and gloss the manifest lists is stored; repair by ingesting --source.")

    source = commands.add_parser(
        "source", help="Print a document's extracted text: the text that citation offsets index."
    )
    source.add_argument("document", metavar="SOURCE", help="The document, as citations name it (e.g. docs/guide.pdf).")
    _store_options(source)

    from rag.evaluation.command import add_eval_arguments

    add_eval_arguments(commands.add_parser("eval", help="Evaluate over question-answer fixtures."))
    return parser


def _store_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--source", default=None, help="Folder of texts (default: seeds).")
    command.add_argument("--store", default=None, help="Index store folder (default: index_store).")


def _top_k(value: str) -> int:
    from rag.arguments import checked_top_k
    from rag.errors import InvalidArgumentError

    try:
        return checked_top_k(value, default=0)
    except InvalidArgumentError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    prepare_offline_environment()
    from rag.errors import RagError

    for stream in (sys.stdout, sys.stderr):  # text that cannot be encoded is shown, not a crash
        stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except RagError as error:
        _print_error(error)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: the index keeps every file committed so far; run ingest again to resume.",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`rag ask … | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK
    except Exception as error:  # a bug: one line for the user, the traceback only on request
        if args.debug:
            raise
        print(visible(f"error: unexpected {type(error).__name__}: {error} (run with --debug for details)"),
              file=sys.stderr)
        return EXIT_ERROR


def run(args: argparse.Namespace) -> int:
    from rag.api import open_rag

    overrides = {"source_dir": args.source, "store_dir": args.store}
    if args.command == "eval":
        from rag.evaluation.command import run_eval_command

        return run_eval_command(args, overrides)
    rag = open_rag(**overrides)
    if args.command == "ingest":
        report = rag.ingest(rebuild=args.rebuild, progress=False if args.no_progress else None, verify=args.verify)
        print(visible(report.summary()))  # skipped files are named: names are data too
        return EXIT_OK
    if args.command == "reingest":
        report = rag.reingest_document(args.document, args.source, progress=False)
        print(json_line(report.to_json()) if args.json else visible(report.summary()))
        return EXIT_OK
    if args.command == "info" and args.verify:
        return verify_and_repair(rag, args.json)
    if args.command == "info":
        info = rag.info()
        print(json.dumps(info.model_dump(), ensure_ascii=False, indent=2) if args.json else visible(format_info(info)))
        return EXIT_OK
    if args.command == "source":
        write_source_text(rag.source_text(args.document, args.source))
        return EXIT_OK
    if args.command == "ask":
        answer_one = lambda q: rag.ask(q, top_k=args.top_k, sources=args.filter_source, mode=args.mode)
        render = (lambda a: json_line(a.to_json())) if args.json else (lambda a: visible(format_answer(a)))
        return for_each_question(args.question, answer_one, render, args.json)
    if args.command == "retrieve":
        def retrieve_one(q):
            return q, rag.retrieve(q, top_k=args.top_k, sources=args.filter_source)

        render = (
            (lambda r: json_line({"question": r[0], "passages": [p.to_json() for p in r[1]]}))
            if args.json
            else lambda r: visible(format_passages(r[1]))
        )
        return for_each_question(args.question, retrieve_one, render, args.json)
    raise AssertionError(args.command)


def verify_and_repair(rag, as_json: bool) -> int:
    """``info --verify``: print what the store lacks; if anything, ingest the folder to repair it."""
    check = rag.verify()
    report = None if check.ok else rag.ingest(verify=True, progress=False)
    if as_json:
        result = {"verified": check.ok, "check": dataclasses.asdict(check)}
        if report is not None:
            result["repair"] = report.model_dump()
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(visible(check.summary()))
        if report is not None:
            print(visible("repaired: " + report.summary()))
    return EXIT_OK


def for_each_question(question: str, handle: Callable, render: Callable, as_json: bool) -> int:
    """Answer one question, or every line of stdin for "-"; errors per question do not stop a batch
    (an invalid argument would fail every question, so it stops the batch)."""
    from rag.errors import InvalidArgumentError, RagError
    from rag.runtime.gcpause import first_use

    if question != "-":
        with first_use(process_ends=True):
            result = handle(question)
        print(render(result))
        return EXIT_OK
    failures = 0
    for number, line in enumerate(_stdin_questions(sys.stdin.buffer)):
        try:
            if line.problem is not None:
                raise line.problem
            with first_use() if number == 0 else nullcontext():
                result = handle(line.text)
            print(render(result), flush=True)
        except InvalidArgumentError:
            raise
        except RagError as error:
            failures += 1
            _print_batch_error(line.text, error, as_json)
    return EXIT_PARTIAL if failures else EXIT_OK


@dataclass(frozen=True)
class StdinLine:
    """One question line; ``problem`` says why it cannot be asked (its bytes are not UTF-8)."""

    text: str
    problem: Exception | None = None


def _stdin_questions(stream: Iterable[bytes]) -> Iterator[StdinLine]:
    from rag.errors import InvalidQuestionError

    for number, raw in enumerate(stream, start=1):
        raw = raw.rstrip(b"\r\n")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            shown = raw.decode("utf-8", "backslashreplace")
            yield StdinLine(shown, InvalidQuestionError(
                f"Line {number} is not UTF-8 text (byte 0x{raw[error.start]:02x} at position {error.start + 1}); "
                "save the questions as UTF-8."
            ))
            continue
        if text.strip():
            yield StdinLine(text)


def _print_batch_error(question: str, error: Exception, as_json: bool) -> None:
    if as_json:
        print(json_line({"question": question, "error": str(error)}), flush=True)
    else:
        _print_error(error)


def _print_error(error: Exception) -> None:
    print(visible(f"error: {error}"), file=sys.stderr, flush=True)


# --- human-readable output -------------------------------------------------------------------------


def write_source_text(text: str) -> None:
    """The text exactly, as UTF-8, when written to a file or pipe (scripts slice it by offsets);
    on a terminal, control characters are shown as escapes so document text cannot act there."""
    if sys.stdout.isatty():
        sys.stdout.write(visible(text))
        sys.stdout.flush()
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "surrogatepass"))
    sys.stdout.buffer.flush()


def format_answer(answer) -> str:
    lines = [answer.text, ""]
    if answer.citations:
        lines.append("Sources:")
        for citation in answer.citations:
            lines.extend(_format_passage(f"[{citation.n}]", citation.passage))
    elif answer.not_found:
        lines.append("(No passage of the sources supports an answer.)")
    return "\n".join(lines).rstrip()


def format_passages(passages) -> str:
    if not passages:
        return "No passages found."
    lines = []
    for rank, passage in enumerate(passages, start=1):
        lines.extend(_format_passage(f"{rank}.", passage))
    return "\n".join(lines).rstrip()


def _format_passage(label: str, passage) -> list[str]:
    where = "".join(
        f", {part}" for part in (f"page {passage.page}" if passage.page else "", passage.section or "") if part
    )
    header = (
        f"{label} {passage.title} ({passage.source}{where}, {passage.language}, "
        f"chars {passage.start}-{passage.end}, score {passage.score:.3f})"
    )
    excerpt = textwrap.shorten(" ".join(passage.text.split()), width=300, placeholder=" …")
    return [header, textwrap.indent(textwrap.fill(excerpt, width=96), "    "), ""]


def format_info(info) -> str:
    lines = [f"Index: {info.location}", f"{len(info.documents)} documents, {info.chunks} chunks"]
    for doc in info.documents:
        lines.append(f"  {doc['source']}: {doc['title']} ({doc['language']}, {doc['chunks']} chunks)")
    return "\n".join(lines)
