"""The same ingest/ask/retrieve behaviour against a real Chroma server (`chroma run`) on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SEEDS, make_settings
from rag.api import open_rag
from rag.errors import StoreError

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
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


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    if not CHROMA.exists():
        pytest.skip("the chroma command is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server_data")
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def server_rag(chroma_server, tmp_path, embedding, request):
    def factory(**overrides):
        collection = f"test_{request.node.name[:40]}".replace("[", "_").replace("]", "_")
        settings = make_settings(
            tmp_path / "unused-store",
            chroma_host="127.0.0.1",
            chroma_port=chroma_server,
            collection=collection,
            cache_dir=tmp_path / "cache",
            **overrides,
        )
        return open_rag(settings, embedding=embedding)

    return factory


def copy_seeds(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


def test_ingest_ask_and_retrieve_through_a_chroma_server(server_rag, tmp_path):
    rag = server_rag()
    report = rag.ingest(SEEDS)
    assert report.chunks_embedded == report.chunks_total > 0
    assert not (tmp_path / "unused-store").exists()  # nothing embedded on local disk
    answer = rag.ask("Who was banished to the Phantom Zone?")
    assert not answer.not_found and answer.citations
    for citation in answer.citations:
        text = (SEEDS / citation.source).read_text(encoding="utf-8")
        assert text[citation.start : citation.end] == citation.text
    passages = rag.retrieve("Morgan Edge", top_k=3)
    assert passages and passages[0].source == "001_acc81d348d7d4859.txt"
    assert "chroma server" in rag.info().location


def test_reingest_against_the_server_is_idempotent_and_tracks_changes(server_rag, tmp_path):
    folder = copy_seeds(tmp_path)
    rag = server_rag()
    rag.ingest(folder)
    again = rag.ingest(folder)
    assert again.chunks_embedded == 0 and not again.changed
    (folder / "001_acc81d348d7d4859.txt").unlink()
    target = folder / "002_835fa61d1c21454d.txt"
    target.write_text(target.read_text() + "\n\nClark plants a walnut tree.\n")
    changed = rag.ingest(folder)
    assert changed.files_removed == ["001_acc81d348d7d4859.txt"]
    assert changed.files_updated == ["002_835fa61d1c21454d.txt"]
    assert 0 < changed.chunks_embedded < 5
    assert rag.store().count() == changed.chunks_total
    assert all(p.source != "001_acc81d348d7d4859.txt" for p in rag.retrieve("Morgan Edge", top_k=10))


def test_an_unreachable_chroma_server_is_a_clear_error(tmp_path, embedding):
    settings = make_settings(tmp_path / "s", chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreError, match="Cannot reach the Chroma server"):
        open_rag(settings, embedding=embedding).ask("Who is Clark?")
