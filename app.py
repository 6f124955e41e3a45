"""Gradio chat over the corpus: streamed answers, numbered citations, passages in context.

A thin layer over the public API (rag.api.Rag); presentation helpers live in rag.web.presentation,
follow-up handling in rag.answer.conversation.

    python app.py [--host 127.0.0.1] [--port 7860]

Tools can call the running app: ``gradio_client.Client(url).predict("question", 5, api_name="/ask")``
returns the answer text and the same JSON as ``python -m rag ask --json``.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict

from rag.runtime.offline import prepare_offline_environment

prepare_offline_environment()  # before gradio is imported: no analytics, no update check

import gradio as gr  # noqa: E402

from rag import AnswerDelta, AnswerDone, RagError, load_settings, open_rag  # noqa: E402
from rag.answer.conversation import Turn  # noqa: E402
from rag.api import Rag  # noqa: E402
from rag.errors import StoreError  # noqa: E402
from rag.web.presentation import (  # noqa: E402
    CSS,
    HEAD_JS,
    answer_markdown,
    sources_html,
    unlink_markers,
)
from rag.web.pages import PAGE_CSS, citation_page_view  # noqa: E402

log = logging.getLogger("app")

EXAMPLES = [
    "Why did Clark lose his powers?",
    "Wohin verbannt Clark die beiden Kryptonier?",
    "Who is Morgan Edge?",
]
EMPTY_SOURCES = "<div class='sources'><p>Sources of the answer appear here.</p></div>"


def ensure_index(rag: Rag) -> None:
    """Ingest the configured folder when the store is missing or empty (first start)."""
    try:
        if rag.info().documents:
            return
    except StoreError:
        pass
    log.info("The index is empty: ingesting %s", rag.settings.source_dir)
    rag.ingest(progress=False)


def index_state(rag: Rag) -> tuple[str, list[tuple[str, str]]]:
    """The status line and the document choices, from one read of the index."""
    mode = rag.settings.answer_mode
    llm = f"LLM: {rag.settings.llm_model} at {rag.settings.llm_base_url}" if rag.llm_available() else "no LLM configured"
    try:
        info = rag.info()
    except RagError as error:
        return f"**Mode:** {mode} ({llm}) · **Index:** index unavailable: {error}", []
    index = f"{len(info.documents)} documents, {info.chunks} chunks · store: `{info.location}`"
    choices = [(f"{d['title']} ({d['source']})", d["source"]) for d in info.documents]
    return f"**Mode:** {mode} ({llm}) · **Index:** {index}", choices


def friendly(error: Exception) -> str:
    if isinstance(error, RagError):
        return f"⚠️ {error}"
    log.exception("unexpected error")
    return f"⚠️ Something went wrong ({type(error).__name__}: {error}). The app keeps working; try again."


def unlinked(message: dict) -> dict:
    """An earlier chat message with plain markers: the sources panel shows only the latest answer."""
    if message.get("role") != "assistant":
        return message
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": unlink_markers(content)}
    if isinstance(content, list):  # Gradio 6 sends message content back as a list of parts
        parts = [
            {**part, "text": unlink_markers(part["text"])}
            if isinstance(part, dict) and part.get("type") == "text"
            else part
            for part in content
        ]
        return {**message, "content": parts}
    return message


def build_app(rag: Rag) -> gr.Blocks:
    def source_text(source: str) -> str | None:
        try:
            return rag.source_text(source)
        except RagError:
            return None

    def respond(message, chat, turns, top_k, mode, sources):
        earlier = [unlinked(m) for m in chat or []]
        try:
            rag.validate_question(message)
        except RagError as error:
            yield earlier + [{"role": "assistant", "content": friendly(error)}], gr.skip(), gr.skip(), turns, ""
            return
        chat = earlier + [{"role": "user", "content": message}]
        searched_note = ""
        try:
            searched = rag.condense([Turn(**t) for t in turns], message, use_llm=(mode == "llm"))
            searched_note = f"Searched for: *{searched}*"
            chat.append({"role": "assistant", "content": "…"})
            yield chat, gr.skip(), searched_note, turns, ""
            streamed, answer = "", None
            for event in rag.ask_stream(searched, top_k=int(top_k), sources=sources or None, mode=mode):
                if isinstance(event, AnswerDelta):
                    streamed += event.text
                    chat[-1] = {"role": "assistant", "content": answer_markdown(streamed)}
                    yield chat, gr.skip(), searched_note, turns, ""
                elif isinstance(event, AnswerDone):
                    answer = event.answer
            chat[-1] = {"role": "assistant", "content": answer_markdown(answer.text)}
            turns = list(turns) + [asdict(Turn(question=message, searched=searched))]
            page_view = lambda citation: citation_page_view(rag, citation)  # noqa: E731
            yield chat, sources_html(answer, source_text, page_view), searched_note, turns, ""
        except Exception as error:  # every failure becomes a chat message, never a traceback
            if chat[-1]["role"] == "assistant":
                chat.pop()
            chat.append({"role": "assistant", "content": friendly(error)})
            yield chat, gr.skip(), searched_note, turns, ""

    def after_corpus_change(report_text):
        status_text, choices = index_state(rag)
        return (
            report_text,
            status_text,
            gr.update(choices=choices, value=[]),
            gr.update(choices=choices, value=None),
        )

    def upload(files, progress=gr.Progress(track_tqdm=True)):
        try:
            paths = [getattr(f, "name", f) for f in files or []]
            if not paths:
                return after_corpus_change("Choose documents first (PDF, DOCX, HTML, Markdown or text).")
            return after_corpus_change("Added. " + rag.add_documents(paths, progress=True).summary())
        except Exception as error:
            return after_corpus_change(friendly(error))

    def delete(source, progress=gr.Progress(track_tqdm=True)):
        try:
            if not source:
                return after_corpus_change("Choose a document to delete.")
            return after_corpus_change("Deleted. " + rag.remove_document(source, progress=True).summary())
        except Exception as error:
            return after_corpus_change(friendly(error))

    def reingest(progress=gr.Progress(track_tqdm=True)):
        try:
            return after_corpus_change("Re-ingested. " + rag.ingest(progress=True).summary())
        except Exception as error:
            return after_corpus_change(friendly(error))

    def clear():
        return [], EMPTY_SOURCES, "", []

    modes = ["extractive", "llm"] if rag.llm_available() else ["extractive"]
    with gr.Blocks(title="Cited answers") as app:
        gr.Markdown("## Ask the texts\nAnswers cite numbered passages; click a marker to see its source.")
        status_text, choices = index_state(rag)
        status = gr.Markdown(status_text, elem_id="status")
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=460, elem_id="chat", feedback_options=None)
                searched = gr.Markdown("", elem_id="searched")
                with gr.Row():
                    message = gr.Textbox(
                        placeholder="Ask in English or German…", show_label=False, scale=5, elem_id="question"
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
                gr.Examples(EXAMPLES, inputs=message)
                clear_button = gr.Button("New conversation", size="sm")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources_panel = gr.HTML(EMPTY_SOURCES, elem_id="sources")
        with gr.Accordion("Search settings", open=False):
            source_filter = gr.CheckboxGroup(
                choices, label="Only search these documents (none = all)", elem_id="filter"
            )
            top_k = gr.Slider(1, 20, value=rag.settings.top_k, step=1, label="Passages to retrieve (top-k)")
            mode = gr.Radio(modes, value=rag.settings.answer_mode if rag.settings.answer_mode in modes else "extractive",
                            label="Answer mode", elem_id="mode")
        with gr.Accordion("Documents", open=False):
            uploads = gr.File(
                label="Add documents (PDF, DOCX, HTML, Markdown, text)",
                file_count="multiple",
                file_types=list(rag.settings.file_extensions),
                elem_id="upload",
            )
            add_button = gr.Button("Add and ingest")
            with gr.Row():
                to_delete = gr.Dropdown(choices, label="Document", scale=3)
                delete_button = gr.Button("Delete document", variant="stop", scale=1)
            reingest_button = gr.Button("Re-ingest folder")
            corpus_report = gr.Markdown("")

        chat_inputs = [message, chatbot, turns, top_k, mode, source_filter]
        chat_outputs = [chatbot, sources_panel, searched, turns, message]
        for trigger in (message.submit, send.click):
            trigger(respond, chat_inputs, chat_outputs, concurrency_limit=8, api_visibility="private")
        clear_button.click(clear, None, [chatbot, sources_panel, searched, turns], api_visibility="private")
        corpus_outputs = [corpus_report, status, source_filter, to_delete]
        add_button.click(upload, uploads, corpus_outputs, api_visibility="private")
        delete_button.click(delete, to_delete, corpus_outputs, api_visibility="private")
        reingest_button.click(reingest, None, corpus_outputs, api_visibility="private")

        def ask(question: str, top_k: int = 5) -> tuple[str, dict]:
            """Answer a question: the answer text, and the same JSON as `python -m rag ask --json`."""
            try:
                answer = rag.ask(question, top_k=int(top_k))
            except RagError as error:
                raise gr.Error(str(error), print_exception=False) from error
            return answer.text, answer.to_json()

        gr.api(ask, api_name="ask", concurrency_limit=8)
    return app


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
        css=CSS + PAGE_CSS,
        head=HEAD_JS,
        footer_links=["api"],
    )


if __name__ == "__main__":
    main()
