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
    subject: str | None = None  # the document the running or last job is about (None: the folder, several files)
    outcome: str = ""  # the last finished job's own result (its summary, or what went wrong), for that document's row
    failed: bool = False  # whether the last finished job failed


class IngestBusyError(RagError):
    """An ingest was asked for while another one runs."""


class BackgroundIngest:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: str | None = None
        self._subject: str | None = None
        self._started = 0.0
        self._last = ""
        self._outcome = ""
        self._failed = False
        self._finished = 0

    def start(self, description: str, work: Callable[[], IngestReport], subject: str | None = None) -> bool:
        """Run ``work`` in a thread; False (and nothing started) while another job runs.
        ``subject``: the one document the job is about, whose library row shows its progress and outcome."""
        if not self._claim(description, subject):
            return False
        threading.Thread(target=self._run, args=(description, work), name="rag-web-ingest", daemon=True).start()
        return True

    def run_now(self, description: str, work: Callable[[], IngestReport], subject: str | None = None) -> IngestReport:
        """Run ``work`` in the calling thread (for tools that wait for the result); its report.
        Raises ``IngestBusyError`` while another job runs."""
        if not self._claim(description, subject):
            raise IngestBusyError(self.busy_text())
        outcome, failed = "it was interrupted.", True
        try:
            report = work()
            outcome, failed = report.summary(), False
            return report
        except Exception as error:
            outcome = str(error)
            raise
        finally:
            self._finish(description, outcome, failed)

    def _claim(self, description: str, subject: str | None) -> bool:
        with self._lock:
            if self._running is not None:
                return False
            self._running, self._subject, self._started = description, subject, time.monotonic()
            return True

    def _run(self, description: str, work: Callable[[], IngestReport]) -> None:
        try:
            outcome, failed = work().summary(), False
        except RagError as error:
            outcome, failed = str(error), True
        except Exception as error:  # a failed job is reported on the page; the app keeps serving
            log.exception("unexpected error in a background ingest")
            outcome, failed = f"{type(error).__name__}: {error}", True
        self._finish(description, outcome, failed)

    def _finish(self, description: str, outcome: str, failed: bool) -> None:
        with self._lock:
            self._last = f"⚠️ {description} failed: {outcome}" if failed else f"Done: {description}. {outcome}"
            self._running, self._outcome, self._failed = None, outcome, failed
            self._finished += 1

    def status(self) -> JobStatus:
        with self._lock:
            if self._running is not None:
                seconds = time.monotonic() - self._started
                return JobStatus(True, f"⏳ {self._running}… ({seconds:.0f} s)", self._finished, self._subject)
            return JobStatus(False, self._last, self._finished, self._subject, self._outcome, self._failed)

    def busy_text(self) -> str:
        with self._lock:
            if self._running is None:
                return "Another ingest just finished; try again."
            seconds = time.monotonic() - self._started
            return f"Another ingest is running ({self._running}, {seconds:.0f} s so far); try again when it has finished."
