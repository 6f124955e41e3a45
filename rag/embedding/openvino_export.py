"""OpenVINO int8 version of a local sentence-transformers model: built once, cached, reused.

OpenVINO runs an int8 model quantised by NNCF (static: weights and activations, scales calibrated
on real text) faster than ONNX Runtime's dynamic int8 on this CPU class (bench/results/RESULTS.md), with
vectors as close to fp32. The recipe: the *unfused* fp32 ONNX export (OpenVINO fuses attention itself; ONNX
Runtime's fused contrib operators are foreign to it), quantised with NNCF's transformer preset on
~128 windows of ~200 word pieces cut from the repository's ``seeds/`` texts (German and English,
so the calibration is offline and the same on every clone), saved as ``model.xml``/``model.bin``
in ``<cache>/<key>/``. The key covers the model folder, ``RECIPE_VERSION`` and the calibration
files, and the folder is renamed into place only when complete (``rag.embedding.onnx_export.atomic_folder``).

Building imports torch and NNCF, so it runs in a child process (``python -m rag.embedding.openvino_export``);
the serving process imports only ``openvino``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rag.config import Settings
from rag.embedding.onnx_export import (
    OnnxExportError,
    atomic_folder,
    build_in_child,
    cache_key,
    export_fp32,
    read_model_spec,
    write_meta,
)
from rag.runtime.openvino import compile_ahead, query_session_config

#: Bump when the quantisation recipe changes: cached models of older recipes are ignored.
RECIPE_VERSION = "1"
PRECISION = "openvino-int8"
CALIBRATION_DIR = Path(__file__).resolve().parents[2] / "seeds"
CALIBRATION_WINDOWS = 128
WINDOW_PIECES = 200


class OpenVinoMissingError(OnnxExportError):
    """The openvino package is not installed."""


def require_openvino() -> None:
    """Fail with the fix spelled out, before any build, when openvino is not installed."""
    import importlib.util

    if importlib.util.find_spec("openvino") is None:
        raise OpenVinoMissingError(
            "embedding_runtime 'openvino-int8' needs the openvino package (pip install openvino; "
            "scripts/setup.sh installs it). Or set RAG_EMBEDDING_RUNTIME=onnx-int8."
        )


def calibration_files() -> list[Path]:
    return sorted(CALIBRATION_DIR.glob("*.txt"))


def cached_model_path(model_dir: str | Path, cache_dir: str | Path) -> Path:
    files = tuple(f"{p.name}:{p.stat().st_size}" for p in calibration_files())
    return Path(cache_dir) / cache_key(model_dir, PRECISION, RECIPE_VERSION, files) / "model.xml"


def blob_folder(model_file: Path, inference_precision: str) -> Path:
    """Where OpenVINO caches the model compiled for ``inference_precision``. One folder per
    precision: OpenVINO 2026.4's cache key ignores the precision hint, and a model compiled for f32
    loaded with a bf16 hint (or the reverse) crashed the process."""
    return Path(model_file).parent / "compiled" / inference_precision


def compile_query_session_ahead(settings: Settings) -> None:
    """Compile the configured model's question session now, in the calling thread, without
    importing LlamaIndex (``rag.runtime.openvino.compile_ahead``): the embedding takes it at its
    first question. Nothing when another runtime is configured or the model is not exported yet
    (the first question exports it)."""
    if settings.embedding_backend != "local" or settings.embedding_runtime != "openvino-int8":
        return
    model_file = cached_model_path(settings.embedding_model, settings.model_cache_dir)
    if model_file.is_file():
        precision = settings.openvino_precision
        compile_ahead(model_file, blob_folder(model_file, precision), query_session_config(settings.query_threads, precision))


def ensure_openvino_model(model_dir: str | Path, cache_dir: str | Path) -> Path:
    """The cached OpenVINO int8 model, built first (in a child process) if needed."""
    require_openvino()
    target = cached_model_path(model_dir, cache_dir)
    build_in_child(target, model_dir, ["rag.embedding.openvino_export", str(model_dir), str(cache_dir)], "OpenVINO int8")
    return target


def build_to_cache(model_dir: str | Path, cache_dir: str | Path) -> Path:
    """Export, calibrate and quantise into the cache, atomically. Imports torch and NNCF."""
    target = cached_model_path(model_dir, cache_dir)
    if target.is_file():
        return target
    if not calibration_files():
        raise OnnxExportError(f"No calibration texts (*.txt) in {CALIBRATION_DIR}.")
    with atomic_folder(target) as work:
        fp32 = work / "fp32.onnx"
        export_fp32(model_dir, fp32)  # unfused on purpose: see the module docstring
        quantize(fp32, calibration_windows(model_dir), work / "model.xml")
        fp32.unlink()
        write_meta(work, model_dir, PRECISION, RECIPE_VERSION)
    return target


def calibration_windows(model_dir: str | Path) -> list[list[int]]:
    """``CALIBRATION_WINDOWS`` token windows of ``WINDOW_PIECES`` pieces ([CLS] … [SEP]), spread
    evenly (overlapping) over the word pieces of the calibration texts."""
    import numpy as np
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(read_model_spec(model_dir).tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    stream: list[int] = []
    first = last = None
    for path in calibration_files():
        ids = tokenizer.encode(path.read_text(encoding="utf-8")).ids
        first, last = ids[0], ids[-1]
        stream += ids[1:-1]
    body = min(WINDOW_PIECES - 2, len(stream))
    starts = np.unique(np.linspace(0, len(stream) - body, CALIBRATION_WINDOWS).astype(int))
    return [[first, *stream[s : s + body], last] for s in starts]


def quantize(fp32_onnx: Path, windows: list[list[int]], output: Path) -> None:
    """NNCF post-training quantisation (transformer preset: SmoothQuant, int8 MatMuls), one window
    per calibration sample, no padding."""
    import nncf
    import numpy as np
    import openvino as ov

    model = ov.Core().read_model(str(fp32_onnx))
    names = {port.get_any_name() for port in model.inputs}
    samples = []
    for window in windows:
        ids = np.array([window], dtype=np.int64)
        sample = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in names:
            sample["token_type_ids"] = np.zeros_like(ids)
        samples.append(sample)
    quantized = nncf.quantize(
        model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples)
    )
    ov.save_model(quantized, str(output), compress_to_fp16=False)


def main(argv: list[str] | None = None) -> int:
    from rag.runtime.offline import prepare_offline_environment

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m rag.embedding.openvino_export MODEL_DIR CACHE_DIR", file=sys.stderr)
        return 2
    prepare_offline_environment()  # NNCF reports usage to Google Analytics unless told not to
    print(build_to_cache(args[0], args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
