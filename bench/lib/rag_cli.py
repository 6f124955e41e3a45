"""Ingest and retrieve the way a user does: ``python -m rag ...`` in a child process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.lib.children import run_module


def ingest(source: Path, store: Path, env: dict[str, str]) -> Path:
    """`python -m rag ingest` (incremental: a kept store is only brought up to date)."""
    completed = run_module("rag", ["ingest", "--source", source, "--store", store, "--no-progress"], env=env)
    print(f"ingest {source.name}: {completed.stdout.strip()}", file=sys.stderr)
    return store


def retrieve_batch(questions: list[str], store: Path, top_k: int, env: dict[str, str]) -> list[list[dict]]:
    """Passages (as JSON objects) per question from one batch run of `python -m rag retrieve - --json`."""
    completed = run_module(
        "rag",
        ["retrieve", "-", "--json", "--top-k", str(top_k), "--store", store],
        env=env,
        stdin="\n".join(questions) + "\n",
        check=False,
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or len(lines) != len(questions):
        raise SystemExit(f"retrieve failed ({completed.returncode}, {len(lines)} results):\n{completed.stderr}")
    return [line.get("passages", []) for line in lines]
