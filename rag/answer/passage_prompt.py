"""The passages as the model sees them: each between delimiters that passage text cannot forge.

Every request gets a fresh random code; a passage opens with ``<<<PASSAGE n CODE>>>`` and closes
with ``<<<END PASSAGE n CODE>>>``. A document cannot know the code, so text inside a passage that
imitates a header, a closing delimiter or a new instruction stays inside its passage, and the
system prompt (prompts/answer_system.txt) tells the model that only delimiters with the code count.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from rag.answer.prompts import language_name
from rag.types import Passage


def new_delimiter_code() -> str:
    return secrets.token_hex(8)


def delimit_passages(passages: Sequence[Passage], code: str) -> str:
    return "\n\n".join(_delimited(number, passage, code) for number, passage in enumerate(passages, start=1))


def _delimited(number: int, passage: Passage, code: str) -> str:
    title = " ".join(without_code(passage.title, code).split())  # one line: it cannot open a line of its own
    header = f"[{number}] ({title}; {language_name(passage.language)})"
    body = without_code(passage.text, code)
    return f"<<<PASSAGE {number} {code}>>>\n{header}\n{body}\n<<<END PASSAGE {number} {code}>>>"


def without_code(text: str, code: str) -> str:
    """``text`` with no occurrence of ``code`` (which it holds only by design, never by chance);
    repeated, because removing one occurrence can join the pieces of another."""
    while code in text:
        text = text.replace(code, "")
    return text
