"""Document text on a terminal: control characters made visible, so text never acts as a command.

A document can hold ``ESC]0;title BEL`` (sets the window title), ``ESC[2J`` (clears the screen),
colours, a carriage return that overwrites the line, or bidirectional overrides that reorder what
is shown. Printed raw, they act; ``visible`` shows each as a harmless character instead.
``json_line`` does the same for JSON output: ``json.dumps`` escapes C0 controls but, with
``ensure_ascii=False``, passes DEL, the C1 controls (U+009B is a one-character CSI) and the
bidirectional controls through.
"""

from __future__ import annotations

import json
from typing import Any

_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"}  # ESC -> ␛
_BIDI_CONTROLS = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPED = [0x7F, *range(0x80, 0xA0), *_BIDI_CONTROLS, 0x2028, 0x2029]

_VISIBLE = str.maketrans({**_C0_PICTURES, 0x7F: "␡", **{code: f"<U+{code:04X}>" for code in _ESCAPED if code != 0x7F}})
_JSON_ESCAPES = str.maketrans({code: f"\\u{code:04x}" for code in _ESCAPED})


def visible(text: str) -> str:
    """``text`` with every control character except newline and tab shown as a visible symbol."""
    return text.translate(_VISIBLE)


def json_line(value: Any) -> str:
    """One line of JSON, readable UTF-8, with every character a terminal could act on escaped."""
    return json.dumps(value, ensure_ascii=False).translate(_JSON_ESCAPES)
