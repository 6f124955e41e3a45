"""ONNX Runtime versions of a local sentence-transformers model: exported once, cached, reused.

The transformer of a sentence-transformers folder (e.g. all-MiniLM-L6-v2) is exported to ONNX with
torch (the only step that needs torch; eager attention, so that ONNX Runtime's BERT optimizer can
fuse attention, layer norms and GELU), optionally quantised to int8 (dynamic, per-channel weights
of the MatMuls and attention projections; per-tensor int8 loses too much: cosine to fp32 down to
0.77, against >= 0.97 per-channel), and cached in
``<cache>/<key>/model.onnx``. The key covers the model folder (path, sizes and modification times
of its weights and configuration), the export recipe version and the precision, so a changed
model or recipe never reuses a stale file. Files are written to a temporary folder and renamed
into place: an interrupted export leaves no half-written model that a later run would trust.

Export and quantisation run in a child process (``python -m rag.embedding.onnx_export``): the serving or
ingesting process never imports torch and never holds its memory.

Pooling (mean over the attention mask, or CLS) and L2 normalisation happen in numpy, as in
sentence-transformers' Pooling and Normalize modules.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Bump when the export or quantisation recipe changes: cached files of older recipes are ignored.
EXPORT_VERSION = "2"
PRECISIONS = ("fp32", "int8")
_KEY_FILES = (
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tokenizer.json",
    "sentence_bert_config.json",
    "modules.json",
    "1_Pooling/config.json",
)


class OnnxExportError(RuntimeError):
    """The model could not be exported (not a local transformer folder, or torch failed)."""


@dataclass(frozen=True)
class ModelSpec:
    """What the runtime needs besides the ONNX graph: tokenizer, length limit, pooling."""

    model_dir: Path
    max_seq_length: int
    pooling: str  # "mean" or "cls"
    input_names: tuple[str, ...]

    @property
    def tokenizer_file(self) -> Path:
        return self.model_dir / "tokenizer.json"


def read_model_spec(model_dir: str | Path) -> ModelSpec:
    """Tokenizer, sequence limit and pooling of a sentence-transformers folder (no torch)."""
    folder = Path(model_dir)
    if not (folder / "config.json").is_file() or not (folder / "tokenizer.json").is_file():
        raise OnnxExportError(
            f"{folder} is not a local transformer model folder with config.json and tokenizer.json."
        )
    max_len = 512
    st_config = folder / "sentence_bert_config.json"
    if st_config.is_file():
        max_len = int(json.loads(st_config.read_text(encoding="utf-8")).get("max_seq_length") or max_len)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    max_len = min(max_len, int(config.get("max_position_embeddings", max_len)))
    pooling = "mean"
    pooling_file = folder / "1_Pooling" / "config.json"
    if pooling_file.is_file():
        pooling_config = json.loads(pooling_file.read_text(encoding="utf-8"))
        if pooling_config.get("pooling_mode_cls_token") and not pooling_config.get("pooling_mode_mean_tokens"):
            pooling = "cls"
    uses_types = config.get("type_vocab_size", 0) > 1 and config.get("model_type") not in ("distilbert",)
    names = ("input_ids", "attention_mask") + (("token_type_ids",) if uses_types else ())
    return ModelSpec(folder.resolve(), max_len, pooling, names)


def cache_key(model_dir: str | Path, precision: str, version: str = EXPORT_VERSION, extra: tuple[str, ...] = ()) -> str:
    """Changes when the model folder, the recipe (``version``, ``extra`` inputs such as
    calibration files) or the precision changes (stat only: cheap)."""
    folder = Path(model_dir).resolve()
    parts = [str(folder), version, precision, *extra]
    for name in _KEY_FILES:
        path = folder / name
        if path.is_file():
            stat = path.stat()
            parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return f"{folder.name}-{precision}-v{version}-{digest}"


def cached_model_path(model_dir: str | Path, precision: str, cache_dir: str | Path) -> Path:
    return Path(cache_dir) / cache_key(model_dir, precision) / "model.onnx"


def ensure_onnx_model(model_dir: str | Path, precision: str, cache_dir: str | Path) -> Path:
    """The cached ONNX file for the model and precision, exporting it first if needed.

    The export runs in a child process so that this process never imports torch.
    """
    if precision not in PRECISIONS:
        raise OnnxExportError(f"Unknown ONNX precision {precision!r}; use one of {PRECISIONS}.")
    target = cached_model_path(model_dir, precision, cache_dir)
    build_in_child(target, model_dir, ["rag.embedding.onnx_export", str(model_dir), precision, str(cache_dir)], f"ONNX ({precision})")
    return target


def build_in_child(target: Path, model_dir: str | Path, module_and_args: list[str], what: str) -> None:
    """Run ``python -m <module_and_args>`` unless ``target`` exists; raise if it made no ``target``.

    Builders import torch (and quantisers): a child keeps them out of this process's memory."""
    if target.is_file():
        return
    read_model_spec(model_dir)  # fail early, with a clear message, on a folder that is no model
    result = subprocess.run([sys.executable, "-m", *module_and_args], capture_output=True, text=True)
    if result.returncode != 0 or not target.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise OnnxExportError(
            f"Exporting {model_dir} to {what} failed: {' / '.join(detail)}. "
            "Set RAG_EMBEDDING_RUNTIME=torch to use sentence-transformers instead."
        )


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """A temporary folder, renamed to ``target``'s folder when the block succeeds: readers see the
    whole folder or none, and an interrupted build leaves nothing that a later run would trust."""
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent.parent))
    try:
        yield work
        try:
            work.rename(target.parent)
        except OSError:
            if not target.is_file():  # not a concurrent builder that won the race
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def write_meta(work: Path, model_dir: str | Path, precision: str, version: str) -> None:
    meta = {"model_dir": str(Path(model_dir).resolve()), "precision": precision, "export_version": version}
    (work / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def export_to_cache(model_dir: str | Path, precision: str, cache_dir: str | Path) -> Path:
    """Export (and quantise) into the cache, atomically. Imports torch: run in a child process."""
    target = cached_model_path(model_dir, precision, cache_dir)
    if target.is_file():
        return target
    with atomic_folder(target) as work:
        fp32 = work / "fp32.onnx"
        export_fp32(model_dir, fp32)
        fuse_transformer(model_dir, fp32)
        if precision == "int8":
            quantize_int8(fp32, work / "model.onnx", work)
            fp32.unlink()
        else:
            fp32.rename(work / "model.onnx")
        write_meta(work, model_dir, precision, EXPORT_VERSION)
    return target


def export_fp32(model_dir: str | Path, output: Path) -> None:
    import torch
    from transformers import AutoModel

    spec = read_model_spec(model_dir)
    try:
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    except (TypeError, ValueError):
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.inner(**kwargs).last_hidden_state

    sample = torch.ones((2, 16), dtype=torch.int64)
    inputs = tuple(sample for _ in spec.input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in spec.input_names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(model),
            inputs,
            str(output),
            input_names=list(spec.input_names),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


FUSABLE_MODEL_TYPES = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "distilbert": "bert"}


def fuse_transformer(model_dir: str | Path, path: Path) -> bool:
    """Fuse attention, skip-layer-norm and GELU subgraphs in place (ONNX Runtime's transformer
    optimizer, no hardware-specific rewrites). Returns False, leaving the file, when it cannot."""
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    model_type = FUSABLE_MODEL_TYPES.get(config.get("model_type", ""))
    if model_type is None:
        return False
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(path),
            model_type=model_type,
            num_heads=int(config.get("num_attention_heads", 0)),
            hidden_size=int(config.get("hidden_size", 0)),
            opt_level=1,
        )
        fused = optimized.get_fused_operator_statistics()
        if not fused.get("Attention"):
            return False
        optimized.save_model_to_file(str(path))
    except Exception:  # an unknown architecture: the unfused graph is correct, only slower
        return False
    return True


def quantize_int8(source: Path, output: Path, work: Path) -> None:
    """Dynamic int8: per-channel weights of every MatMul and fused attention projection,
    activations quantised at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    cwd = os.getcwd()
    os.chdir(work)  # the quantiser may leave temporary files in the working directory
    try:
        quantize_dynamic(
            str(source),
            str(output),
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            weight_type=QuantType.QInt8,
            # Fused (com.microsoft) nodes defeat ONNX shape inference; their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        os.chdir(cwd)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[1] not in PRECISIONS:
        print("usage: python -m rag.embedding.onnx_export MODEL_DIR fp32|int8 CACHE_DIR", file=sys.stderr)
        return 2
    print(export_to_cache(args[0], args[1], args[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
