"""The environment of every subprocess the tests start.

The offline guard goes first on PYTHONPATH (its sitecustomize.py refuses non-loopback
connections in the child too), then this checkout, so a child imports the ``rag`` under test and
not another copy. Settings and offline switches of the caller's shell are dropped (RAG_*, HF_*,
TRANSFORMERS_*, TIKTOKEN_CACHE_DIR): a child sees the project's own defaults plus what the test
passes in ``extra``, which proves the product sets its offline switches itself.
"""

from __future__ import annotations

import os

from support.paths import GUARD_DIR, REPO

DROPPED_PREFIXES = ("RAG_", "HF_", "TRANSFORMERS_")
DROPPED_NAMES = ("TIKTOKEN_CACHE_DIR",)


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(DROPPED_PREFIXES) and name not in DROPPED_NAMES
    }
    env["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(GUARD_DIR), str(REPO), os.environ.get("PYTHONPATH", "")) if path
    )
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env
