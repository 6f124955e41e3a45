"""A table read in place: lines sorted by key, looked up by binary search over the text itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class SortedLines:
    """Lines ``key<TAB>value`` (or bare keys), sorted by key, as one string.

    A lookup is a binary search over the text, so a table of 280,000 words is usable the moment its
    string is loaded: building a dict of it costs a cold start ~0.3 s of CPU, while the gloss of a
    quote needs a few dozen lookups (bench/notes.md, "A cold start without building the gloss
    tables"). Keys and values hold no tab or newline.
    """

    def __init__(self, text: str):
        self.text = text

    @classmethod
    def of(cls, table: Mapping[str, str] | Iterable[str]) -> SortedLines:
        """A table from a mapping (``key<TAB>value`` lines) or from keys alone."""
        if isinstance(table, Mapping):
            return cls("\n".join(f"{key}\t{table[key]}" for key in sorted(table)))
        return cls("\n".join(sorted(table)))

    def get(self, key: str) -> str | None:
        line = self._line(key)
        return None if line is None else line[len(key) + 1 :]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._line(key) is not None

    def items(self) -> Iterable[tuple[str, str]]:
        for line in self.text.split("\n"):
            if line:
                key, _, value = line.partition("\t")
                yield key, value

    def _line(self, key: str) -> str | None:
        text = self.text
        low, high = 0, len(text)  # both at the start of a line
        while low < high:
            middle = (low + high) // 2
            start = text.rfind("\n", 0, middle) + 1
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            line = text[start:end]
            found = line.split("\t", 1)[0]
            if found == key:
                return line
            if found < key:
                low = end + 1
            else:
                high = start
        return None
