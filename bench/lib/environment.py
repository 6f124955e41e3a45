"""The settings a benchmark measures: the project's defaults, whatever the caller has set.

rag.config reads RAG_* variables; a benchmark that should measure the defaults drops them, from
its own process (``forget_caller_settings``) and from its children's (``clean_environment``).
"""

from __future__ import annotations

import os
from pathlib import Path


def clean_environment(cache_dir: Path) -> dict[str, str]:
    """This process's environment without RAG_* settings, with one shared cache (the dictionary)
    and no progress bars: for ``python -m rag`` children."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_CACHE_DIR"] = str(cache_dir)
    env["RAG_SHOW_PROGRESS"] = "false"
    return env


def forget_caller_settings() -> None:
    """Drop the caller's RAG_* variables from this process, so that in-process settings are the defaults."""
    for name in [k for k in os.environ if k.startswith("RAG_")]:
        del os.environ[name]
