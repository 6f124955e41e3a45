"""How OpenVINO compiles a model for questions (the English model and the meaning model alike)."""

from __future__ import annotations

from typing import Any


def query_session_config(threads: int) -> dict[str, Any]:
    """How a model is compiled for questions: for latency, on ``threads`` threads, not pinned to
    cores. Pinned, the English model's and the meaning model's one-thread streams both sat on the
    first core, so a question's two vectors, computed at once, took turns on it (bench/notes.md,
    "The two question vectors at once")."""
    return {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads, "ENABLE_CPU_PINNING": False}
