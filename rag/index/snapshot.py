"""A disk snapshot of the search index (chunks, vectors, lexical index) for fast cold starts.

Building the in-memory index means reading every chunk and vector from Chroma and analysing every
chunk for BM25: seconds at 10^4 chunks, more at 10^5. The snapshot stores that result under the
cache folder, keyed by the index version (a digest of the manifest and the gloss vectors).

For the embedded store, ingest writes a stamp when it finishes (and removes it when it starts):
the index version, the manifest, and the size and times of the store's files and of the snapshot.
A new process then loads the snapshot without even importing Chroma, and an ingest of an
unchanged folder finishes without opening the store while none of those files changed (Chroma
rewrites files whenever it opens a store, so anything that touched it sends ingest the slow way).
Without a stamp (a Chroma server, or an ingest that did not finish), the version is computed from
the store itself.

A snapshot file is a pickle whose numpy arrays (vectors, BM25 postings, the chunk columns of
rag.index.chunk_table) are kept out of band, each at an aligned offset after it: loading maps the file
and the arrays are views of it, so a cold start neither copies 10^5 vectors nor builds an object
per chunk, and pages are read when a search first touches them. The header gives the length of
every part, so a truncated file is recognised and rebuilt instead of loaded, and a CRC-32 of every
part, so a damaged one (bytes overwritten, same length) is too: checking costs one pass over the
file at load (bench/notes.md, "Snapshot checksums", has what that costs).

The stamp is kept while an ingest runs: it names the last finished index, which readers keep
loading until the ingest writes a new one (an interrupted ingest never becomes what they read).
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import pickle
import shutil
import struct
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.index.store import SQLITE_FILE, FileRecord, records_json

log = logging.getLogger(__name__)

# 3: BM25 postings in numpy arrays; 4: German noun terms; 5: German-only glosses;
# 6: chunk columns (rag.index.chunk_table), the arrays out of band in a mapped file;
# 7: classes moved into subpackages (pickles name them); 8: meaning vectors; 9: CRC-32 per part.
SNAPSHOT_FORMAT = 9
# The index version digests what the index is built from, not how a snapshot lays it out (the
# format is in the snapshot's file name): this salt stays, so a new format keeps existing stamps.
VERSION_SALT = b"snapshot5\0"
STAMP_FILE = "index-stamp.json"
MAGIC = b"RAGSNAP\0"
HEADER = struct.Struct("<8sQQQ")  # magic, length of the pickle, number of out-of-band buffers, CRC-32 of the pickle
BUFFER_ENTRY = struct.Struct("<QQQ")  # offset, length and CRC-32 of one buffer, following the header
ALIGNMENT = 64  # buffer offsets: numpy wants aligned data, SIMD kernels cache lines


def snapshot_root(settings: Settings) -> Path:
    return settings.resolved_cache_dir / "snapshots"


def stamp_path(settings: Settings) -> Path:
    return settings.resolved_cache_dir / STAMP_FILE


@dataclass(frozen=True)
class StoreState:
    """What the in-memory index is built from: the manifest and the hashes of the gloss and
    meaning vectors."""

    records: dict[str, FileRecord]
    gloss_hashes: dict[str, str]
    meaning_hashes: dict[str, str]

    @classmethod
    def of(cls, store) -> StoreState:
        return cls(store.file_records(), store.glosses.hashes(), store.meaning.hashes())

    @cached_property
    def version(self) -> str:
        digest = hashlib.sha256(VERSION_SALT)
        digest.update(records_json(self.records).encode())
        digest.update(json.dumps(sorted(self.gloss_hashes.items())).encode())
        if self.meaning_hashes:  # stores without meaning vectors keep their version
            digest.update(json.dumps(sorted(self.meaning_hashes.items())).encode())
        return digest.hexdigest()[:32]

    @property
    def glosses_complete(self) -> bool:
        # While they are not, every ingest tries to complete them (rag.ingest.pipeline): no shortcut then.
        german_chunks = sum(r.n_chunks for r in self.records.values() if r.language == "de")
        return len(self.gloss_hashes) == german_chunks


def index_version(store) -> str:
    """Digest of everything the in-memory index is built from (manifest and gloss vectors)."""
    return StoreState.of(store).version


def read_stamp(settings: Settings) -> str | None:
    """The version the last finished ingest recorded (embedded store only)."""
    stamp = _read_stamp(settings)
    return stamp["version"] if stamp else None


def unchanged_manifest(settings: Settings, derived_key: str = "") -> dict[str, FileRecord] | None:
    """The manifest the last finished ingest recorded, provided that nothing can have changed the
    store since: none of its files nor the snapshot was written, its glosses were complete, and its
    derived vectors were made as ``derived_key`` says (meaning model, which chunks, gloss rules
    and dictionary).
    None when that is not certain; the caller then reads the store itself."""
    stamp = _read_stamp(settings)
    if not stamp or not stamp["glosses_complete"] or stamp["files"] != _file_states(settings, stamp["version"]):
        return None
    if stamp.get("derived", "") != derived_key:
        return None
    return {source: FileRecord.from_metadata(metadata) for source, metadata in stamp["records"].items()}


def write_stamp(settings: Settings, state: StoreState, derived_key: str = "") -> None:
    """Record the finished ingest; call it after the store's last write and the snapshot's."""
    if settings.uses_chroma_server:
        return
    version = state.version
    stamp = {
        "version": version,
        "store": _store_key(settings),
        "collection": settings.collection,
        "glosses_complete": state.glosses_complete,
        "derived": derived_key,
        "records": {source: record.to_metadata() for source, record in sorted(state.records.items())},
        "files": _file_states(settings, version),
    }
    _atomic_write(stamp_path(settings), [json.dumps(stamp).encode("utf-8")])


def _read_stamp(settings: Settings) -> dict[str, Any] | None:
    if settings.uses_chroma_server or not (Path(settings.store_dir) / SQLITE_FILE).is_file():
        return None
    try:
        stamp = json.loads(stamp_path(settings).read_bytes())
    except (OSError, ValueError):
        return None
    fields = ("version", "store", "collection", "glosses_complete", "records", "files")
    if not isinstance(stamp, dict) or any(name not in stamp for name in fields):
        return None  # written by an older release, or not by this module at all
    # Several stores may share one cache folder (RAG_CACHE_DIR): a stamp speaks for its own store.
    if stamp["store"] != _store_key(settings) or stamp["collection"] != settings.collection:
        return None
    return stamp


def _store_key(settings: Settings) -> str:
    return str(Path(settings.store_dir).resolve())


def _file_states(settings: Settings, version: str) -> list[list[Any]]:
    """Path, size, modification and change time of every file of the embedded store (derived
    caches excluded) and of the snapshot of ``version``: any write to them changes these."""
    root = Path(settings.store_dir)
    cache = settings.resolved_cache_dir.resolve()
    paths = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if (Path(folder) / d).resolve() != cache)
        paths.extend(Path(folder) / name for name in sorted(names))
    paths.append(snapshot_path(settings, version))
    return [_file_state(path) for path in paths]


def _file_state(path: Path) -> list[Any]:
    try:
        stat = path.stat()
    except FileNotFoundError:  # a snapshot that could not be written, or a file deleted meanwhile
        return [str(path)]
    return [str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def stamp_signature(settings: Settings) -> tuple[int, int, int] | None:
    """Identity, size and change time of the stamp file (one stat call): when it is unchanged, no
    ingest finished since it was last read."""
    try:
        stat = stamp_path(settings).stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def clear_stamp(settings: Settings) -> None:
    """Forget the last finished ingest (a rebuild): readers then check the store itself."""
    try:
        stamp_path(settings).unlink()
    except FileNotFoundError:
        pass


def snapshot_path(settings: Settings, version: str) -> Path:
    # The format is in the name: a stamp written by an older release never finds a file it cannot read.
    return snapshot_root(settings) / f"v{SNAPSHOT_FORMAT}-{version}.snapshot"


def load_snapshot(settings: Settings, version: str):
    """The index state for ``version``, or None if there is none (or it is unreadable)."""
    path = snapshot_path(settings, version)
    try:
        with path.open("rb") as file:
            return _decode(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
    except FileNotFoundError:
        return None
    except Exception as error:  # a truncated or foreign file is rebuilt, never trusted
        log.warning("ignoring unreadable index snapshot %s: %s", path, error)
        return None


def save_snapshot(settings: Settings, version: str, state) -> None:
    """Write the state for ``version`` atomically and drop other snapshots (older versions and formats)."""
    root = snapshot_root(settings)
    try:
        path = snapshot_path(settings, version)
        _atomic_write(path, _encode(state))
        for old in root.glob("v*"):  # not the hidden temporary files of concurrent writers
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not write an index snapshot under %s: %s", root, error)


def _encode(state) -> list[bytes | memoryview]:
    """The file's parts: header, buffer table, pickle, then each buffer at an aligned offset."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(state, protocol=5, buffer_callback=buffers.append)
    raws = [buffer.raw() for buffer in buffers]
    position = HEADER.size + BUFFER_ENTRY.size * len(raws) + len(data)
    table, body = [], []
    for raw in raws:
        padding = -position % ALIGNMENT
        table.append(BUFFER_ENTRY.pack(position + padding, raw.nbytes, zlib.crc32(raw)))
        body += [bytes(padding), raw]
        position += padding + raw.nbytes
    return [HEADER.pack(MAGIC, len(data), len(raws), zlib.crc32(data)), *table, data, *body]


def _decode(mapped: mmap.mmap):
    """The state in a mapped snapshot file; its arrays are read-only views of the mapping."""
    view = memoryview(mapped)
    magic, pickle_length, count, pickle_crc = HEADER.unpack_from(view)
    if magic != MAGIC:
        raise ValueError("not an index snapshot")
    entries = [BUFFER_ENTRY.unpack_from(view, HEADER.size + i * BUFFER_ENTRY.size) for i in range(count)]
    pickle_start = HEADER.size + BUFFER_ENTRY.size * count
    end = max([pickle_start + pickle_length, *(offset + length for offset, length, _ in entries)])
    if end != len(view):
        raise ValueError(f"the file has {len(view)} bytes, its header describes {end}")
    data = view[pickle_start : pickle_start + pickle_length]
    _check_crc(data, pickle_crc, "the pickle")
    buffers = []
    for number, (offset, length, crc) in enumerate(entries):
        buffers.append(view[offset : offset + length])
        _check_crc(buffers[-1], crc, f"buffer {number}")
    return pickle.loads(data, buffers=buffers)


def _check_crc(part: memoryview, expected: int, name: str) -> None:
    if zlib.crc32(part) != expected:
        raise ValueError(f"{name} does not match its checksum: the file is damaged")


def delete_snapshots(settings: Settings) -> None:
    clear_stamp(settings)
    shutil.rmtree(snapshot_root(settings), ignore_errors=True)


def _atomic_write(path: Path, parts: Iterable[bytes | memoryview]) -> None:
    """Write to a temporary file, flush it to disk, then rename it over ``path``: readers see the
    old file or the whole new one, even after a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            for part in parts:
                file.write(part)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
