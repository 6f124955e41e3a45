"""Ingests started from the web app run in a background thread, one at a time, so the page and
other people's questions keep going while documents are embedded (questions answer from the
previous index version meanwhile; see Rag.ingest)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rag.errors import RagError
from rag.types import IngestReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobStatus:
    running: bool
    text: str  # what is happening or what happened last, for a person
    finished: int  # how many jobs have finished: a change means the library should be re-read


class IngestBusyError(RagError):
    """An ingest was asked for while another one runs."""


class BackgroundIngest:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: str | None = None
        self._started = 0.0
        self._last = ""
        self._finished = 0

    def start(self, description: str, work: Callable[[], IngestReport]) -> bool:
        """Run ``work`` in a thread; False (and nothing started) while another job runs."""
        with self._lock:
            if self._running is not None:
                return False
            self._running, self._started = description, time.monotonic()
        threading.Thread(target=self._run, args=(description, work), name="rag-web-ingest", daemon=True).start()
        return True

    def run_now(self, description: str, work: Callable[[], IngestReport]) -> str:
        """Run ``work`` in the calling thread (for tools that wait for the result); its summary.
        Raises ``IngestBusyError`` while another job runs."""
        with self._lock:
            if self._running is not None:
                raise IngestBusyError(self.busy_text_locked())
            self._running, self._started = description, time.monotonic()
        last = f"⚠️ {description} was interrupted."
        try:
            summary = work().summary()
            last = f"Done: {description}. {summary}"
            return summary
        except Exception as error:
            last = f"⚠️ {description} failed: {error}"
            raise
        finally:
            with self._lock:
                self._running, self._last = None, last
                self._finished += 1

    def _run(self, description: str, work: Callable[[], IngestReport]) -> None:
        try:
            result = f"Done: {description}. {work().summary()}"
        except RagError as error:
            result = f"⚠️ {description} failed: {error}"
        except Exception as error:  # a failed job is reported on the page; the app keeps serving
            log.exception("unexpected error in a background ingest")
            result = f"⚠️ {description} failed ({type(error).__name__}: {error})."
        with self._lock:
            self._running, self._last = None, result
            self._finished += 1

    def status(self) -> JobStatus:
        with self._lock:
            if self._running is not None:
                seconds = time.monotonic() - self._started
                return JobStatus(True, f"⏳ {self._running}… ({seconds:.0f} s)", self._finished)
            return JobStatus(False, self._last, self._finished)

    def busy_text(self) -> str:
        with self._lock:
            return self.busy_text_locked()

    def busy_text_locked(self) -> str:
        if self._running is None:
            return "Another ingest just finished; try again."
        seconds = time.monotonic() - self._started
        return f"Another ingest is running ({self._running}, {seconds:.0f} s so far); try again when it has finished."
