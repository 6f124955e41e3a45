"""``chroma run`` as a real subprocess on 127.0.0.1, for the tests of the Chroma server mode."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.environment import child_environment
from support.ports import free_port

CHROMA = Path(sys.executable).parent / "chroma"
START_TIMEOUT = 30.0


def chroma_installed() -> bool:
    return CHROMA.exists()


def wait_until_listening(port: int, process: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("chroma run did not start listening in time")


@contextmanager
def running_chroma_server(data_dir: Path) -> Iterator[int]:
    """A Chroma server keeping its data in ``data_dir``; yields its port, stops it on exit."""
    port = free_port()
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        env=child_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
