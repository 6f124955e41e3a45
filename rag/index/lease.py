"""One writer at a time per store: a lease record in the store itself.

The record lives in the store's control collection (``<collection>_control``), so it works the
same for the embedded store and for a Chroma server shared by several machines. Taking it relies
on two properties of Chroma: ``add`` of an id that exists is ignored (the first writer's record
stays), and ``delete`` with a ``where`` filter removes a record only while it still names the given
owner (so two processes that both find an expired lease cannot delete each other's new one).

The holder renews the lease from a background thread; a writer killed with SIGKILL stops
renewing, and its lease is taken over when it expires, or at once when it names a process of this
machine that no longer exists.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from rag.errors import StoreBusyError

log = logging.getLogger(__name__)

LEASE_ID = "writer"
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class LeaseHolder:
    owner: str
    host: str
    pid: int
    started: float
    expires: float

    def describe(self) -> str:
        since = time.strftime("%H:%M:%S", time.localtime(self.started))
        return f"process {self.pid} on {self.host}, writing since {since}"

    def is_dead(self) -> bool:
        """Expired, or a process of this machine that no longer runs."""
        if self.expires < time.time():
            return True
        if self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # runs under another user: alive
            return False
        return False


class WriterLease:
    """Held while an ingest writes to a store; use as a context manager."""

    def __init__(self, control: Any, location: str, lease_seconds: float, wait_seconds: float):
        self.control = control
        self.location = location
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.owner = uuid.uuid4().hex
        self.started = time.time()
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> WriterLease:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_seconds
        announced = False
        while True:
            self.control.add(ids=[LEASE_ID], embeddings=[[1.0]], metadatas=[self._metadata()])
            holder = self.holder()
            if holder is not None and holder.owner == self.owner:
                break
            if holder is None:
                continue  # released between our add and our read: try again at once
            if holder.is_dead():
                log.warning("taking over the write lease of %s at %s (it stopped)", holder.describe(), self.location)
                self.control.delete(ids=[LEASE_ID], where={"owner": holder.owner})
                continue
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"Another ingest ({holder.describe()}) is writing to the index at {self.location}; "
                    f"waited {self.wait_seconds:.0f} s. Try again when it has finished (questions are "
                    "answered meanwhile), or raise write_wait_seconds (RAG_WRITE_WAIT_SECONDS)."
                )
            if not announced:
                log.warning(
                    "waiting up to %.0f s for another ingest (%s) to finish writing to %s",
                    self.wait_seconds, holder.describe(), self.location,
                )
                announced = True
            time.sleep(POLL_SECONDS)
        self._renewer = threading.Thread(target=self._renew_until_released, name="rag-write-lease", daemon=True)
        self._renewer.start()

    def check(self) -> None:
        """Raise if the lease was lost (renewal failed long enough for another writer to take it)."""
        if self._lost.is_set():
            raise StoreBusyError(
                f"This ingest lost its write lease on {self.location} (it could not renew it for "
                f"{self.lease_seconds:.0f} s) and stopped; run the ingest again."
            )

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self.control.delete(ids=[LEASE_ID], where={"owner": self.owner})
        except Exception:  # the store may be gone (rebuild) or unreachable: the lease expires anyway
            log.debug("could not release the write lease", exc_info=True)

    def holder(self) -> LeaseHolder | None:
        result = self.control.get(ids=[LEASE_ID], include=["metadatas"])
        if not result["ids"]:
            return None
        metadata = result["metadatas"][0]
        return LeaseHolder(
            owner=metadata["owner"],
            host=metadata["host"],
            pid=int(metadata["pid"]),
            started=float(metadata["started"]),
            expires=float(metadata["expires"]),
        )

    def _metadata(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self.started,
            "expires": time.time() + self.lease_seconds,
        }

    def _renew_until_released(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                holder = self.holder()
                if holder is None or holder.owner != self.owner:
                    self._lost.set()
                    return
                self.control.upsert(ids=[LEASE_ID], embeddings=[[1.0]], metadatas=[self._metadata()])
            except Exception:  # a transient failure: the next round tries again before expiry
                log.warning("could not renew the write lease on %s", self.location, exc_info=True)
