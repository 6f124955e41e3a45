"""Putting results where they are kept: printed, and written under bench/results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.lib.paths import display_path


def publish(report: str, path: Path, write: bool) -> None:
    """Print a Markdown report and, unless told not to, write it to ``path``."""
    print(report)
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.rstrip("\n") + "\n", encoding="utf-8")
        print(f"\n(written to {display_path(path)})")


def append(section: str, path: Path) -> None:
    """Print a Markdown section and append it to ``path``."""
    print(section)
    with path.open("a", encoding="utf-8") as out:
        out.write(section)


def write_json(data: Any, path: Path, indent: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent))
