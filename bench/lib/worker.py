"""The worker side of bench.lib.children.run_json: one measurement per process, one JSON line out."""

from __future__ import annotations

import json
import resource
from typing import Any


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_result(result: dict[str, Any]) -> None:
    print(json.dumps(result))
