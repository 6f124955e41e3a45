"""Cold starts load a snapshot of the search index; it always matches the store it came from."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.errors import StoreError
from rag.index import snapshot
from rag.text import gloss
from support.environment import child_environment
from support.paths import REPO, SEEDS
from support.settings import make_settings


def test_a_new_process_answers_from_the_snapshot_without_importing_chroma_or_torch(seed_rag):
    settings = seed_rag.settings
    assert snapshot.read_stamp(settings)
    code = (
        "import json, sys\n"
        "from rag.api import open_rag\n"
        f"rag = open_rag(store_dir={str(settings.store_dir)!r}, cache_dir={str(settings.resolved_cache_dir)!r})\n"
        "answer = rag.ask('Who was banished to the Phantom Zone?')\n"
        "print(json.dumps({'cited': len(answer.citations),\n"
        "                  'loaded': sorted(m for m in ('chromadb', 'torch') if m in sys.modules)}))\n"
    )
    outcome = run_in_new_process(code)
    assert outcome == {"cited": outcome["cited"], "loaded": []} and outcome["cited"] > 0


def test_an_ingest_that_changes_the_corpus_gets_a_new_snapshot(seed_copy, fresh_rag):
    folder = seed_copy
    rag = fresh_rag()
    rag.ingest(folder)
    first = snapshot.read_stamp(rag.settings)
    (folder / "extra.txt").write_text("Clark Kent works at the Daily Planet as a reporter.\n")
    rag.ingest(folder)
    second = snapshot.read_stamp(rag.settings)
    assert first and second and first != second
    assert list(snapshot.snapshot_root(rag.settings).iterdir()) == [snapshot.snapshot_path(rag.settings, second)]
    assert any("Daily Planet" in p.text for p in rag.retrieve("reporter Daily Planet", top_k=3))


def test_an_unreadable_snapshot_is_rebuilt_from_the_store(tmp_path, fresh_rag, embedding):
    from rag.api import open_rag

    rag = fresh_rag()
    rag.ingest(SEEDS)
    version = snapshot.read_stamp(rag.settings)
    snapshot.snapshot_path(rag.settings, version).write_bytes(b"not a pickle")
    fresh = open_rag(rag.settings, embedding=embedding)
    passages = fresh.retrieve("Phantom Zone", top_k=2)
    assert passages and all(
        (SEEDS / p.source).read_text(encoding="utf-8")[p.start : p.end] == p.text for p in passages
    )


def test_a_truncated_snapshot_is_rebuilt_from_the_store(tmp_path, fresh_rag, embedding):
    from rag.api import open_rag

    rag = fresh_rag()
    rag.ingest(SEEDS)
    version = snapshot.read_stamp(rag.settings)
    path = snapshot.snapshot_path(rag.settings, version)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 100])  # the pickle intact, the last array cut short
    assert snapshot.load_snapshot(rag.settings, version) is None
    assert open_rag(rag.settings, embedding=embedding).retrieve("Phantom Zone", top_k=1)
    assert path.read_bytes() == whole  # written again from the store


def test_a_snapshot_round_trip_gives_the_same_retrieval_results(seed_rag, embedding):
    from rag.index.search_index import SearchIndex
    from rag.retrieval.hybrid import HybridRetriever

    settings = seed_rag.settings
    built = SearchIndex.from_store(seed_rag.store())
    snapshot.save_snapshot(settings, "round-trip", built.state())
    loaded = SearchIndex.from_state(snapshot.load_snapshot(settings, "round-trip"))
    assert not loaded.vectors.flags.writeable  # a view of the mapped file, not a copy
    assert list(loaded.chunks) == list(built.chunks)
    assert loaded.lexical.vocabulary("de") == built.lexical.vocabulary("de")
    questions = ("Why did Clark lose his powers?", "Wohin verbannt Clark die beiden Kryptonier?", "Phantom Zone")
    for question in questions:
        for sources in (None, [built.chunks[0].metadata["source"]]):
            expected, actual = (
                HybridRetriever(index, embedding, seed_rag.dictionary).search(question, 8, sources).passages
                for index in (built, loaded)
            )
            assert actual == expected and expected


def test_stores_sharing_one_cache_folder_each_answer_from_their_own_texts(tmp_path, embedding):
    from rag.api import open_rag

    cache = tmp_path / "shared-cache"
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "a.txt").write_text("The lighthouse keeper polishes the great lamp every evening.\n")
    (two / "b.txt").write_text("The baker kneads rye dough before sunrise.\n")
    first = open_rag(make_settings(tmp_path / "store-one", cache_dir=cache), embedding=embedding)
    second = open_rag(make_settings(tmp_path / "store-two", cache_dir=cache), embedding=embedding)
    first.ingest(one)
    second.ingest(two)
    reopened = open_rag(first.settings, embedding=embedding)
    assert [p.source for p in reopened.retrieve("lighthouse lamp", top_k=5)] == ["a.txt"]
    assert reopened.ingest(one).files_unchanged == ["a.txt"]


def test_while_an_ingest_runs_readers_ignore_the_stamp(tmp_path, fresh_rag):
    rag = fresh_rag()
    rag.ingest(SEEDS)
    snapshot.clear_stamp(rag.settings)  # what an ingest does first
    assert snapshot.read_stamp(rag.settings) is None
    assert rag.retrieve("Phantom Zone", top_k=1)  # falls back to the store's own version


def test_a_snapshot_of_an_older_format_is_never_loaded(tmp_path, fresh_rag, embedding, monkeypatch):
    from rag.api import open_rag

    rag = fresh_rag()
    rag.ingest(SEEDS)
    version = snapshot.read_stamp(rag.settings)
    monkeypatch.setattr(snapshot, "SNAPSHOT_FORMAT", snapshot.SNAPSHOT_FORMAT + 1)
    assert snapshot.load_snapshot(rag.settings, version) is None
    assert open_rag(rag.settings, embedding=embedding).retrieve("Phantom Zone", top_k=1)
    # The stamp still names the index: the snapshot written in the new format serves the next start.
    assert snapshot.read_stamp(rag.settings) == version
    assert snapshot.load_snapshot(rag.settings, version) is not None


def run_in_new_process(code: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_environment(), cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_unchanged_reingest_in_a_new_process_does_not_open_the_store(seed_copy, fresh_rag):
    folder = seed_copy
    rag = fresh_rag()
    first = rag.ingest(folder)
    code = (
        "import json, sys\n"
        "from rag.api import open_rag\n"
        f"report = open_rag(preset='tests', store_dir={str(rag.settings.store_dir)!r}).ingest({str(folder)!r})\n"
        "print(json.dumps({'unchanged': len(report.files_unchanged), 'changed': report.changed,\n"
        "                  'chunks': report.chunks_total, 'chroma': 'chromadb' in sys.modules}))\n"
    )
    outcome = run_in_new_process(code)
    assert outcome == {"unchanged": 3, "changed": False, "chunks": first.chunks_total, "chroma": False}


def test_a_store_written_since_the_last_ingest_is_read_again(tmp_path, fresh_rag):
    rag = fresh_rag()
    rag.ingest(SEEDS)
    (rag.settings.store_dir / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="--rebuild"):
        fresh_rag().ingest(SEEDS)


def test_glosses_left_incomplete_are_completed_by_an_unchanged_reingest(tmp_path, fresh_rag):
    rag = fresh_rag(dictionary_path=tmp_path / "no-dictionary.txt")
    rag.ingest(SEEDS)
    assert rag.store().glosses.count() == 0
    fresh = fresh_rag()
    assert not fresh.ingest(SEEDS).changed
    assert fresh.store().glosses.count() > 0


def test_new_gloss_rules_reach_the_gloss_vectors_through_an_ingest_of_an_unchanged_folder(fresh_rag, monkeypatch):
    fresh_rag().ingest(SEEDS)
    monkeypatch.setattr(gloss, "GLOSS_VERSION", "next")
    rag = fresh_rag()
    report = rag.ingest(SEEDS)
    assert report.glosses_embedded == rag.store().glosses.count() > 0
    assert fresh_rag().ingest(SEEDS).glosses_embedded == 0


def test_each_model_warms_up_in_a_background_thread_of_its_own_and_a_failure_stays_quiet(monkeypatch):
    import threading

    from rag.api import _warm_up_in_background

    surfaced, calls = [], []
    monkeypatch.setattr(threading, "excepthook", surfaced.append)

    class BrokenModel:
        def warm_up(self):
            calls.append(threading.current_thread().name)
            raise RuntimeError("no model file")  # the first question reports it

    both_warming = threading.Barrier(2, timeout=10)
    caller_returned = threading.Event()

    class ModelWarmingBesideAnother:
        def warm_up(self):
            caller_returned.wait(timeout=10)
            both_warming.wait()  # passes only if the other model warms up at the same time
            calls.append(threading.current_thread().name)

    _warm_up_in_background(ModelWarmingBesideAnother(), object(), None, BrokenModel(), ModelWarmingBesideAnother())
    caller_returned.set()  # reached at once: the caller waits for none of them (object(): a remote model)
    for thread in threading.enumerate():
        if thread.name == "rag-embedding-warm-up":
            thread.join()
    assert calls == ["rag-embedding-warm-up"] * 3 and surfaced == []


ASK_AND_RECORD_THE_WARM_UPS = """
import sys, threading
from rag.api import open_rag

warming_when_llamaindex_came, started = [], []
real_start = threading.Thread.start


def start_and_note(thread):
    started.append(thread.name)
    real_start(thread)


threading.Thread.start = start_and_note


class NoteTheThreadsAtLlamaIndex:
    def find_spec(self, name, path=None, target=None):
        if name == "llama_index.core" and not warming_when_llamaindex_came:
            warming_when_llamaindex_came.append(sorted(t.name for t in threading.enumerate()))
        return None


sys.meta_path.insert(0, NoteTheThreadsAtLlamaIndex())
answer = open_rag(store_dir=sys.argv[1]).ask("Why did Clark lose his powers?")
print(warming_when_llamaindex_came[0])
print(started)
"""


def test_asking_warms_the_meaning_model_up_while_llamaindex_is_imported_and_the_glosses_beside(seed_rag):
    """A cold start imports LlamaIndex (~0.7 s) while the meaning model builds and compiles in a
    thread of its own; the gloss tables are built in another while the first question waits for
    the models (bench/notes.md, "Cold start: the LlamaIndex import beside the meaning model")."""
    import subprocess
    import sys

    from support.environment import child_environment

    result = subprocess.run(
        [sys.executable, "-c", ASK_AND_RECORD_THE_WARM_UPS, str(seed_rag.settings.store_dir)],
        capture_output=True, text=True, env=child_environment(), timeout=300,
    )
    assert result.returncode == 0, result.stderr
    threads_at_llamaindex, threads_started = result.stdout.splitlines()[-2:]
    assert "rag-embedding-warm-up" in threads_at_llamaindex
    assert "rag-glosses-warm-up" in threads_started


def test_the_warm_ups_beside_the_llamaindex_import_import_none_of_it(seed_rag):
    """Two threads importing LlamaIndex at once deadlocked (_DeadlockError, session 11): the meaning
    model's warm-up and the English model's compile ahead run beside the LlamaIndex import only
    because they import none of it."""
    import subprocess
    import sys

    from support.environment import child_environment

    code = (
        "import sys\n"
        "from rag.config import load_settings\n"
        "from rag.embedding.meaning import build_meaning_model\n"
        "from rag.embedding.openvino_export import compile_query_session_ahead\n"
        "settings = load_settings(preset='tests')\n"
        "build_meaning_model(settings).warm_up()\n"
        "compile_query_session_ahead(settings)\n"
        "print(sorted(m for m in sys.modules if m.startswith('llama_index.core')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_environment(), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_meaning_models_warm_up_compiles_the_sessions_of_questions_and_of_answers(seed_rag):
    from rag.embedding.meaning import build_meaning_model

    model = build_meaning_model(seed_rag.settings)
    model.warm_up()
    assert set(model.encoder()._sessions) == {False, True}  # latency (questions), throughput (sentences)
