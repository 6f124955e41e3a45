"""The web app's logic without a browser (rag/web/): inert document text, per-answer markers,
conversations on disk, upload checks, removing from the index without deleting the file, the
library's rows (escaped text, actions, a job's progress and outcome, questions), background jobs."""

from __future__ import annotations

import html
import re
import string
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.errors import CorpusError
from rag.types import REFUSAL, Answer, DocumentIngestReport, IngestReport
from rag.web.chat import ask_in_conversation, chat_messages
from rag.web.conversations import Conversation, ConversationError, ConversationStore, Exchange
from rag.web.jobs import BackgroundIngest, IngestBusyError, JobStatus
from rag.web.library import Confirmation, DocumentInfo, LibraryAction, library_html
from rag.web.presentation import answer_markdown, inert_markdown
from rag.web.uploads import plan_upload
from support.seeds import copy_seeds

ENTITY = re.compile(r"&#\d+;")


@given(st.text())
def test_inert_markdown_keeps_the_characters_and_leaves_no_markup_character(text):
    inert = inert_markdown(text)
    assert html.unescape(inert) == text
    assert not set(ENTITY.sub("", inert)) & set(string.punctuation)


def test_answer_markers_link_to_their_own_answers_sources_and_document_markup_stays_text():
    text = 'He saw <img src="http://x/p"> and ![t](http://x/i) [Session expired](http://x/l) [1] then [2]'
    markdown = answer_markdown(text, 3)
    assert re.findall(r"\(#(a\d+-source-\d+)\)", markdown) == ["a3-source-1", "a3-source-2"]
    assert "<img" not in markdown and "](http" not in markdown and "http://" not in markdown


def an_exchange(question: str = "Why?") -> Exchange:
    answer = Answer(question=question, text=REFUSAL, not_found=True, mode="extractive")
    return Exchange(question=question, searched=question, answer=answer, sources_filter=["a.txt"])


def test_a_saved_conversation_reads_back_equal_and_leaves_no_temporary_file(tmp_path):
    store = ConversationStore(tmp_path / "conversations")
    conversation = Conversation().with_exchange(an_exchange("Who is Morgan Edge?"))
    store.save(conversation)
    assert ConversationStore(tmp_path / "conversations").load(conversation.id) == conversation  # a new process
    assert [p.name for p in (tmp_path / "conversations").iterdir()] == [f"{conversation.id}.json"]
    assert [s.title for s in store.list()] == ["Who is Morgan Edge?"]
    store.delete(conversation.id)
    assert store.list() == []
    with pytest.raises(ConversationError):
        store.load(conversation.id)


def test_conversations_are_listed_newest_first_and_ids_cannot_name_other_files(tmp_path):
    store = ConversationStore(tmp_path)
    older = Conversation().with_exchange(an_exchange("first"))
    store.save(older)
    newer = Conversation().with_exchange(an_exchange("second"))
    store.save(newer)
    assert [s.id for s in store.list()] == [newer.id, older.id]
    for bad in ("../secret", "", "x" * 32):
        with pytest.raises(ConversationError):
            store.load(bad)


def test_a_new_conversation_has_no_memory_chat_or_sources():
    conversation = Conversation()
    assert conversation.turns() == [] and chat_messages(conversation) == []


def test_a_refusal_under_a_filter_says_so_in_the_chat():
    messages = chat_messages(Conversation().with_exchange(an_exchange()))
    assert "Searched only in" in html.unescape(messages[1]["content"])


def test_an_invalid_question_changes_nothing_but_the_error(seed_rag):
    conversation = Conversation().with_exchange(an_exchange())
    updates = list(ask_in_conversation(seed_rag, conversation, "x" * 5000, 5, "extractive", [], lambda s: None))
    assert len(updates) == 1 and "limit" in updates[0].input_error
    assert updates[0].conversation == conversation and not updates[0].done
    assert updates[0].messages == chat_messages(conversation)


def test_upload_plan_separates_new_conflicting_and_bad_files(tmp_path, seed_rag):
    settings = seed_rag.settings.with_overrides(max_upload_bytes=100)
    folder, incoming = tmp_path / "corpus", tmp_path / "incoming"
    folder.mkdir()
    incoming.mkdir()
    (folder / "exists.txt").write_text("old", encoding="utf-8")
    files = {
        "new.txt": "A new note.".encode(),
        "exists.txt": "A newer note.".encode(),
        "latin.txt": "Grüße".encode("latin-1"),
        "big.md": b"x" * 101,
        "image.png": b"\x89PNG",
        "blank.txt": b"  \n",
    }
    for name, data in files.items():
        (incoming / name).write_bytes(data)
    plan = plan_upload([incoming / n for n in files], folder, settings)
    assert [p.name for p in plan.ready] == ["new.txt"]
    assert [p.name for p in plan.conflicts] == ["exists.txt"]
    reasons = {r.name: r.reason for r in plan.rejected}
    assert set(reasons) == {"latin.txt", "big.md", "image.png", "blank.txt"}
    assert "UTF-8" in reasons["latin.txt"] and "iconv" not in reasons["latin.txt"]
    assert "100 bytes" in reasons["big.md"] and "big.md" in reasons["big.md"]
    assert all(str(incoming) not in reason for reason in reasons.values())


def test_removing_from_the_index_keeps_the_file_and_survives_a_reingest(fresh_rag, tmp_path):
    folder = copy_seeds(tmp_path / "corpus")
    rag = fresh_rag()
    rag.ingest(folder)
    source = sorted(d["source"] for d in rag.info().documents)[0]
    rag.remove_from_index(source)
    assert (folder / source).is_file()
    assert source not in [d["source"] for d in rag.info().documents]
    rag.ingest(folder)
    assert source not in [d["source"] for d in rag.info().documents]
    assert rag.excluded_documents() == [source]
    rag.restore_to_index(source)
    assert source in [d["source"] for d in rag.info().documents]
    with pytest.raises(CorpusError, match="not in the index"):
        rag.remove_from_index("missing.txt")


def test_files_path_of_the_bundled_assets_exist():
    from rag.web import assets

    assert "citation-sheet" in assets.head_script() and "#citation-sheet" in assets.css()
    assert Path(assets.STATIC / "app.js").is_file()


def document(source: str = "notes/a.txt", title: str = "A title", **fields) -> DocumentInfo:
    values = {"format": "Text", "language": "de", "chunks": 3, "added": "2026-01-02T10:11:12", **fields}
    return DocumentInfo(source=source, title=title, **values)


def test_library_rows_escape_what_documents_supply_and_name_the_document_in_every_action():
    hostile = document(source='x"><img src=y>.md', title="<script>alert(1)</script> & <b>bold</b>")
    shown = library_html([hostile], kept_out=['k"<i>.txt'])
    assert "<script>" not in shown and "<img" not in shown and "<b>bold" not in shown and "<i>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in shown
    buttons = re.findall(r"<button [^>]*>", shown)
    assert [re.search(r'data-action="([^"]+)"', b).group(1) for b in buttons] == ["reingest", "remove", "delete", "restore"]
    assert all('data-source="x&quot;&gt;&lt;img src=y&gt;.md"' in b for b in buttons[:3])
    assert all("aria-label=" in b and 'type="button"' in b for b in buttons)


def test_a_library_row_shows_a_job_about_its_document_while_it_runs_and_its_outcome_after():
    running = library_html([document(), document("b.txt")], [], JobStatus(True, "⏳", 0, subject="b.txt"))
    busy_row = running.split('<tbody class="doc">')[2]
    assert "Re-ingesting…" in busy_row and busy_row.count('aria-disabled="true"') == 3
    assert "disabled" not in running.split('<tbody class="doc">')[1]
    done = library_html([document(), document("b.txt")], [], JobStatus(False, "Done", 1, "b.txt", "b.txt is unchanged: <x>"))
    assert "b.txt is unchanged: &lt;x&gt;" in done.split('<tbody class="doc">')[2]
    failed = library_html([document("b.txt")], [], JobStatus(False, "⚠️", 1, "b.txt", "cannot be read", failed=True))
    assert 'class="doc-note failed"' in failed and "⚠️ cannot be read" in failed
    folder_job = library_html([document("b.txt")], [], JobStatus(False, "Done", 1, None, "3 files: …"))
    assert "doc-note" not in folder_job  # a job about the whole folder has no row of its own


def test_a_row_asks_before_deleting_and_offers_removal_when_the_file_is_gone():
    asked = library_html([document("a.txt"), document("b.txt")], [], confirming=Confirmation("delete", "b.txt", "/corpus"))
    question = asked.split('<tbody class="doc">')[2]
    assert "Delete the file <strong>b.txt</strong> from the folder <code>/corpus</code>?" in question
    assert 'data-action="confirm-delete"' in question and 'data-action="cancel"' in question
    assert "doc-confirm" not in asked.split('<tbody class="doc">')[1]
    gone = document("b.txt", present=False)
    offered = library_html([gone], [], confirming=Confirmation("forget", "b.txt", "/corpus"))
    assert "file missing from the folder" in offered and 'data-action="forget"' in offered
    assert 'data-action="delete"' not in offered  # there is no file to delete


def test_library_actions_come_only_from_known_buttons():
    assert LibraryAction.from_event(SimpleNamespace(action="reingest", source="a.txt")) == LibraryAction("reingest", "a.txt")
    for action, source in (("rm -rf", "a.txt"), ("reingest", ""), ("reingest", None), (None, "a.txt")):
        assert LibraryAction.from_event(SimpleNamespace(action=action, source=source)) is None
    assert LibraryAction.from_event(object()) is None
    assert Confirmation("delete", "a.txt", "/c").asks_for("delete", "a.txt")
    assert not Confirmation("forget", "a.txt", "/c").asks_for("delete", "a.txt")


def test_a_background_job_about_one_document_reports_its_outcome_for_that_document():
    jobs, release = BackgroundIngest(), threading.Event()
    report = DocumentIngestReport.of(
        IngestReport(source_dir="/c", files_seen=1, files_unchanged=["a.txt"]), "a.txt", chunks_before=4, chunks=4
    )

    def work():
        release.wait(10)
        return report

    assert jobs.start("Re-ingesting a.txt", work, subject="a.txt")
    status = jobs.status()
    assert status.running and status.subject == "a.txt" and status.text.startswith("⏳ Re-ingesting a.txt…")
    assert not jobs.start("Re-ingesting b.txt", work, subject="b.txt")  # one at a time
    with pytest.raises(IngestBusyError, match="Another ingest is running"):
        jobs.run_now("Adding c.txt", work)
    release.set()
    for _ in range(100):
        if not jobs.status().running:
            break
        threading.Event().wait(0.05)
    status = jobs.status()
    assert not status.running and status.finished == 1 and status.subject == "a.txt" and not status.failed
    assert status.outcome == "a.txt is unchanged: its 4 chunks were kept and nothing was re-embedded."
    assert status.text == f"Done: Re-ingesting a.txt. {status.outcome}"
    assert jobs.run_now("Re-ingesting a.txt", lambda: report, subject="a.txt") is report
