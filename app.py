"""Gradio chat over the corpus: streamed answers, citations you can check, a document library,
conversations kept across restarts.

A thin layer over the public API (rag.api.Rag): what the page shows comes from rag.web
(chat: asking inside a conversation; conversations: saving them; library and uploads: the
documents; presentation: HTML and Markdown views; jobs: ingests in the background).

    python app.py [--host 127.0.0.1] [--port 7860]

Tools can call the running app with gradio_client: /ask, /documents, /add_documents,
/reingest_document and /remove_document (see the README).
"""

from __future__ import annotations

import argparse
import html
import logging
from pathlib import Path

from rag.runtime.offline import prepare_offline_environment

prepare_offline_environment()  # before gradio is imported: no analytics, no update check

import gradio as gr  # noqa: E402
from gradio.data_classes import FileData  # noqa: E402

from rag import RagError, load_settings, open_rag  # noqa: E402
from rag.api import Rag  # noqa: E402
from rag.errors import DocumentFileMissingError, StoreError  # noqa: E402
from rag.web import assets  # noqa: E402
from rag.web.pages import PAGE_CSS, citation_page_view  # noqa: E402
from rag.web.chat import (  # noqa: E402
    ask_in_conversation,
    chat_messages,
    last_searched_note,
    sources_panel,
)
from rag.web.conversations import Conversation, ConversationError, ConversationStore  # noqa: E402
from rag.web.jobs import BackgroundIngest, JobStatus  # noqa: E402
from rag.web.library import Confirmation, LibraryAction, indexed_documents, library_html  # noqa: E402
from rag.web.presentation import EMPTY_SOURCES  # noqa: E402
from rag.web.uploads import add_files, conflicts_text, plan_upload, rejected_text  # noqa: E402

log = logging.getLogger("app")

EXAMPLES = [
    "Why did Clark lose his powers?",
    "Wohin verbannt Clark die beiden Kryptonier?",
    "Who is Morgan Edge?",
]
LLM_HINT = "LLM mode needs a server: set RAG_LLM_BASE_URL (and RAG_LLM_API_KEY for OpenAI), then restart."


def ensure_index(rag: Rag) -> None:
    """Ingest the configured folder when the store is missing or empty (first start)."""
    try:
        if rag.info().documents:
            return
    except StoreError:
        pass
    log.info("The index is empty: ingesting %s", rag.settings.source_dir)
    rag.ingest(progress=False)


def status_line(rag: Rag) -> str:
    mode = rag.settings.answer_mode
    llm = f"LLM: {rag.settings.llm_model} at {rag.settings.llm_base_url}" if rag.llm_available() else "no LLM configured"
    try:
        info = rag.info()
    except RagError as error:
        return f"**Mode:** {mode} ({llm}) · **Index:** index unavailable: {error}"
    return f"**Mode:** {mode} ({llm}) · **Index:** {len(info.documents)} documents, {info.chunks} chunks"


def document_choices(rag: Rag) -> list[tuple[str, str]]:
    try:
        return [(f"{d.title} ({d.source})", d.source) for d in indexed_documents(rag)]
    except RagError:
        return []


def library_view(rag: Rag, job: JobStatus | None = None, confirming: Confirmation | None = None) -> str:
    try:
        return library_html(indexed_documents(rag), rag.excluded_documents(), job, confirming)
    except RagError as error:
        return f"<p>The index cannot be read: {html.escape(str(error))}</p>"


def filter_chip(sources: list[str]) -> str:
    if not sources:
        return ""
    names = ", ".join(html.escape(s) for s in sources)
    return f'<span class="chip" role="status">Only searching: {names}</span>'


def conversation_choices(store: ConversationStore) -> list[tuple[str, str]]:
    return [(s.label(), s.id) for s in store.list()]


def build_app(rag: Rag) -> gr.Blocks:
    store = ConversationStore(rag.settings.resolved_conversations_dir)
    jobs = BackgroundIngest()

    def source_text(source: str) -> str | None:
        try:
            return rag.source_text(source)
        except RagError:
            return None

    def page_view(citation) -> str:  # a PDF citation on its rendered page (rag.web.pages)
        return citation_page_view(rag, citation)

    # --- chat -------------------------------------------------------------------------------

    def respond(message, conversation, top_k, mode, sources):
        for update in ask_in_conversation(
            rag, conversation, message, top_k, mode, sources or [], source_text, page_view
        ):
            saved = gr.skip()
            error = update.input_error
            if update.done:
                try:
                    store.save(update.conversation)
                    saved = gr.update(choices=conversation_choices(store), value=update.conversation.id)
                except ConversationError as failure:
                    error = str(failure)
            yield (
                update.messages,
                update.sources_html if update.sources_html is not None else gr.skip(),
                update.searched_note,
                update.conversation,
                "" if update.done else gr.skip(),  # the question box keeps its text until answered
                error,
                saved,
            )

    def show_conversation(conversation: Conversation):
        return (
            chat_messages(conversation),
            sources_panel(conversation, source_text, page_view),
            last_searched_note(conversation),
            conversation,
            "",
        )

    def new_conversation():
        return show_conversation(Conversation())

    def open_conversation(conversation_id):
        if not conversation_id:
            return (*[gr.skip()] * 4, "Choose a conversation to open.")
        try:
            return show_conversation(store.load(conversation_id))
        except ConversationError as error:
            return (*[gr.skip()] * 4, str(error))

    def delete_conversation(conversation_id, current: Conversation):
        if not conversation_id:
            return (*[gr.skip()] * 5, "Choose a conversation to delete.", gr.skip())
        store.delete(conversation_id)
        shown = show_conversation(Conversation()) if current.id == conversation_id else (gr.skip(),) * 5
        return (*shown, "Conversation deleted.", gr.update(choices=conversation_choices(store), value=None))

    # --- documents ----------------------------------------------------------------------------

    def corpus_views(confirming: Confirmation | None = None):
        status = jobs.status()
        return (
            library_view(rag, status, confirming),
            status_line(rag),
            gr.update(choices=[c[1] for c in document_choices(rag)]),
            status.text,
            status.finished,
        )

    def start_job(description: str, work, subject: str | None = None) -> str:
        return f"⏳ {description}…" if jobs.start(description, work, subject) else jobs.busy_text()

    def upload(files):
        paths = [Path(getattr(f, "name", f)) for f in files or []]
        if not paths:
            return "Choose documents first (PDF, DOCX, HTML, Markdown or text).", gr.skip(), [], gr.update(visible=False), ""
        plan = plan_upload(paths, rag.corpus_folder(), rag.settings)
        lines = [rejected_text(plan.rejected)]
        if plan.ready:
            names = ", ".join(p.name for p in plan.ready)
            lines.insert(0, start_job(f"Adding {names}", lambda: add_files(rag, plan.ready, progress=False)))
        ask = conflicts_text(plan.conflicts)
        return (
            "\n\n".join(line for line in lines if line),
            None,  # clear the upload box: the good files are on their way, the others are named
            [str(p) for p in plan.conflicts],
            gr.update(visible=bool(plan.conflicts)),
            ask,
        )

    def replace(pending):
        paths = [Path(p) for p in pending or []]
        if not paths:
            return "", [], gr.update(visible=False)
        names = ", ".join(p.name for p in paths)
        return start_job(f"Replacing {names}", lambda: add_files(rag, paths, progress=False)), [], gr.update(visible=False)

    def keep_existing(pending):
        names = ", ".join(Path(p).name for p in pending or [])
        return f"Kept the existing {names}; nothing was replaced.", [], gr.update(visible=False)

    def reingest():
        return start_job("Re-ingesting the folder", lambda: rag.ingest(progress=False))

    # Each handler of a library button: the note for the status line, and the question its row asks next (if any).

    def reingest_document(source: str, confirming: Confirmation | None) -> tuple[str, Confirmation | None]:
        try:
            rag.indexed_file(source)
        except DocumentFileMissingError as missing:  # nothing to read: offer to take it out of the index
            return f"⚠️ {missing}", Confirmation("forget", source, missing.folder)
        except RagError as error:
            return f"⚠️ {error}", None
        return start_job(
            f"Re-ingesting {source}", lambda: rag.reingest_document(source, progress=False), subject=source
        ), None

    def remove_from_index(source: str, confirming: Confirmation | None) -> tuple[str, Confirmation | None]:
        return start_job(f"Removing {source} from the index (the file stays)", lambda: rag.remove_from_index(source)), None

    def forget_missing(source: str, confirming: Confirmation | None) -> tuple[str, Confirmation | None]:
        if confirming is None or not confirming.asks_for("forget", source):
            return f"Re-ingest {source} first.", None
        return start_job(f"Removing {source} from the index (its file is gone)", lambda: rag.remove_from_index(source)), None

    def ask_delete(source: str, confirming: Confirmation | None) -> tuple[str, Confirmation | None]:
        return "", Confirmation("delete", source, str(rag.corpus_folder()))

    def delete_file(source: str, confirming: Confirmation | None) -> tuple[str, Confirmation | None]:
        if confirming is None or not confirming.asks_for("delete", source):  # deleting needs the question answered
            return f"Choose Delete file… of {source} first.", None
        return start_job(f"Deleting the file {source}", lambda: rag.remove_document(source)), None

    def restore(source: str, confirming: Confirmation | None) -> tuple[str, Confirmation | None]:
        return start_job(f"Adding {source} back to the index", lambda: rag.restore_to_index(source)), None

    def cancel(source: str, confirming: Confirmation | None) -> tuple[str, Confirmation | None]:
        return "", None

    library_handlers = {
        "reingest": reingest_document,
        "remove": remove_from_index,
        "forget": forget_missing,
        "delete": ask_delete,
        "confirm-delete": delete_file,
        "restore": restore,
        "cancel": cancel,
    }

    def library_click(confirming: Confirmation | None, event: gr.EventData):
        action = LibraryAction.from_event(event)
        if action is None:  # a click beside the buttons
            return {}
        note, confirming = library_handlers[action.name](action.source, confirming)
        return {ingest_status: note, asking: confirming, library: library_view(rag, jobs.status(), confirming)}

    def poll(seen_finished, confirming):
        status = jobs.status()
        if status.finished == seen_finished:
            return (gr.skip(),) * 3 + (status.text, gr.skip())
        return corpus_views(confirming)

    def clear_filter():
        return []

    def show_filter(sources):
        return gr.update(visible=bool(sources)), filter_chip(sources or [])

    modes = ["extractive", "llm"]
    llm_ok = rag.llm_available()
    with gr.Blocks(title="Cited answers") as app:
        gr.Markdown("## Ask the texts\nAnswers cite numbered passages; hover or tap a marker to check its source.")
        status = gr.Markdown(status_line(rag), elem_id="status")
        conversation = gr.State(Conversation())
        seen_jobs = gr.State(0)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation", height=460, elem_id="chat", feedback_options=None,
                    buttons=["copy"], allow_tags=False, autoscroll=False,
                )
                searched = gr.Markdown("", elem_id="searched")
                with gr.Row(visible=False, elem_id="filter-row") as filter_row:
                    chip = gr.HTML("", elem_id="filter-chip")
                    remove_filter = gr.Button("✕ Remove filter", size="sm", elem_id="remove-filter", scale=0)
                with gr.Row():
                    message = gr.Textbox(
                        label="Your question", placeholder="Ask in English or German…", show_label=False,
                        scale=5, elem_id="question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                limit = rag.settings.max_question_chars
                gr.HTML(
                    f'<span id="question-count" data-limit="{limit}">0 / {limit} characters</span>',
                    elem_id="question-count-box",
                )
                question_error = gr.Markdown("", elem_id="question-error")
                gr.Examples(EXAMPLES, inputs=message, label="Examples")
                new_button = gr.Button("New conversation", size="sm", elem_id="new-conversation")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources_box = gr.HTML(EMPTY_SOURCES, elem_id="sources")
        with gr.Accordion("Search settings", open=False):
            source_filter = gr.CheckboxGroup(
                [c[1] for c in document_choices(rag)], label="Only search these documents (none = all)",
                elem_id="filter",
            )
            top_k = gr.Slider(
                1, 20, value=rag.settings.top_k, step=1, label="Passages to retrieve (top-k)", elem_id="top-k",
                info="Passages not cited are listed under 'Also retrieved' in the sources.",
            )
            mode = gr.Radio(
                modes, value=rag.settings.answer_mode if llm_ok else "extractive", label="Answer mode",
                elem_id="mode", interactive=llm_ok, info=None if llm_ok else LLM_HINT,
            )
        with gr.Accordion("Conversations", open=False):
            with gr.Row():
                saved = gr.Dropdown(conversation_choices(store), value=None, label="Saved conversations", elem_id="saved", scale=3)
                open_button = gr.Button("Open", scale=1, elem_id="open-conversation")
                delete_conversation_button = gr.Button("Delete conversation", scale=1, elem_id="delete-conversation")
            conversation_note = gr.Markdown("", elem_id="conversation-note")
        with gr.Accordion("Document library", open=True):
            asking = gr.State(None)  # the question a document's row asks (Confirmation), per tab
            library = gr.HTML(library_view(rag, jobs.status()), elem_id="library", js_on_load=assets.library_script())
            ingest_status = gr.Markdown("", elem_id="ingest-status")
            reingest_button = gr.Button("Re-ingest folder", size="sm", elem_id="reingest")
            uploads = gr.File(
                label="Add documents (PDF, DOCX, HTML, Markdown, text)",
                file_count="multiple",
                file_types=list(rag.settings.file_extensions),
                elem_id="uploads",
            )
            add_button = gr.Button("Add and ingest", elem_id="add")
            upload_note = gr.Markdown("", elem_id="upload-note")
            pending = gr.State([])
            with gr.Row(visible=False, elem_id="confirm-replace") as replace_row:
                replace_text = gr.Markdown("")
                replace_button = gr.Button("Replace", variant="stop", scale=0, elem_id="replace")
                keep_button = gr.Button("Keep the existing files", scale=0, elem_id="keep-existing")
        timer = gr.Timer(1.0)

        private = {"api_visibility": "private"}
        chat_inputs = [message, conversation, top_k, mode, source_filter]
        chat_outputs = [chatbot, sources_box, searched, conversation, message, question_error, saved]
        for trigger in (message.submit, send.click):
            trigger(respond, chat_inputs, chat_outputs, concurrency_limit=8, **private)
        shown = [chatbot, sources_box, searched, conversation, question_error]
        for trigger in (new_button.click, chatbot.clear):
            trigger(new_conversation, None, shown, **private)
        open_button.click(open_conversation, saved, [*shown[:4], conversation_note], **private)
        delete_conversation_button.click(
            delete_conversation, [saved, conversation], [*shown[:4], question_error, conversation_note, saved], **private
        )
        source_filter.change(show_filter, source_filter, [filter_row, chip], **private)
        remove_filter.click(clear_filter, None, source_filter, **private)

        corpus_outputs = [library, status, source_filter, ingest_status, seen_jobs]
        quiet = {"show_progress": "hidden", **private}
        add_button.click(upload, uploads, [upload_note, uploads, pending, replace_row, replace_text], **quiet)
        replace_button.click(replace, pending, [upload_note, pending, replace_row], **quiet)
        keep_button.click(keep_existing, pending, [upload_note, pending, replace_row], **quiet)
        library.click(library_click, asking, {ingest_status, asking, library}, **quiet)
        reingest_button.click(reingest, None, ingest_status, **quiet)
        timer.tick(poll, [seen_jobs, asking], corpus_outputs, **quiet)
        # Another tab may have changed the corpus or saved conversations since the page was built.
        app.load(corpus_views, None, corpus_outputs, **quiet)
        app.load(lambda: gr.update(choices=conversation_choices(store), value=None), None, saved, **quiet)

        register_api(rag, jobs)
    return app


def register_api(rag: Rag, jobs: BackgroundIngest) -> None:
    """The named endpoints for tools: /ask, /documents, /add_documents, /reingest_document, /remove_document."""

    def fail(error: Exception):
        raise gr.Error(str(error), print_exception=False) from error

    def ask(question: str, top_k: int = 5) -> tuple[str, dict]:
        """Answer a question: the answer text, and the same JSON as `python -m rag ask --json`."""
        try:
            answer = rag.ask(question, top_k=int(top_k))
        except RagError as error:
            fail(error)
        return answer.text, answer.to_json()

    def documents() -> list[dict]:
        """The indexed documents: source, title, format, language, chunks, added, present (False: file gone)."""
        try:
            return [d.model_dump() for d in indexed_documents(rag)]
        except RagError as error:
            fail(error)

    def add_documents(files: list[FileData], replace: bool = False) -> dict:
        """Add documents (PDF, DOCX, HTML, Markdown, text): the good ones are ingested, each bad one is named with a reason.
        A file whose name exists is replaced only with replace=True."""
        paths = [Path(f.path if isinstance(f, FileData) else f["path"] if isinstance(f, dict) else f) for f in files or []]
        plan = plan_upload(paths, rag.corpus_folder(), rag.settings)
        rejected = [{"name": r.name, "reason": r.reason} for r in plan.rejected]
        accepted = plan.ready + (plan.conflicts if replace else [])
        if not replace:
            rejected += [
                {"name": p.name, "reason": f"{p.name} already exists in the folder; pass replace=True to replace it."}
                for p in plan.conflicts
            ]
        report = ""
        if accepted:
            try:
                adding = jobs.run_now(f"Adding {len(accepted)} files", lambda: add_files(rag, accepted, progress=False))
                report = adding.summary()
            except RagError as error:
                fail(error)
        return {"added": [p.name for p in accepted], "rejected": rejected, "report": report}

    def reingest_document(source: str) -> dict:
        """Read one indexed document again from the source folder and update its chunks. The content
        hash decides: outcome "updated" (chunks before and after), or "unchanged" (nothing embedded).
        A document whose file is gone is an error saying so; /remove_document takes it out."""
        try:
            report = jobs.run_now(
                f"Re-ingesting {source}", lambda: rag.reingest_document(source, progress=False), subject=source
            )
        except RagError as error:
            fail(error)
        return report.to_json()

    def remove_document(source: str, delete_file: bool = False) -> dict:
        """Remove a document from the index. Its file stays in the folder unless delete_file=True."""
        try:
            work = (lambda: rag.remove_document(source)) if delete_file else (lambda: rag.remove_from_index(source))
            report = jobs.run_now(f"Removing {source}", work).summary()
        except RagError as error:
            fail(error)
        return {"source": source, "file_deleted": bool(delete_file), "report": report}

    gr.api(ask, api_name="ask", concurrency_limit=8)
    gr.api(documents, api_name="documents")
    gr.api(add_documents, api_name="add_documents", concurrency_limit=1)
    gr.api(reingest_document, api_name="reingest_document", concurrency_limit=1)
    gr.api(remove_document, api_name="remove_document", concurrency_limit=1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the cited-answers chat app.")
    parser.add_argument("--host", default=None, help="Interface to bind (default 127.0.0.1 or GRADIO_SERVER_NAME).")
    parser.add_argument("--port", type=int, default=None, help="Port (default 7860 or GRADIO_SERVER_PORT).")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    rag = open_rag(load_settings())
    try:
        ensure_index(rag)
    except RagError as error:
        raise SystemExit(f"error: {error}") from None
    app = build_app(rag)
    app.queue(default_concurrency_limit=8).launch(
        server_name=args.host,
        server_port=args.port,
        share=False,
        css=assets.css() + PAGE_CSS,
        head=assets.head_script(),
        footer_links=["api"],
    )


if __name__ == "__main__":
    main()
