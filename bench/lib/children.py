"""Child processes of the benchmarks: ``python -m <module>`` from the repository root.

With the repository root as the working directory, ``-m`` puts it first on the child's import
path, so the child runs this checkout's ``rag`` and ``bench`` packages, whatever the venv holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.lib.paths import REPO

PYTHON = sys.executable
#: A command-line argument: text, or a path (passed as its text).
Arg = str | Path


def module_command(module: str, args: Sequence[Arg], python_options: Sequence[str] = ()) -> list[str]:
    return [PYTHON, *python_options, "-m", module, *map(str, args)]


def run_module(
    module: str,
    args: Sequence[Arg],
    *,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float | None = None,
    python_options: Sequence[str] = (),
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` to completion; with ``check``, a failure stops the benchmark
    with the command and the end of its error output."""
    command = module_command(module, args, python_options)
    completed = subprocess.run(
        command, cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if check and completed.returncode != 0:
        raise SystemExit(
            f"python -m {module} {' '.join(map(str, args))} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    return completed


def wall_seconds(module: str, args: Sequence[Arg]) -> float:
    """Seconds from starting ``python -m module args`` until it exits (it must succeed)."""
    started = time.perf_counter()
    run_module(module, args)
    return time.perf_counter() - started


def run_json(
    module: str, args: Sequence[Arg], env: dict[str, str] | None = None, timeout: float = 7200
) -> dict[str, Any]:
    """The JSON object a worker prints as its last line, plus the process's wall time (``process_wall_s``)."""
    started = time.perf_counter()
    completed = run_module(module, args, env=env, timeout=timeout)
    wall = time.perf_counter() - started
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    data["process_wall_s"] = wall
    return data
