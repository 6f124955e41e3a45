"""Start the Gradio app (``python app.py``) as a real subprocess for the API and browser tests.

    with running_app(tmp_dir) as server:
        server.url          # "http://127.0.0.1:<port>/"
        server.log_text()   # everything the app printed so far

Each app gets its own temporary store (``RAG_STORE_DIR``) and its own copy of ``seeds/``
(``RAG_SOURCE_DIR``), so the first start ingests the copy and nothing the tests do (adding or
deleting documents) touches the repository. The app runs in support.environment's child
environment: the offline guard's ``sitecustomize.py`` refuses every non-loopback connection inside
the app process, which proves the app makes no outbound calls (a refused attempt shows up in the
log as "test network guard").

Test modules use the module-scoped ``app_server`` fixture (conftest.py): one app per module.
When a test of the module failed, the app's log is printed at the end of the module.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.environment import child_environment
from support.paths import REPO
from support.ports import free_port
from support.seeds import copy_seeds

START_TIMEOUT = 120.0  # the first start ingests the seeds and loads the embedding model


class AppStartError(RuntimeError):
    pass


@dataclass
class AppServer:
    url: str
    port: int
    process: subprocess.Popen
    log_path: Path
    store_dir: Path
    source_dir: Path

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None


def app_environment(store_dir: Path, source_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child environment with the app's store and source folder (RAG_CACHE_DIR is not set, so
    the cache is <store_dir>/rag-cache, inside the temporary folder)."""
    return child_environment(
        {
            "RAG_STORE_DIR": str(store_dir),
            "RAG_SOURCE_DIR": str(source_dir),
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            **(extra or {}),
        }
    )


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _start(work_dir: Path, store_dir: Path, source_dir: Path, timeout: float, env: dict[str, str]) -> AppServer:
    """Start the app on a free port; retry with another port if the chosen one got taken meanwhile."""
    last_log = ""
    for attempt in range(3):
        port = free_port()
        log_path = work_dir / f"app-{port}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in pytest reaches pytest only; we stop the app ourselves
            )
        server = AppServer(f"http://127.0.0.1:{port}/", port, process, log_path, store_dir, source_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers_200(server.url):
                return server
            if not server.alive():
                break
            time.sleep(0.5)
        _stop(process)
        last_log = server.log_text()
        port_taken = "address already in use" in last_log.lower() or "cannot find empty port" in last_log.lower()
        if not (port_taken and attempt < 2):
            reason = f"exited with code {process.returncode}" if process.returncode not in (None, -15) else (
                f"did not answer GET / with 200 within {timeout:.0f} s"
            )
            raise AppStartError(f"The app {reason}. Its log:\n{last_log}")
    raise AppStartError(f"The app could not find a free port. Its log:\n{last_log}")


@contextmanager
def running_app(
    work_dir: Path, *, timeout: float = START_TIMEOUT, env: dict[str, str] | None = None
) -> Iterator[AppServer]:
    """The app serving a fresh store built from a temporary copy of seeds/; stopped on exit."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    source_dir = work_dir / "seeds"
    store_dir = work_dir / "store"
    if not source_dir.exists():
        copy_seeds(source_dir)
    server = _start(work_dir, store_dir, source_dir, timeout, app_environment(store_dir, source_dir, env))
    try:
        yield server
    finally:
        _stop(server.process)


def _print_outside_capture(config: pytest.Config, text: str) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(text, file=sys.stderr)
        return
    with capture.global_and_fixture_disabled():
        print(text, file=sys.stderr, flush=True)


def serve_app_for_module(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The body of the module-scoped ``app_server`` fixture: one running app per test module."""
    yield from serve_app(request, tmp_path_factory.mktemp("app"))


def serve_app(request: pytest.FixtureRequest, work_dir: Path, timeout: float = START_TIMEOUT) -> Iterator[AppServer]:
    """A running app for the requesting module, its log printed if a test of the module failed.
    Put files into ``work_dir / "seeds"`` first to serve another corpus than a copy of seeds/."""
    failed_before = request.session.testsfailed
    with running_app(work_dir, timeout=timeout) as server:
        yield server
        failed = request.session.testsfailed > failed_before or not server.alive()
    if failed:
        name = request.module.__name__ if request.module else "module"
        _print_outside_capture(
            request.config,
            f"\n===== app server log ({name}, {server.url}) =====\n{server.log_text()}\n===== end of app server log =====",
        )
