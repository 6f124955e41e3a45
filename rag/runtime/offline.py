"""Keep third-party libraries from reaching for the network.

tiktoken, Hugging Face, Gradio, Chroma and NNCF download data or send telemetry on first use. This must
run before those libraries are imported; the package's entry points call it first thing.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_FORCED = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_DATASETS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "NNCF_CI": "1",  # NNCF (building the OpenVINO model) sends no telemetry then
}


def llama_index_static_dir() -> Path:
    """llama-index-core's bundled data (tiktoken encodings, NLTK punkt and stopwords)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llama-index-core is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "_static"


def prepare_offline_environment() -> None:
    """Point tiktoken at bundled encodings and switch off hub lookups and telemetry. Idempotent."""
    for name, value in _FORCED.items():
        os.environ[name] = value
    # An empty or foreign cache folder would make tiktoken (and llama-index's splitter) download.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(llama_index_static_dir() / "tiktoken_cache")
    # llama-index uses its bundled NLTK data only while NLTK_DATA is unset.
    os.environ.pop("NLTK_DATA", None)
