"""Where things are: the checkout under test, its seed texts, the offline guard."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
GUARD_DIR = Path(__file__).resolve().parent / "offline_guard"
GUARD_MESSAGE = "test network guard"  # what offline_guard's refusals say
