"""Follow-up questions: condensing a conversation's last question into a standalone one.

With an LLM configured, the model rewrites the question (prompts/condense_question.txt).
Without one, a deterministic rule carries the previous standalone question's subject words and
names forward into a follow-up that leans on it ("Who gave them back to him?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text.language import STOPWORDS, detect_language, tokenize

# Words that point back into the conversation.
REFERRING_WORDS = {
    "en": {"he", "him", "his", "she", "her", "hers", "they", "them", "their", "it", "its", "that",
           "this", "those", "these", "there", "then", "one", "same"},
    "de": {"er", "ihn", "ihm", "sein", "seine", "seinen", "seinem", "seiner", "sie", "ihr", "ihre",
           "ihren", "ihrem", "ihrer", "es", "dort", "dann", "das", "dies", "diese", "dieser", "diesen",
           "deren", "dessen", "damit", "dabei", "davon", "dafür"},
}
QUESTION_WORDS = {"why", "what", "who", "whom", "whose", "where", "when", "which", "how", "warum",
                  "was", "wer", "wen", "wem", "wessen", "wo", "wohin", "woher", "wann", "welche",
                  "welcher", "welches", "wie", "weshalb", "wieso"}
MAX_CARRIED_WORDS = 6
_CAPITALISED = re.compile(r"\b[A-ZÄÖÜ][\w-]*")


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: what the user asked and what was searched for it."""

    question: str
    searched: str


def needs_context(question: str, language: str) -> bool:
    words = tokenize(question)
    referring = REFERRING_WORDS.get(language, REFERRING_WORDS["en"])
    content = [w for w in words if w not in STOPWORDS.get(language, STOPWORDS["en"]) and w not in QUESTION_WORDS]
    return any(w in referring for w in words) or len(content) <= 1


def subject_words(question: str, language: str) -> list[str]:
    """Names first, then the other content words of a question, in order, without repeats."""
    names = [m.group(0) for m in _CAPITALISED.finditer(question)]
    names = [n for n in names if n.lower() not in QUESTION_WORDS and n.lower() not in STOPWORDS.get(language, set())]
    stop = STOPWORDS.get(language, STOPWORDS["en"]) | QUESTION_WORDS | REFERRING_WORDS.get(language, set())
    others = [w for w in re.findall(r"[\w-]+", question) if w.lower() not in stop and w not in names]
    return list(dict.fromkeys(names + others))


def condense_deterministic(history: Sequence[Turn], question: str) -> str:
    """The question, plus the previous subject's words when the question refers back to it."""
    if not history:
        return question
    language = detect_language(question)
    language = language if language in REFERRING_WORDS else "en"
    if not needs_context(question, language):
        return question
    previous = history[-1].searched or history[-1].question
    present = {w.lower() for w in re.findall(r"[\w-]+", question)}
    carried = [w for w in subject_words(previous, detect_language(previous)) if w.lower() not in present]
    carried = carried[:MAX_CARRIED_WORDS]
    return f"{question} ({', '.join(carried)})" if carried else question


def condense_with_llm(llm, prompt, history: Sequence[Turn], question: str) -> str:
    """The LLM's standalone rewrite; falls back to the question itself if the reply is empty."""
    from llama_index.core.llms import ChatMessage

    transcript = "\n".join(f"User: {turn.question}" for turn in history[-6:])
    message = prompt.format(history=transcript, question=question)
    reply = llm.chat([ChatMessage(role="user", content=message)]).message.content or ""
    reply = reply.strip().strip('"').strip()
    return reply.splitlines()[0] if reply else question
