"""A disk snapshot of the search index (chunks, vectors, lexical index) for fast cold starts.

Building the in-memory index means reading every chunk and vector from Chroma and analysing every
chunk for BM25: seconds at 10^4 chunks, more at 10^5. The snapshot stores that result under the
cache folder, keyed by the index version (a digest of the manifest and the gloss vectors).

For the embedded store, ingest writes the current version to a stamp file when it finishes (and
removes the stamp when it starts), so a new process can load the snapshot without even importing
Chroma. Without a stamp (a Chroma server, or an ingest that did not finish), the version is
computed from the store itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import tempfile
from pathlib import Path

from rag.config import Settings

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 3  # 3: BM25 postings in numpy arrays
STAMP_FILE = "index-version"


def snapshot_root(settings: Settings) -> Path:
    return settings.resolved_cache_dir / "snapshots"


def stamp_path(settings: Settings) -> Path:
    return settings.resolved_cache_dir / STAMP_FILE


def index_version(store) -> str:
    """Digest of everything the in-memory index is built from (manifest and gloss vectors)."""
    from rag.store import records_json

    digest = hashlib.sha256(f"snapshot{SNAPSHOT_FORMAT}\0".encode())
    digest.update(records_json(store.file_records()).encode())
    digest.update(json.dumps(sorted(store.gloss_hashes().items())).encode())
    return digest.hexdigest()[:32]


def read_stamp(settings: Settings) -> str | None:
    """The version the last finished ingest recorded (embedded store only)."""
    from rag.store import SQLITE_FILE

    if settings.uses_chroma_server or not (Path(settings.store_dir) / SQLITE_FILE).is_file():
        return None
    try:
        return stamp_path(settings).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def write_stamp(settings: Settings, version: str) -> None:
    if not settings.uses_chroma_server:
        _atomic_write(stamp_path(settings), version.encode("utf-8"))


def clear_stamp(settings: Settings) -> None:
    """Called when an ingest starts: until it finishes, readers check the store itself."""
    try:
        stamp_path(settings).unlink()
    except FileNotFoundError:
        pass


def snapshot_path(settings: Settings, version: str) -> Path:
    # The format is in the name: a stamp written by an older release never finds a file it cannot read.
    return snapshot_root(settings) / f"v{SNAPSHOT_FORMAT}-{version}.pickle"


def load_snapshot(settings: Settings, version: str):
    """The pickled index state for ``version``, or None if there is none (or it is unreadable)."""
    path = snapshot_path(settings, version)
    try:
        with path.open("rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # a truncated or foreign file is rebuilt, never trusted
        log.warning("ignoring unreadable index snapshot %s: %s", path, error)
        return None


def save_snapshot(settings: Settings, version: str, state) -> None:
    """Write the state for ``version`` atomically and drop older snapshots."""
    root = snapshot_root(settings)
    try:
        path = snapshot_path(settings, version)
        _atomic_write(path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        for old in root.glob("*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not write an index snapshot under %s: %s", root, error)


def delete_snapshots(settings: Settings) -> None:
    clear_stamp(settings)
    shutil.rmtree(snapshot_root(settings), ignore_errors=True)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
