"""The app's stylesheet and script (rag/web/static/), read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


@cache
def css() -> str:
    return (STATIC / "app.css").read_text(encoding="utf-8")


@cache
def head_script() -> str:
    return f"<script>\n{(STATIC / 'app.js').read_text(encoding='utf-8')}\n</script>"


@cache
def library_script() -> str:
    """The body of the library's js_on_load (rag.web.library)."""
    return (STATIC / "library.js").read_text(encoding="utf-8")
