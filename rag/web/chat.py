"""Asking inside a conversation: validate, condense the follow-up, stream the answer, record the
exchange. The web app maps each ``ChatUpdate`` onto its components; nothing here knows Gradio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rag.api import Rag
from rag.errors import RagError
from rag.types import AnswerDelta, AnswerDone, Citation
from rag.web.conversations import Conversation, Exchange
from rag.web.presentation import answer_markdown, filter_note, inert_markdown, no_page_view, sources_panel_html

log = logging.getLogger(__name__)

PENDING = "…"


@dataclass(frozen=True)
class ChatUpdate:
    """What the page shows at one step of answering."""

    messages: list[dict]
    conversation: Conversation
    searched_note: str = ""
    sources_html: str | None = None  # None: leave the panel as it is
    input_error: str = ""  # shown next to the question box, which keeps its text
    done: bool = False  # the exchange was answered and recorded (the question box may be cleared)


def friendly(error: Exception) -> str:
    if isinstance(error, RagError):
        return f"⚠️ {inert_markdown(str(error))}"
    log.exception("unexpected error")
    return f"⚠️ Something went wrong ({type(error).__name__}: {inert_markdown(str(error))}). The app keeps working; try again."


def exchange_message(exchange: Exchange, number: int) -> str:
    text = answer_markdown(exchange.answer.text, number)
    note = filter_note(exchange.sources_filter) if exchange.answer.not_found else ""
    return f"{text}\n\n*{inert_markdown(note)}*" if note else text


def chat_messages(conversation: Conversation) -> list[dict]:
    """The chat of a conversation: each question, then its answer with markers to its own sources."""
    messages = []
    for number, exchange in enumerate(conversation.exchanges, start=1):
        messages.append({"role": "user", "content": inert_markdown(exchange.question)})
        messages.append({"role": "assistant", "content": exchange_message(exchange, number)})
    return messages


def searched_note(searched: str) -> str:
    return f"Searched for: *{inert_markdown(searched)}*" if searched else ""


def last_searched_note(conversation: Conversation) -> str:
    return searched_note(conversation.exchanges[-1].searched) if conversation.exchanges else ""


def sources_panel(
    conversation: Conversation,
    source_text: Callable[[str], str | None],
    page_view: Callable[[Citation], str] = no_page_view,
) -> str:
    return sources_panel_html([(e.answer, e.sources_filter) for e in conversation.exchanges], source_text, page_view)


def ask_in_conversation(
    rag: Rag,
    conversation: Conversation,
    question: str,
    top_k: int,
    mode: str,
    sources: list[str],
    source_text: Callable[[str], str | None],
    page_view: Callable[[Citation], str] = no_page_view,
) -> Iterator[ChatUpdate]:
    """Stream one exchange. An invalid question changes nothing but the error next to the input."""
    shown = chat_messages(conversation)
    try:
        rag.validate_question(question)
    except RagError as error:
        yield ChatUpdate(shown, conversation, last_searched_note(conversation), input_error=str(error))
        return
    shown = shown + [{"role": "user", "content": inert_markdown(question)}]
    note = ""
    try:
        searched = rag.condense(conversation.turns(), question, use_llm=(mode == "llm"))
        note = searched_note(searched)
        number = len(conversation.exchanges) + 1
        yield ChatUpdate(shown + [{"role": "assistant", "content": PENDING}], conversation, note)
        streamed, answer = "", None
        for event in rag.ask_stream(searched, top_k=int(top_k), sources=sources or None, mode=mode):
            if isinstance(event, AnswerDelta):
                streamed += event.text
                partial = {"role": "assistant", "content": answer_markdown(streamed, number)}
                yield ChatUpdate(shown + [partial], conversation, note)
            elif isinstance(event, AnswerDone):
                answer = event.answer
        exchange = Exchange(question=question, searched=searched, answer=answer, sources_filter=list(sources or []))
        conversation = conversation.with_exchange(exchange)
        yield ChatUpdate(chat_messages(conversation), conversation, note, sources_panel(conversation, source_text, page_view), done=True)
    except Exception as error:  # every failure becomes a chat message, never a traceback
        yield ChatUpdate(shown + [{"role": "assistant", "content": friendly(error)}], conversation, note)
