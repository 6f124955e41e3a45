"""Which vectors a configured embedding makes: equal fingerprints mean interchangeable vectors.

The store keeps the fingerprint with every chunk, so vectors of different models, runtimes or
precisions are never mixed.
"""

from __future__ import annotations

from rag.config import Settings


def embedding_fingerprint(settings: Settings) -> str:
    """Identifies the vectors the configured embedding makes (cheap: loads nothing).

    The torch runtime and API models keep the model name alone (stores built before the ONNX
    runtime existed stay valid); ONNX and OpenVINO runtimes add precision and recipe version.
    """
    if settings.embedding_backend == "local" and settings.embedding_runtime != "torch":
        runtime = settings.embedding_runtime
        inference = settings.openvino_precision if runtime == "openvino-int8" else "f32"
        return exported_model_fingerprint(settings.embedding_model, runtime, inference)
    return settings.embedding_model


def exported_model_fingerprint(model_path: str, runtime: str, inference_precision: str = "f32") -> str:
    """Model, runtime and the version of the recipe that built the runtime's model file; and the
    precision of the model's non-int8 operations when not f32 (a store never mixes bf16 and
    f32 vectors; f32 keeps the fingerprint of stores made before bf16 existed)."""
    if runtime == "openvino-int8":
        from rag.embedding.openvino_export import RECIPE_VERSION as version
    else:
        from rag.embedding.onnx_export import EXPORT_VERSION as version
    fingerprint = f"{model_path}|{runtime}-v{version}"
    return fingerprint if inference_precision == "f32" else f"{fingerprint}|{inference_precision}"
