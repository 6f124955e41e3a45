"""Token counting with tiktoken (offline: encodings come from llama-index-core's bundled cache)."""

from __future__ import annotations

from functools import lru_cache

from rag.runtime.offline import prepare_offline_environment


@lru_cache(maxsize=1)
def _encoding():
    prepare_offline_environment()
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))
