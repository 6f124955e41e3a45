"""Documents taken out of the index while their files stay in the folder ("remove from index").

The list belongs to the index, not to the folder, so it lives in the store's cache folder
(which a rebuild keeps), keyed by the folder's absolute path. Reading a folder skips the listed
files; adding a file of the same name again takes it off the list.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rag.config import Settings

EXCLUSIONS_FILE = "excluded_sources.json"


def exclusions_path(settings: Settings) -> Path:
    return settings.resolved_cache_dir / EXCLUSIONS_FILE


def _read_all(settings: Settings) -> dict[str, list[str]]:
    try:
        data = json.loads(exclusions_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): [str(s) for s in v] for k, v in data.items() if isinstance(v, list)}


def _write_all(settings: Settings, data: dict[str, list[str]]) -> None:
    path = exclusions_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _key(folder: Path) -> str:
    return str(Path(folder).resolve())


def excluded_sources(settings: Settings, folder: Path) -> frozenset[str]:
    """Sources (relative paths) of ``folder`` that are kept out of the index."""
    return frozenset(_read_all(settings).get(_key(folder), []))


def set_excluded(settings: Settings, folder: Path, source: str, excluded: bool) -> None:
    """Put ``source`` on the folder's list of excluded sources, or take it off."""
    data = _read_all(settings)
    sources = set(data.get(_key(folder), []))
    sources = sources | {source} if excluded else sources - {source}
    if sources:
        data[_key(folder)] = sorted(sources)
    else:
        data.pop(_key(folder), None)
    _write_all(settings, data)
