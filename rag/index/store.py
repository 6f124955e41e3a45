"""The index store: chunks and their vectors in Chroma, plus a manifest of ingested files.

Three collections:
- ``<collection>``: one record per chunk (vector, exact text, flat metadata); cosine space.
- ``<collection>_files``: the manifest, one record per ingested file (content hash, title, language,
  chunk count).
- ``<collection>_gloss``: for each German chunk, the vector of its English gloss (rag.text.gloss), under
  the chunk's id; derived data that ingest keeps in step with the chunks.
- ``<collection>_control``: the writer's lease (rag.index.lease) and the completion record: whether
  the last ingest finished (every chunk, gloss and manifest entry written) and the index version it
  left. A store without one (written before it existed) counts as complete.

A chunk counts only while the manifest names its file with the same content hash and fingerprint,
so a run interrupted half-way leaves chunks that nobody reads and that the next ingest deletes: the
store is never misread.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import EmptyStoreError, StoreError

MAX_CHROMA_BATCH = 4000  # Chroma rejects batches above ~5,461 records.
#: Metadata of new collections. Dense search runs in numpy over all vectors (rag.retrieval.hybrid), never
#: through Chroma's HNSW index, so that index is built cheaply: construction ef 8 and M 4 instead of
#: 100 and 16 (measured in bench/notes.md, session 6; a larger hnsw:batch_size was slower).
COLLECTION_METADATA = {"hnsw:space": "cosine", "hnsw:construction_ef": 8, "hnsw:M": 4}
SQLITE_FILE = "chroma.sqlite3"
CREATION_LOCK_FILE = ".rag-create.lock"


@dataclass(frozen=True)
class FileRecord:
    """The manifest's entry for one ingested file."""

    source: str
    content_hash: str
    fingerprint: str
    title: str
    language: str
    kind: str
    n_chunks: int
    chars: int

    def to_metadata(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> FileRecord:
        return cls(**{name: metadata[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Completion:
    """The completion record: did the last ingest finish, which index version did the last
    finished one leave (``version`` is "" before the first), and what were its derived vectors made
    with (``derived``: rag.api.Rag._derived_key; "" in stores from before the field)."""

    complete: bool
    version: str
    derived: str = ""


COMPLETION_ID = "completion"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0


def open_chroma_client(settings: Settings, create: bool, fresh: bool = False) -> Any:
    """A Chroma client for the configured location, with telemetry off. ``fresh``: not the
    process's cached client of an embedded store, which keeps the vectors it loaded and does not
    see what other processes wrote since (reads then fail with "Error finding id"); a writer
    opens a fresh one once it holds the write lease."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.uses_chroma_server:
        headers = {}
        if settings.chroma_auth_token is not None:
            headers["Authorization"] = f"Bearer {settings.chroma_auth_token.get_secret_value()}"
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=headers,
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as error:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({type(error).__name__}: {error}). Start it with `chroma run --path DIR --port "
                f"{settings.chroma_port}` or unset RAG_CHROMA_HOST to use the embedded store."
            ) from error
        return client
    store_dir = Path(settings.store_dir)
    if store_dir.exists() and not store_dir.is_dir():
        raise StoreError(
            f"The store location {store_dir} is a file, not a folder. Point --store (RAG_STORE_DIR) at a "
            "folder (a new one is created), or move the file away."
        )
    if not create and not (store_dir / SQLITE_FILE).is_file():
        raise StoreError(
            f"There is no index at {store_dir}. Build it first: python -m rag ingest --source "
            f"{settings.source_dir} --store {store_dir}"
        )
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            _forget_cached_client(store_dir)
        with creation_lock(settings):
            return chromadb.PersistentClient(path=str(store_dir), settings=chroma_settings)
    except Exception as error:
        raise _corrupt_store_error(store_dir, error) from error


@contextmanager
def creation_lock(settings: Settings) -> Iterator[None]:
    """Held while an embedded store or one of its collections is opened or created. Two processes
    that create the same new store at once both run Chroma's schema migrations and one fails
    ("table collections already exists"); the write lease (rag.index.lease) cannot prevent that, as
    it lives inside the store. A flock on a file in the store folder can, and is released by the
    kernel when its holder dies. Without a writable folder there is nobody to race with."""
    if settings.uses_chroma_server:
        yield
        return
    try:
        handle = open(Path(settings.store_dir) / CREATION_LOCK_FILE, "a", encoding="utf-8")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _corrupt_store_error(store_dir: Path, error: Exception) -> StoreError:
    return StoreError(
        f"The index at {store_dir} cannot be read ({type(error).__name__}: {error}). "
        f"It may be corrupt or written by another Chroma version. Rebuild it: "
        f"python -m rag ingest --store {store_dir} --rebuild"
    )


class ChunkStore:
    """Chunks, vectors and the file manifest in Chroma."""

    def __init__(self, settings: Settings, create: bool = False, fresh: bool = False):
        self.settings = settings
        self.client = open_chroma_client(settings, create=create, fresh=fresh)
        try:
            with creation_lock(settings):
                self.chunks = self._collection(settings.collection, create)
                self.files = self._collection(f"{settings.collection}_files", create)
        except StoreError:
            raise
        except Exception as error:
            raise _corrupt_store_error(Path(settings.store_dir), error) from error
        self._glosses = None
        self._control = None
        self._meaning = None

    @property
    def meaning(self) -> Any:
        """The multilingual meaning vectors of the chunks (rag.ingest.meaning), created on first use."""
        if self._meaning is None:
            self._meaning = self._derived_vectors("meaning")
        return self._meaning

    def _derived_vectors(self, suffix: str, hash_key: str = "hash") -> Any:
        """``<collection>_<suffix>`` as rag.index.derived.DerivedVectors, created if missing
        (imported here, not at the top: that module imports this one)."""
        from rag.index.derived import DerivedVectors

        return DerivedVectors(self._get_or_create(f"{self.settings.collection}_{suffix}"), hash_key)

    def clear(self) -> None:
        """Delete every chunk, manifest entry, gloss and meaning vector (a rebuild); the control
        collection with the write lease stays, so the writer keeps its lease."""
        for suffix in ("", "_files", "_gloss", "_meaning"):
            try:
                self.client.delete_collection(f"{self.settings.collection}{suffix}")
            except Exception as error:  # did not exist
                if "does not exist" not in str(error) and "NotFound" not in type(error).__name__:
                    raise
        self.chunks = self._get_or_create(self.settings.collection)
        self.files = self._get_or_create(f"{self.settings.collection}_files")
        self._glosses = None
        self._meaning = None

    @property
    def location(self) -> str:
        s = self.settings
        if s.uses_chroma_server:
            return f"chroma server {s.chroma_host}:{s.chroma_port}, collection {s.collection}"
        return f"{s.store_dir} (collection {s.collection})"

    def _get_or_create(self, name: str) -> Any:
        with creation_lock(self.settings):
            return self._collection(name, create=True)

    def _collection(self, name: str, create: bool) -> Any:
        if create:
            return self.client.get_or_create_collection(
                name, metadata=dict(COLLECTION_METADATA), embedding_function=None
            )
        try:
            return self.client.get_collection(name, embedding_function=None)
        except Exception as error:
            if "does not exist" in str(error) or "NotFound" in type(error).__name__:
                raise EmptyStoreError(
                    f"The index at {self.location} is empty. Build it first: python -m rag ingest "
                    f"--source {self.settings.source_dir} --store {self.settings.store_dir}"
                ) from error
            raise

    # --- manifest -------------------------------------------------------------------------------

    def file_records(self) -> dict[str, FileRecord]:
        result = self.files.get(include=["metadatas"])
        return {
            record.source: record
            for record in (FileRecord.from_metadata(m) for m in result["metadatas"] or [])
        }

    def commit_files(self, records: list[FileRecord]) -> None:
        """Writes the records in one upsert (each Chroma write costs ~20 ms however small)."""
        # The manifest collection carries no meaningful vectors; a constant 1-d vector keeps Chroma
        # from calling its default embedding function (which would download a model).
        for batch in batched(records, MAX_CHROMA_BATCH):
            self.files.upsert(
                ids=[r.source for r in batch],
                embeddings=[[1.0]] * len(batch),
                metadatas=[r.to_metadata() for r in batch],
            )

    def forget_file(self, source: str) -> None:
        self.files.delete(ids=[source])

    # --- chunks ---------------------------------------------------------------------------------

    def add_chunks(self, ids: list[str], vectors: list[list[float]], texts: list[str], metadatas: list[dict]) -> None:
        """Writes chunks as they are: text, vector and flat metadata. (LlamaIndex's
        ChromaVectorStore would also store each node serialised as JSON, a second copy of its
        text: 15% of the write time, and nothing here reads it.)"""
        import numpy as np

        matrix = np.asarray(vectors, dtype=np.float32)  # Chroma rejects a mix of lists and arrays
        for start in range(0, len(ids), MAX_CHROMA_BATCH):
            end = start + MAX_CHROMA_BATCH
            self.chunks.add(
                ids=ids[start:end], embeddings=matrix[start:end], documents=texts[start:end], metadatas=metadatas[start:end]
            )

    def stored_chunks_by_source(self, fingerprint: str) -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
        """Per source: text hash -> chunk id of the chunks made with this fingerprint (current, or
        left by an interrupted run: reusable), and the ids of all its stored chunks. One pass over
        the metadata instead of a filtered query per file, which Chroma answers by scanning."""
        reusable: dict[str, dict[str, str]] = {}
        present: dict[str, set[str]] = {}
        for chunk_id, metadata in self._iter_ids_and_metadata():
            source = metadata.get("source", "")
            present.setdefault(source, set()).add(chunk_id)
            if metadata.get("fingerprint") == fingerprint:
                reusable.setdefault(source, {})[metadata["text_hash"]] = chunk_id
        return reusable, present

    def delete_stale_chunks(self, current: dict[str, FileRecord]) -> int:
        """Delete every chunk that the manifest does not vouch for; returns how many."""
        if self.chunks.count() == sum(r.n_chunks for r in current.values()):
            return 0  # every stored chunk is vouched for (chunk ids are unique per file version)
        stale = [
            chunk_id
            for chunk_id, metadata in self._iter_ids_and_metadata()
            if not is_current(metadata, current)
        ]
        for batch in batched(stale, MAX_CHROMA_BATCH):
            self.chunks.delete(ids=batch)
        return len(stale)

    def _iter_ids_and_metadata(self) -> Iterator[tuple[str, dict[str, Any]]]:
        total = self.chunks.count()
        for offset in range(0, total, MAX_CHROMA_BATCH):
            page = self.chunks.get(include=["metadatas"], limit=MAX_CHROMA_BATCH, offset=offset)
            yield from zip(page["ids"], page["metadatas"])

    def current_chunks(self, language: str | None = None) -> list[StoredChunk]:
        """Every chunk that the manifest vouches for (of one language if given), in source order."""
        records = self.file_records()
        chunks = []
        total = self.chunks.count()
        where = {"language": language} if language else None
        for offset in range(0, total, MAX_CHROMA_BATCH):
            page = self.chunks.get(
                include=["metadatas", "documents"], where=where, limit=MAX_CHROMA_BATCH, offset=offset
            )
            if not page["ids"]:
                break
            for chunk_id, text, metadata in zip(page["ids"], page["documents"], page["metadatas"]):
                if is_current(metadata, records):
                    chunks.append(StoredChunk(chunk_id, text, metadata))
        chunks.sort(key=lambda c: (c.metadata["source"], c.metadata["start"]))
        return chunks

    def count(self) -> int:
        return self.chunks.count()

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of the given chunks, by chunk id."""
        vectors: dict[str, list[float]] = {}
        for batch in batched(chunk_ids, MAX_CHROMA_BATCH):
            result = self.chunks.get(ids=batch, include=["embeddings"])
            vectors.update(zip(result["ids"], _as_list(result.get("embeddings"))))
        return vectors

    def chunk_ids(self) -> set[str]:
        """The ids of every stored chunk (no metadata read: cheaper than a full pass)."""
        ids: set[str] = set()
        total = self.chunks.count()
        for offset in range(0, total, MAX_CHROMA_BATCH):
            ids.update(self.chunks.get(include=[], limit=MAX_CHROMA_BATCH, offset=offset)["ids"])
        return ids

    def update_chunk_metadata(self, ids: list[str], metadatas: list[dict]) -> None:
        """Replace the metadata of stored chunks (a changed title or language; vectors stay)."""
        for start in range(0, len(ids), MAX_CHROMA_BATCH):
            end = start + MAX_CHROMA_BATCH
            self.chunks.update(ids=ids[start:end], metadatas=metadatas[start:end])

    # --- control: write lease and completion -------------------------------------------------------

    @property
    def control(self) -> Any:
        """The control collection; created on first use, so stores from before it still open."""
        if self._control is None:
            self._control = self._get_or_create(f"{self.settings.collection}_control")
        return self._control

    def writer_lease(self):
        """The lease an ingest must hold while it writes (rag.index.lease)."""
        from rag.index.lease import WriterLease

        s = self.settings
        return WriterLease(self.control, self.location, s.write_lease_seconds, s.write_wait_seconds)

    def completion(self) -> Completion:
        result = self.control.get(ids=[COMPLETION_ID], include=["metadatas"])
        if not result["ids"]:
            return Completion(complete=True, version="")  # a store from before the record
        metadata = result["metadatas"][0]
        return Completion(
            complete=bool(metadata["complete"]), version=str(metadata["version"]), derived=str(metadata.get("derived", ""))
        )

    def mark_writing(self) -> Completion:
        """Called by an ingest before its first write; returns the state it found."""
        found = self.completion()
        self._put_completion(Completion(complete=False, version=found.version, derived=found.derived))
        return found

    def mark_complete(self, version: str, derived: str = "") -> None:
        """Called by an ingest after its last write (chunks, glosses, manifest)."""
        self._put_completion(Completion(complete=True, version=version, derived=derived))

    def _put_completion(self, completion: Completion) -> None:
        self.control.upsert(
            ids=[COMPLETION_ID],
            embeddings=[[1.0]],
            metadatas=[{"complete": completion.complete, "version": completion.version, "derived": completion.derived}],
        )

    # --- gloss vectors --------------------------------------------------------------------------

    @property
    def glosses(self) -> Any:
        """The gloss vectors of the German chunks (rag.text.gloss), with each gloss's hash under
        ``gloss_hash`` and its text as the document; created on first use, so stores from before
        it still open."""
        if self._glosses is None:
            self._glosses = self._derived_vectors("gloss", hash_key="gloss_hash")
        return self._glosses


def is_current(metadata: dict[str, Any], records: dict[str, FileRecord]) -> bool:
    record = records.get(metadata.get("source", ""))
    return (
        record is not None
        and metadata.get("doc_hash") == record.content_hash
        and metadata.get("fingerprint") == record.fingerprint
    )


def batched(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else list(value)


def delete_embedded_store(settings: Settings) -> None:
    """Remove the embedded store's collections (for --rebuild); works on a corrupt store too."""
    import shutil

    store_dir = Path(settings.store_dir)
    if settings.uses_chroma_server:
        client = open_chroma_client(settings, create=True)
        suffixes = ("", "_files", "_gloss", "_meaning", "_control")
        for name in (f"{settings.collection}{suffix}" for suffix in suffixes):
            try:
                client.delete_collection(name)
            except Exception:
                pass
        return
    _forget_cached_clients()
    keep = {".gitkeep", CREATION_LOCK_FILE, settings.resolved_cache_dir.name}  # derived caches (dictionary) stay valid
    if store_dir.is_dir():
        for child in store_dir.iterdir():
            if child.name in keep:
                continue
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()


def _forget_cached_client(store_dir: Path) -> None:
    """Make the next client of ``store_dir`` load the store from disk. The old client is not
    stopped: a question of another thread may still be reading through it."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(store_dir), None)
    SharedSystemClient._identifier_to_refcount.pop(str(store_dir), None)


def _forget_cached_clients() -> None:
    """Chroma caches one client per path in the process; a deleted store must not be reused."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def describe_documents(records: dict[str, FileRecord]) -> list[dict[str, Any]]:
    return [
        {"source": r.source, "title": r.title, "language": r.language, "kind": r.kind, "chunks": r.n_chunks}
        for r in sorted(records.values(), key=lambda r: r.source)
    ]


def records_json(records: dict[str, FileRecord]) -> str:
    return json.dumps({s: r.to_metadata() for s, r in sorted(records.items())}, sort_keys=True)
