"""One deadline per answer: how long connecting, the first token and the whole answer may take.

A question in llm mode starts one ``Deadline``; the query translation and the answer both spend
from it, so retries, translation and a server that trickles tokens never stretch a question past
``llm_timeout``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rag.config import Settings


@dataclass(frozen=True)
class LLMTimeouts:
    """Seconds allowed for connecting, for the first token after a request, and for everything."""

    connect: float
    first_token: float
    total: float

    @classmethod
    def of(cls, settings: Settings) -> LLMTimeouts:
        return cls(settings.llm_connect_timeout, settings.llm_first_token_timeout, settings.llm_timeout)

    def start(self) -> Deadline:
        return Deadline(self)


@dataclass
class Deadline:
    """A running clock against ``LLMTimeouts``; ``cap`` narrows the total for one part of the work."""

    timeouts: LLMTimeouts
    started: float = field(default_factory=time.monotonic)
    cap: float | None = None

    def remaining(self) -> float:
        total = self.timeouts.total if self.cap is None else min(self.timeouts.total, self.cap)
        return total - (time.monotonic() - self.started)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def capped(self, seconds: float) -> Deadline:
        """The same clock, ending at most ``seconds`` from now (never later than this deadline)."""
        cap = self.elapsed() + seconds
        return Deadline(self.timeouts, self.started, cap if self.cap is None else min(cap, self.cap))
