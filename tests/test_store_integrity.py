"""No silent data loss: one writer at a time, the store checked against its manifest and repaired,
metadata checked before writing, damaged snapshots rebuilt, interrupted ingests completed, exact
offsets for any text encoding, and questions answered while an ingest runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from rag.errors import CorpusError, IncompleteStoreError, StoreBusyError, StoreError
from rag.index import snapshot
from rag.index.lease import LEASE_ID
from support.environment import child_environment
from support.paths import REPO, SEEDS
from support.settings import make_settings

GERMAN = "000_10d9073bc3f8410e.txt"
ENGLISH = "002_835fa61d1c21454d.txt"


def copy_seeds(tmp_path, name="corpus"):
    folder = tmp_path / name
    shutil.copytree(SEEDS, folder)
    return folder


def store_contents(rag):
    """Everything a reader's index is built from: manifest, chunk ids and texts, gloss hashes."""
    store = rag.store()
    chunks = sorted((c.chunk_id, c.text, c.metadata["title"], c.metadata["language"]) for c in store.current_chunks())
    return store.file_records(), chunks, store.glosses.hashes(), store.count()


def assert_slices_sources(passages, folder):
    for passage in passages:
        text = open(folder / passage.source, encoding="utf-8").read()
        assert text[passage.start : passage.end] == passage.text


# --- one writer at a time ----------------------------------------------------------------------------


def test_an_ingest_into_a_store_another_writer_holds_gives_up_with_a_message_naming_that_writer(tmp_path, fresh_rag):
    rag = fresh_rag(write_wait_seconds=0.5)
    rag.ingest(copy_seeds(tmp_path))
    with rag.store().writer_lease():
        with pytest.raises(StoreBusyError, match=rf"Another ingest \(process {os.getpid()} on .*waited"):
            rag.ingest(copy_seeds(tmp_path, "other"), verify=True)
    assert rag.retrieve("Phantom Zone", top_k=1)  # questions were never blocked


def test_a_waiting_ingest_proceeds_once_the_other_writer_releases_the_lease(tmp_path, fresh_rag):
    rag = fresh_rag(write_wait_seconds=60)
    rag.ingest(copy_seeds(tmp_path))
    other = copy_seeds(tmp_path, "other")
    (other / "extra.txt").write_text("The lighthouse keeper of Smallville lights the lamp at dusk.\n")
    lease = rag.store().writer_lease()
    lease.acquire()
    threading.Timer(1.5, lease.release).start()
    started = time.monotonic()
    report = rag.ingest(other)
    assert time.monotonic() - started >= 1.0
    assert report.files_added == ["extra.txt"]
    assert rag.verify().ok


def test_two_ingests_of_different_folders_at_once_leave_a_store_equal_to_one_of_them(tmp_path, fresh_rag):
    one, two = copy_seeds(tmp_path, "one"), copy_seeds(tmp_path, "two")
    (two / GERMAN).unlink()
    (two / "extra.txt").write_text("The lighthouse keeper of Smallville lights the lamp at dusk.\n")
    first, second = fresh_rag(ingest_window=4), fresh_rag(ingest_window=4)
    first.ingest(SEEDS)
    errors, reports = [], []

    def ingest(rag, folder):
        try:
            reports.append(rag.ingest(folder, verify=True))
        except Exception as error:  # collected: the test asserts there are none
            errors.append(error)

    threads = [threading.Thread(target=ingest, args=a) for a in ((first, one), (second, two))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(reports) == 2
    check = first.verify()
    assert check.ok and check.chunks_unvouched == 0
    last = reports[-1]
    assert sorted(first.store().file_records()) == sorted(last.files_unchanged + last.files_added + last.files_updated)


def test_two_ingest_processes_at_once_either_take_turns_or_one_gives_up_clearly(tmp_path, fresh_rag):
    one, two = copy_seeds(tmp_path, "one"), copy_seeds(tmp_path, "two")
    (two / GERMAN).unlink()
    (two / "extra.txt").write_text("The lighthouse keeper of Smallville lights the lamp at dusk.\n")
    store = tmp_path / "store"
    env = child_environment({"RAG_INGEST_WINDOW": "4"})
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "rag", "ingest", "--source", str(folder), "--store", str(store), "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
        )
        for folder in (one, two)
    ]
    outcomes = [(p.wait(timeout=600), *p.communicate()) for p in processes]
    for code, _, stderr in outcomes:
        assert code == 0 or (code == 2 and "Another ingest (process" in stderr), stderr
        assert "unexpected" not in stderr
    assert any(code == 0 for code, _, _ in outcomes)
    rag = fresh_rag()
    assert rag.verify().ok
    sources = set(rag.store().file_records())
    assert sources in ({p.name for p in one.glob("*.txt")}, {p.name for p in two.glob("*.txt")})
    assert rag.store().count() == sum(r.n_chunks for r in rag.store().file_records().values())


OPEN_NEW_STORE = """
import sys
from rag.config import Settings
from rag.index.store import ChunkStore
store = ChunkStore(Settings(store_dir=sys.argv[1]), create=True)
store.control, store.glosses, store.meaning
"""


def test_processes_that_create_the_same_new_store_at_once_all_succeed(tmp_path):
    # Without the creation lock, 3 of 32 such openings failed with "table collections already exists".
    env = child_environment()
    for round_ in range(4):
        store = tmp_path / f"store{round_}"
        processes = [
            subprocess.Popen([sys.executable, "-c", OPEN_NEW_STORE, str(store)], stderr=subprocess.PIPE,
                             text=True, env=env, cwd=REPO)
            for _ in range(4)
        ]
        failures = [stderr for p in processes if (stderr := p.communicate(timeout=300)[1]) and p.returncode]
        assert failures == []


def test_the_lease_of_a_writer_that_died_is_taken_over_at_once(tmp_path, fresh_rag):
    rag = fresh_rag(write_wait_seconds=0)
    rag.ingest(copy_seeds(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    metadata = {"owner": "killed", "host": socket.gethostname(), "pid": int(dead.stdout), "started": time.time(),
                "expires": time.time() + 3600}
    rag.store().control.add(ids=[LEASE_ID], embeddings=[[1.0]], metadatas=[metadata])
    assert rag.ingest(copy_seeds(tmp_path, "again"), verify=True).files_seen == 3


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(tmp_path, fresh_rag):
    rag = fresh_rag(write_wait_seconds=0)
    rag.ingest(copy_seeds(tmp_path))
    control = rag.store().control
    live = {"owner": "elsewhere", "host": "another-host", "pid": 1, "started": time.time(), "expires": time.time() + 3600}
    control.add(ids=[LEASE_ID], embeddings=[[1.0]], metadatas=[live])
    with pytest.raises(StoreBusyError, match="process 1 on another-host"):
        rag.ingest(verify=True)
    control.upsert(ids=[LEASE_ID], embeddings=[[1.0]], metadatas=[{**live, "expires": time.time() - 1}])
    assert rag.ingest(verify=True).files_seen == 3
    assert control.get(ids=[LEASE_ID])["ids"] == []  # released at the end


# --- the manifest against the store --------------------------------------------------------------------


def test_chunks_deleted_from_the_store_are_found_by_verify_and_restored_by_the_next_ingest(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path)
    rag = fresh_rag()
    rag.ingest(folder)
    expected = store_contents(rag)
    victims = [c.chunk_id for c in rag.store().current_chunks() if c.metadata["source"] == ENGLISH][:5]
    rag.store().chunks.delete(ids=victims)

    check = rag.verify()
    assert not check.ok and check.files_missing_chunks == [ENGLISH] and check.chunks_missing == 5
    report = rag.ingest(folder)
    assert report.files_repaired == [ENGLISH]
    assert report.chunks_embedded == 5  # the other chunks keep their vectors
    assert store_contents(rag) == expected
    assert rag.verify().ok


def test_info_verify_on_the_command_line_reports_and_repairs_missing_chunks(tmp_path, fresh_rag, capsys):
    from rag.cli import main

    folder = copy_seeds(tmp_path)
    rag = fresh_rag()
    rag.ingest(folder)
    victims = [c.chunk_id for c in rag.store().current_chunks() if c.metadata["source"] == GERMAN][:3]
    rag.store().chunks.delete(ids=victims)
    store = str(rag.settings.store_dir)
    assert main(["info", "--verify", "--json", "--store", store, "--source", str(folder)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] is False
    assert result["check"]["files_missing_chunks"] == [GERMAN] and result["check"]["chunks_missing"] == 3
    assert result["repair"]["files_repaired"] == [GERMAN]
    assert main(["info", "--verify", "--store", store, "--source", str(folder)]) == 0
    assert "verified: every chunk and gloss" in capsys.readouterr().out


# --- metadata ------------------------------------------------------------------------------------------


def write_metadata(folder, **changes):
    path = folder / "sources.json"
    data = json.loads(path.read_text())
    for source, fields in changes.items():
        data["documents"][source.replace("__", ".")].update(fields)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"language": "klingon"}, r"language of '002_835fa61d1c21454d.txt' is 'klingon'; use one of en, de"),
        ({"title": 7}, r"'title' of '002_835fa61d1c21454d.txt' must be a string"),
        ({"langauge": "en"}, r"unknown keys \['langauge'\]"),
    ],
)
def test_invalid_metadata_is_refused_before_anything_is_written(tmp_path, fresh_rag, entry, message):
    folder = copy_seeds(tmp_path)
    rag = fresh_rag()
    rag.ingest(folder)
    before = store_contents(rag)
    write_metadata(folder, **{ENGLISH.replace(".", "__"): entry})
    with pytest.raises(CorpusError, match=message):
        rag.ingest(folder)
    assert store_contents(rag) == before
    assert rag.ask("Who was banished to the Phantom Zone?").citations


def test_an_edited_title_or_language_is_applied_on_the_next_ingest_without_reembedding(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path)
    rag = fresh_rag()
    rag.ingest(folder)
    german_glosses = rag.store().glosses.count()
    write_metadata(folder, **{ENGLISH.replace(".", "__"): {"title": "The Phantom Zone, retitled"},
                              GERMAN.replace(".", "__"): {"language": "en"}})
    report = rag.ingest(folder)
    assert sorted(report.files_updated) == sorted([ENGLISH, GERMAN])
    assert report.chunks_embedded == 0
    records = rag.store().file_records()
    assert records[ENGLISH].title == "The Phantom Zone, retitled" and records[GERMAN].language == "en"
    chunks = rag.store().current_chunks()
    assert {c.metadata["title"] for c in chunks if c.metadata["source"] == ENGLISH} == {"The Phantom Zone, retitled"}
    assert {c.metadata["language"] for c in chunks if c.metadata["source"] == GERMAN} == {"en"}
    assert rag.store().glosses.count() == german_glosses - records[GERMAN].n_chunks
    assert rag.retrieve("Phantom Zone", top_k=1)[0].title == "The Phantom Zone, retitled"
    assert not rag.ingest(folder).changed


# --- snapshots -------------------------------------------------------------------------------------------


def test_a_snapshot_damaged_in_the_middle_is_rebuilt_instead_of_loaded(tmp_path, fresh_rag, embedding):
    from rag.api import open_rag

    folder = copy_seeds(tmp_path)
    rag = fresh_rag()
    rag.ingest(folder)
    expected = [(p.source, p.start, p.end) for p in rag.retrieve("Why did Clark lose his powers?", top_k=3)]
    version = snapshot.read_stamp(rag.settings)
    path = snapshot.snapshot_path(rag.settings, version)
    size = path.stat().st_size
    with path.open("r+b") as file:  # same length, bytes overwritten in the middle (vectors)
        file.seek(size // 2)
        file.write(b"\xff" * min(60_000, size // 4))
    assert path.stat().st_size == size
    assert snapshot.load_snapshot(rag.settings, version) is None
    fresh = open_rag(rag.settings, embedding=embedding)
    passages = fresh.retrieve("Why did Clark lose his powers?", top_k=3)
    assert [(p.source, p.start, p.end) for p in passages] == expected
    assert snapshot.load_snapshot(rag.settings, version) is not None  # rebuilt


# --- interrupted ingests ----------------------------------------------------------------------------------


def ingest_until(folder, store, marker: str, window: int = 4) -> str:
    """Run an ingest in another process and SIGKILL it as soon as its log shows ``marker``."""
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr, format='%(message)s')\n"
        "from rag.api import open_rag\n"
        f"open_rag(preset='tests', store_dir={str(store)!r}, ingest_window={window}).ingest({str(folder)!r})\n"
        "print('finished', file=sys.stderr, flush=True)\n"
    )
    env = child_environment()
    process = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if marker in line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


@pytest.mark.parametrize(
    "marker", ["stored chunks", "chunks and manifest written; checking gloss vectors"], ids=["mid-chunks", "before-glosses"]
)
def test_an_ingest_killed_midway_is_completed_by_the_next_one_and_equals_a_fresh_ingest(tmp_path, fresh_rag, embedding, marker):
    from rag.api import open_rag

    folder = copy_seeds(tmp_path)
    rag = fresh_rag(ingest_window=4)
    rag.ingest(folder)
    before = [(p.source, p.start, p.end) for p in rag.retrieve("Why did Clark lose his powers?", top_k=3)]
    target = folder / GERMAN  # German: its chunks have gloss vectors
    target.write_text(target.read_text().replace("Clark", "Klark").replace("Sonnenuntergang", "Mitternacht"))

    ingest_until(folder, rag.settings.store_dir, marker)

    # A reader opening the store now gets the last finished index, not the half-written one.
    reader = open_rag(rag.settings, embedding=embedding)
    assert [(p.source, p.start, p.end) for p in reader.retrieve("Why did Clark lose his powers?", top_k=3)] == before
    assert not reader.verify().complete

    resumed = open_rag(rag.settings, embedding=embedding).ingest(folder)
    if marker == "stored chunks":
        assert resumed.files_updated == [GERMAN] and resumed.chunks_reused >= 4  # the window stored before the kill
    else:  # the manifest was complete: only the glosses were missing
        assert len(resumed.files_unchanged) == 3 and resumed.glosses_embedded > 0
    fresh = open_rag(make_settings(tmp_path / "fresh-store", ingest_window=4), embedding=embedding)
    fresh.ingest(folder)
    assert store_contents(open_rag(rag.settings, embedding=embedding)) == store_contents(fresh)
    assert snapshot.read_stamp(rag.settings) == snapshot.read_stamp(fresh.settings)
    assert open_rag(rag.settings, embedding=embedding).verify().ok


def test_a_first_ingest_killed_midway_leaves_a_store_that_says_to_complete_it(tmp_path, fresh_rag, embedding):
    from rag.api import open_rag

    folder = copy_seeds(tmp_path)
    rag = fresh_rag(ingest_window=4)
    ingest_until(folder, rag.settings.store_dir, "stored chunks")
    with pytest.raises(IncompleteStoreError, match="ingest is running or was interrupted.*python -m rag ingest"):
        open_rag(rag.settings, embedding=embedding).retrieve("Phantom Zone")
    assert open_rag(rag.settings, embedding=embedding).ingest(folder).chunks_total > 0


# --- text encodings and offsets ---------------------------------------------------------------------------


def test_offsets_of_a_file_with_a_byte_order_mark_index_the_text_python_reads(tmp_path, fresh_rag):
    folder = tmp_path / "bom"
    folder.mkdir()
    body = "The lighthouse keeper of Smallville lights the lamp at dusk.\r\nHe climbs ninety steps.\n" * 3
    (folder / "bom.txt").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    rag = fresh_rag()
    rag.ingest(folder)
    python_text = open(folder / "bom.txt", encoding="utf-8").read()
    assert python_text[0] == "\ufeff"
    assert rag.source_text("bom.txt") == python_text
    passages = rag.retrieve("lighthouse keeper lamp", top_k=3)
    assert passages
    assert_slices_sources(passages, folder)


def test_a_utf16_file_with_a_byte_order_mark_is_read_and_cited_exactly(tmp_path, fresh_rag):
    folder = tmp_path / "utf16"
    folder.mkdir()
    text = "Der Leuchtturmwärter von Smallville zündet die Lampe an. Er steigt neunzig Stufen hinauf.\n"
    (folder / "wide.txt").write_bytes(text.encode("utf-16"))
    rag = fresh_rag()
    rag.ingest(folder)
    assert rag.source_text("wide.txt") == text
    [passage] = rag.retrieve("Leuchtturmwärter Lampe", top_k=1)
    assert text[passage.start : passage.end] == passage.text


# --- the folder -----------------------------------------------------------------------------------------------


def test_a_link_to_a_file_outside_the_folder_is_skipped_and_named_unless_allowed(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path)
    outside = tmp_path / "secret.txt"
    outside.write_text("The secret password of the Kent farm is walnut.\n")
    (folder / "link.txt").symlink_to(outside)
    report = fresh_rag().ingest(folder)
    assert [(s.source, "outside the folder" in s.reason) for s in report.files_skipped] == [("link.txt", True)]
    assert "link.txt" in report.summary() and "link.txt" not in fresh_rag().store().file_records()
    allowed = fresh_rag(follow_external_links=True).ingest(folder)
    assert "link.txt" in allowed.files_added


def test_a_file_whose_name_is_not_utf8_is_named_and_skipped_and_the_rest_ingests(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as file:
        file.write(b"Latin-1 named file.\n")
    report = fresh_rag().ingest(folder)
    assert len(report.files_added) == 3
    [skipped] = report.files_skipped
    assert skipped.source == "caf\\xe9.txt" and "not UTF-8" in skipped.reason


def test_the_metadata_file_cannot_be_removed_as_a_document(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path)
    rag = fresh_rag()
    rag.ingest(folder)
    with pytest.raises(CorpusError, match="metadata file"):
        rag.remove_document("sources.json")
    assert (folder / "sources.json").is_file()
    with pytest.raises(CorpusError, match=f"not a document of {folder}"):
        rag.remove_document("../corpus/nothing.txt")


def test_a_store_location_that_is_a_file_gets_a_specific_message(tmp_path, fresh_rag):
    store = tmp_path / "store"
    store.write_text("not a folder")
    for action in (lambda rag: rag.ingest(SEEDS), lambda rag: rag.ask("Phantom Zone")):
        with pytest.raises(StoreError, match="is a file, not a folder"):
            action(fresh_rag())


def test_hints_name_the_folder_that_was_ingested_not_the_configured_one(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path, "my-documents")
    rag = fresh_rag()
    rag.ingest(folder)
    shutil.rmtree(rag.settings.store_dir)
    with pytest.raises(StoreError, match=f"There is no index .*--source {folder}"):
        rag.verify()


# --- readers while an ingest runs --------------------------------------------------------------------------


def test_a_question_completes_while_an_ingest_runs_in_another_thread(tmp_path, fresh_rag, embedding, monkeypatch):
    folder = copy_seeds(tmp_path)
    rag = fresh_rag(ingest_window=4)
    rag.ingest(folder)
    (folder / "extra.txt").write_text("The lighthouse keeper of Smallville lights the lamp at dusk.\n" * 5)
    embedding_started, release = threading.Event(), threading.Event()
    original = type(embedding).get_text_embedding_batch

    def slow(self, texts, **kwargs):
        if threading.current_thread().name == "ingest":
            embedding_started.set()
            release.wait(60)
        return original(self, texts, **kwargs)

    monkeypatch.setattr(type(embedding), "get_text_embedding_batch", slow)
    reports = []
    thread = threading.Thread(target=lambda: reports.append(rag.ingest(folder)), name="ingest")
    thread.start()
    try:
        assert embedding_started.wait(60)
        answered = []
        asker = threading.Thread(target=lambda: answered.append(rag.ask("Who was banished to the Phantom Zone?")))
        asker.start()
        asker.join(30)
        assert answered and answered[0].citations  # answered from the previous index
        assert all(p.source != "extra.txt" for p in rag.retrieve("lighthouse keeper lamp", top_k=5))
    finally:
        release.set()
        thread.join(120)
    assert reports and reports[0].files_added == ["extra.txt"]
    assert rag.retrieve("lighthouse keeper lamp", top_k=1)[0].source == "extra.txt"


def test_a_rag_notices_an_index_another_process_finished_and_switches_to_it(tmp_path, fresh_rag):
    folder = copy_seeds(tmp_path)
    app = fresh_rag()
    app.ingest(folder)
    assert all(p.source != "extra.txt" for p in app.retrieve("lighthouse keeper lamp", top_k=5))
    (folder / "extra.txt").write_text("The lighthouse keeper of Smallville lights the lamp at dusk.\n")
    cli = ingest_in_new_process(folder, app.settings.store_dir)
    assert "1 added" in cli
    [passage] = app.retrieve("lighthouse keeper lamp", top_k=1)
    assert passage.source == "extra.txt"
    assert_slices_sources([passage], folder)


def ingest_in_new_process(folder, store) -> str:
    env = child_environment()
    result = subprocess.run(
        [sys.executable, "-m", "rag", "ingest", "--source", str(folder), "--store", str(store), "--no-progress"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- a Chroma server ---------------------------------------------------------------------------------------

from test_chroma_server import server_rag  # noqa: E402,F401  (a fixture; chroma_server is in conftest)


def test_the_write_lease_works_through_a_chroma_server(server_rag, tmp_path):
    rag = server_rag(write_wait_seconds=0.5)
    rag.ingest(SEEDS)
    holder = server_rag().store().writer_lease()
    holder.acquire()
    try:
        with pytest.raises(StoreBusyError, match=rf"Another ingest \(process {os.getpid()} on "):
            rag.ingest(copy_seeds(tmp_path), verify=True)
    finally:
        holder.release()
    assert rag.ingest(copy_seeds(tmp_path, "again"), verify=True).files_seen == 3
    assert rag.verify().ok


def test_a_rag_on_a_chroma_server_switches_to_an_index_another_client_finished(server_rag, tmp_path):
    folder = copy_seeds(tmp_path)
    app = server_rag(index_check_seconds=0)
    app.ingest(folder)
    assert all(p.source != "extra.txt" for p in app.retrieve("lighthouse keeper lamp", top_k=5))
    (folder / "extra.txt").write_text("The lighthouse keeper of Smallville lights the lamp at dusk.\n")
    assert server_rag().ingest(folder).files_added == ["extra.txt"]
    assert app.retrieve("lighthouse keeper lamp", top_k=1)[0].source == "extra.txt"
