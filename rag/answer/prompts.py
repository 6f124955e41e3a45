"""Prompt templates, one file each in ``prompts/``, loaded by name as LlamaIndex PromptTemplates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from llama_index.core.prompts import PromptTemplate

from rag.errors import ConfigError

LANGUAGE_NAMES = {"en": "English", "de": "German"}


def load_prompt(prompts_dir: Path, name: str) -> PromptTemplate:
    """The template ``<prompts_dir>/<name>.txt``; a missing file is a configuration error."""
    return PromptTemplate(_read_template(str(Path(prompts_dir) / f"{name}.txt")))


@lru_cache(maxsize=32)
def _read_template(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"Prompt template {path} cannot be read: {error}. Check RAG_PROMPTS_DIR.") from error


def language_name(code: str) -> str:
    """The language's English name for prompts; unknown codes default to English."""
    return LANGUAGE_NAMES.get(code, "English")
