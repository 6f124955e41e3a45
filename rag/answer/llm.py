"""LLM answers through OpenAI or any OpenAI-compatible server, with validated citations.

The model sees the retrieved passages numbered [1]..[k], each between delimiters its text cannot
forge (rag.answer.passage_prompt), and must cite them. Afterwards, markers pointing to no passage
are dropped, the cited passages are renumbered by first appearance (the same renumbering runs
while streaming, so streamed and final text agree) and uncited sentences are marked unsupported.
Answers and translations stream through rag.answer.chat_client, within one deadline per question.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag.answer.chat_client import (
    OPENAI_HOST,
    ChatClient,
    ChatFinished,
    ChatMessage,
    api_key,
)
from rag.answer.citations import (
    StreamingRenumberer,
    drop_markers_beyond,
    mark_unsupported_sentences,
    supporting_sentence_spans,
    tidy_spacing,
)
from rag.answer.deadline import Deadline, LLMTimeouts
from rag.answer.passage_prompt import delimit_passages, new_delimiter_code
from rag.answer.prompts import language_name, load_prompt
from rag.config import Settings
from rag.errors import LLMError
from rag.retrieval.passages import RetrievalResult
from rag.retrieval.relevance import RelevanceGate
from rag.text.tokens import count_tokens
from rag.types import (
    REFUSAL,
    Answer,
    AnswerDelta,
    AnswerDone,
    Passage,
    StreamEvent,
    TokenUsage,
)

__all__ = ["OPENAI_HOST", "LLMAnswerer", "LLMQueryTranslator", "build_llm", "llm_error"]

PROMPT_OVERHEAD_TOKENS = 200
TRANSLATION_MAX_TOKENS = 256


def build_llm(settings: Settings) -> Any:
    """A LlamaIndex chat LLM for condensing follow-up questions (rag.answer.conversation).

    One request without retries, so the wait matches the ``llm_timeout`` its errors name;
    answers and translations go through ``ChatClient`` instead."""
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=api_key(settings),
        is_chat_model=True,
        context_window=settings.llm_context_window,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
        max_retries=0,
    )


def llm_error(error: Exception, settings: Settings) -> LLMError:
    """A message a person can act on, for any failure of the LLM client."""
    import openai

    where = f"the LLM server at {settings.llm_base_url}"
    if isinstance(error, openai.AuthenticationError):
        return LLMError(f"{where} rejected the API key. Check RAG_LLM_API_KEY.")
    if isinstance(error, openai.NotFoundError):
        return LLMError(f"{where} does not know model {settings.llm_model!r}. Check RAG_LLM_MODEL.")
    if isinstance(error, openai.APITimeoutError):
        return LLMError(f"{where} did not answer within {settings.llm_timeout:.0f} s.")
    if isinstance(error, openai.APIConnectionError):
        return LLMError(f"Cannot connect to {where}. Is it running? Check RAG_LLM_BASE_URL.")
    if isinstance(error, openai.APIStatusError):
        return LLMError(f"{where} failed with HTTP {error.status_code}: {error.message}")
    return LLMError(f"{where} failed: {type(error).__name__}: {error}")


class LLMAnswerer:
    """Generates an answer in the question's language from numbered, delimited passages."""

    mode = "llm"

    def __init__(self, settings: Settings, gate: RelevanceGate, client: ChatClient | None = None):
        self.settings = settings
        self.gate = gate
        self.client = client or ChatClient(settings)
        self.system_prompt = load_prompt(settings.prompts_dir, "answer_system")
        self.user_prompt = load_prompt(settings.prompts_dir, "answer_user")

    def answer(self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None) -> Answer:
        final = None
        for event in self.stream(question, retrieval, deadline):
            if isinstance(event, AnswerDone):
                final = event.answer
        assert final is not None
        return final

    def stream(
        self, question: str, retrieval: RetrievalResult, deadline: Deadline | None = None
    ) -> Iterator[StreamEvent]:
        """Deltas as the model writes; an ``LLMError`` (and no ``AnswerDone``) when the answer does
        not arrive complete within the deadline."""
        passages = retrieval.passages
        if not passages or not self.gate.supports(passages):
            yield AnswerDone(Answer.refusal(question, self.mode, passages, prompt_tokens=0))  # no model call
            return
        deadline = deadline or LLMTimeouts.of(self.settings).start()
        messages, shown = self.messages(question, retrieval.plan.language, passages)
        renumberer = StreamingRenumberer(len(shown))
        raw_parts: list[str] = []
        emitted_parts: list[str] = []
        usage = None
        for event in self.client.stream(messages, deadline):
            if isinstance(event, ChatFinished):
                usage = event.usage
                break
            raw_parts.append(event.text)
            emitted_parts.append(renumberer.feed(event.text))
            if emitted_parts[-1]:
                yield AnswerDelta(emitted_parts[-1])
        emitted_parts.append(renumberer.finish())
        if emitted_parts[-1]:
            yield AnswerDelta(emitted_parts[-1])
        text = tidy_spacing(drop_markers_beyond("".join(emitted_parts), len(renumberer.order)))
        answer = self._final_answer(
            question, "".join(raw_parts), text, shown, renumberer, messages, usage, retrieval.plan.language
        )
        yield AnswerDone(answer)

    def messages(self, question: str, language: str, passages: list[Passage]) -> tuple[list[ChatMessage], list[Passage]]:
        code = new_delimiter_code()
        system = self.system_prompt.format(language=language_name(language), refusal=REFUSAL, code=code)
        shown = self._passages_that_fit(system, question, passages)
        context = delimit_passages(shown, code)
        user = self.user_prompt.format(context=context, question=question, language=language_name(language))
        return [ChatMessage("system", system), ChatMessage("user", user)], shown

    def _passages_that_fit(self, system: str, question: str, passages: list[Passage]) -> list[Passage]:
        budget = (
            self.settings.llm_context_window
            - self.settings.llm_max_tokens
            - PROMPT_OVERHEAD_TOKENS
            - count_tokens(system)
            - count_tokens(question)
        )
        shown = []
        for passage in passages:
            cost = count_tokens(passage.text) + 40  # the header and the two delimiter lines
            if cost > budget:
                break
            shown.append(passage)
            budget -= cost
        return shown

    def _final_answer(self, question, raw, text, shown, renumberer, messages, usage, language) -> Answer:
        prompt_tokens = sum(count_tokens(m.content) for m in messages)
        usage = usage or TokenUsage(prompt=prompt_tokens, completion=count_tokens(raw))
        citations = [
            c.model_copy(update={"highlights": supporting_sentence_spans(text, c.n, c.passage)})
            for c in renumberer.citations(shown)
        ]
        if _is_refusal(raw) or not citations:  # an answer citing nothing is not grounded
            return Answer.refusal(question, self.mode, shown, usage.prompt)
        return Answer.cited(question, mark_unsupported_sentences(text, language), citations, self.mode, usage, shown)


def _is_refusal(text: str) -> bool:
    normalise = lambda s: " ".join(s.lower().split()).strip(" .")
    return normalise(REFUSAL) in normalise(text)


class LLMQueryTranslator:
    """Translates a question into the corpus's other languages with the LLM, so lexical search
    meets other-language documents with real translations instead of word-by-word ones.

    Each translation may take at most ``llm_first_token_timeout`` of the question's deadline; the
    engine falls back to the dictionary when it fails."""

    def __init__(self, settings: Settings, client: ChatClient | None = None):
        self.settings = settings
        self.client = client or ChatClient(settings)
        self.prompt = load_prompt(settings.prompts_dir, "translate_query")

    def translations(
        self, question: str, question_language: str, languages: list[str], deadline: Deadline | None = None
    ) -> dict[str, str]:
        deadline = deadline or LLMTimeouts.of(self.settings).start()
        result = {}
        for language in languages:
            if language == question_language or language not in ("en", "de"):
                continue
            message = self.prompt.format(language=language_name(language), question=question)
            budget = deadline.capped(self.settings.llm_first_token_timeout)
            reply = self.client.complete([ChatMessage("user", message)], budget, max_tokens=TRANSLATION_MAX_TOKENS)
            reply = reply.strip().strip('"').strip()
            if reply:
                result[language] = reply.splitlines()[0]
        return result
