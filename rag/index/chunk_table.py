"""The chunks of an in-memory index, held in columns instead of one Python object per chunk.

A cold start at 10^5 chunks spent a third of a second unpickling (id, text, metadata dict) tuples
and turning them into objects, and more freeing them at exit, although a question only ever reads
the few chunks it returns. Here ids and texts are UTF-8 bytes with offsets, and each metadata key
is a list of its distinct values with a code per chunk: a handful of numpy arrays that a snapshot
maps from its file without copying (rag.index.snapshot). A chunk's objects are built when it is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rag.index.store import StoredChunk

ABSENT = -1  # the code of a chunk that has no value for a key


class StringColumn:
    """Strings stored as their UTF-8 bytes end to end: string i is data[offsets[i]:offsets[i + 1]]."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray):
        self.data = data
        self.offsets = offsets

    @classmethod
    def of(cls, strings: Iterable[str]) -> StringColumn:
        # surrogatepass: any str round-trips, even one that is not valid Unicode text
        encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        i = range(len(self))[i]
        return str(self.data[self.offsets[i] : self.offsets[i + 1]], "utf-8", "surrogatepass")


class CodedColumn:
    """One metadata key: its distinct values, and for each chunk the index of its value (or ABSENT)."""

    def __init__(self, values: list[Any], codes: np.ndarray):
        self.values = values
        self.codes = codes

    @classmethod
    def of(cls, metadatas: Sequence[dict[str, Any]], key: str) -> CodedColumn:
        values: list[Any] = []
        code_of: dict[tuple[type, Any], int] = {}  # keyed with the type: 1, 1.0 and True stay apart
        codes = np.full(len(metadatas), ABSENT, dtype=np.int32)
        for row, metadata in enumerate(metadatas):
            if key in metadata:
                value = metadata[key]
                code = code_of.setdefault((type(value), value), len(values))
                if code == len(values):
                    values.append(value)
                codes[row] = code
        return cls(values, codes)


class ChunkTable(Sequence[StoredChunk]):
    """A read-only sequence of StoredChunk, built one at a time on access from the columns."""

    def __init__(self, ids: StringColumn, texts: StringColumn, metadata: dict[str, CodedColumn]):
        self.ids = ids
        self.texts = texts
        self.metadata = metadata  # keys in the order a chunk's metadata dict lists them

    @classmethod
    def of(cls, chunks: Sequence[StoredChunk]) -> ChunkTable:
        metadatas = [c.metadata for c in chunks]
        keys = dict.fromkeys(key for metadata in metadatas for key in metadata)
        return cls(
            StringColumn.of(c.chunk_id for c in chunks),
            StringColumn.of(c.text for c in chunks),
            {key: CodedColumn.of(metadatas, key) for key in keys},
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        return StoredChunk(self.ids[i], self.texts[i], self.metadata_of(i))

    def metadata_of(self, i: int) -> dict[str, Any]:
        return {
            key: column.values[code]
            for key, column in self.metadata.items()
            if (code := column.codes[i]) != ABSENT
        }

    def value(self, i: int, key: str, default: Any = None) -> Any:
        column = self.metadata.get(key)
        code = ABSENT if column is None else column.codes[i]
        return default if code == ABSENT else column.values[code]

    def rows_by_value(self, key: str, default: Any) -> dict[Any, np.ndarray]:
        """For each value of ``key`` (``default`` for chunks without one), its rows in ascending order."""
        column = self.metadata.get(key)
        if column is None:
            column = CodedColumn([], np.full(len(self), ABSENT, dtype=np.int32))
        # Counting codes (shifted so that ABSENT counts in slot 0) rather than np.unique, whose
        # first call imports numpy.ma: 7 ms of a cold start.
        counts = np.bincount(column.codes + 1, minlength=len(column.values) + 1)
        labels = [default, *column.values]
        codes_of: dict[Any, list[int]] = {}
        for slot in np.flatnonzero(counts).tolist():
            codes_of.setdefault(labels[slot], []).append(slot - 1)
        return {label: np.flatnonzero(np.isin(column.codes, codes)) for label, codes in codes_of.items()}

    def rows_with(self, key: str, wanted: set[Any]) -> np.ndarray:
        """A boolean mask of the chunks whose value of ``key`` is in ``wanted``."""
        column = self.metadata.get(key)
        if column is None:
            return np.zeros(len(self), dtype=bool)
        return np.isin(column.codes, [code for code, value in enumerate(column.values) if value in wanted])
