"""What the benchmark ran on: CPU (from lscpu), RAM, load, Python and runtime versions."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

SIMD_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8")


def lscpu() -> dict[str, str]:
    """lscpu's "key: value" lines (empty when lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return {}
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def machine_description() -> str:
    """One line: CPU model, CPUs, Python, kernel (the footer of the XQuAD reports)."""
    fields = lscpu()
    model, cores = fields.get("Model name", "?"), fields.get("CPU(s)", "?")
    return f"{model}, {cores} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def machine_info() -> dict[str, Any]:
    """CPU, SIMD flags, RAM, load average and library versions (the header of RESULTS.md)."""
    import onnxruntime
    import openvino
    import torch

    from rag import Settings

    fields = lscpu()
    flags = fields.get("Flags", "").split()
    meminfo = Path("/proc/meminfo").read_text()
    return {
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "cpu": fields.get("Model name") or platform.processor(),
        "simd": " ".join(f for f in SIMD_FLAGS if f in flags),
        "ram_gb": round(int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1)) / 1024**2, 1),
        "load_average": os.getloadavg(),
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.__version__.split("-")[0],
        "torch": torch.__version__,
        "embedding_runtime": Settings().embedding_runtime,
    }
