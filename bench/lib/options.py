"""Command-line options the drivers share."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.lib.paths import WORK_ROOT, XQUAD, display_path


def new_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """A parser whose help is the driver's docstring (usage lines included), shown as ``python -m <module>``."""
    return argparse.ArgumentParser(
        prog=f"python -m {module}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def int_list(text: str) -> list[int]:
    """``"100,1000"`` -> ``[100, 1000]`` (an argparse ``type``; empty items are skipped)."""
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def name_list(text: str) -> list[str]:
    """``"onnx-int8,openvino-int8"`` -> ``["onnx-int8", "openvino-int8"]`` (an argparse ``type``)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def add_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=Path, default=WORK_ROOT, help=f"corpora and stores of the benchmarks (default {WORK_ROOT})"
    )


def add_no_write_option(parser: argparse.ArgumentParser, report: Path) -> None:
    parser.add_argument("--no-write", action="store_true", help=f"Print only; do not rewrite {display_path(report)}.")


def add_xquad_options(parser: argparse.ArgumentParser, report: Path) -> None:
    """The options of the XQuAD benchmarks (bench.retrieval_xquad and bench.gate)."""
    parser.add_argument("--xquad", type=Path, default=XQUAD, help="The xquad-dev folder.")
    parser.add_argument("--keep", type=Path, default=None, help="Build the stores in this folder and keep them.")
    add_no_write_option(parser, report)
