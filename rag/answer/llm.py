"""LLM answers through OpenAI or any OpenAI-compatible server, with validated citations.

The model sees the retrieved passages numbered [1]..[k] and must cite them. Afterwards, markers
pointing to no passage are dropped and the cited passages are renumbered by first appearance
(the same renumbering runs while streaming, so streamed and final text agree).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag.answer.citations import (
    StreamingRenumberer,
    supporting_sentence_spans,
    tidy_spacing,
)
from rag.answer.prompts import language_name, load_prompt
from rag.config import Settings
from rag.errors import ConfigError, LLMError
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

OPENAI_HOST = "api.openai.com"
PROMPT_OVERHEAD_TOKENS = 200


def build_llm(settings: Settings) -> Any:
    """A LlamaIndex chat LLM for the configured server (OpenAILike accepts any model name)."""
    from llama_index.llms.openai_like import OpenAILike

    api_key = settings.api_key_value()
    if not api_key:
        if OPENAI_HOST in settings.llm_base_url:
            raise ConfigError(
                "LLM mode with OpenAI needs an API key: set RAG_LLM_API_KEY (or use "
                "RAG_LLM_BASE_URL for a local OpenAI-compatible server)."
            )
        api_key = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) ignore the key
    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=api_key,
        is_chat_model=True,
        context_window=settings.llm_context_window,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        additional_kwargs={"stream_options": {"include_usage": True}},
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
    """Generates an answer in the question's language from numbered passages."""

    mode = "llm"

    def __init__(self, settings: Settings, gate: RelevanceGate, llm: Any | None = None):
        self.settings = settings
        self.gate = gate
        self.llm = llm or build_llm(settings)
        self.system_prompt = load_prompt(settings.prompts_dir, "answer_system")
        self.user_prompt = load_prompt(settings.prompts_dir, "answer_user")

    def answer(self, question: str, retrieval: RetrievalResult) -> Answer:
        final = None
        for event in self.stream(question, retrieval):
            if isinstance(event, AnswerDone):
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, retrieval: RetrievalResult) -> Iterator[StreamEvent]:
        passages = retrieval.passages
        if not passages or not self.gate.supports(passages):
            yield AnswerDone(Answer.refusal(question, self.mode, passages))
            return
        messages, shown = self.messages(question, retrieval.plan.language, passages)
        renumberer = StreamingRenumberer(len(shown))
        raw_parts: list[str] = []
        emitted_parts: list[str] = []
        usage = None
        try:
            for chunk in self.llm.stream_chat(messages):
                raw_parts.append(chunk.delta or "")
                usage = _usage_from_raw(chunk.raw) or usage
                emitted_parts.append(renumberer.feed(chunk.delta or ""))
                if emitted_parts[-1]:
                    yield AnswerDelta(emitted_parts[-1])
        except Exception as error:  # the client raises many types; all become one clear message
            raise llm_error(error, self.settings) from error
        emitted_parts.append(renumberer.finish())
        if emitted_parts[-1]:
            yield AnswerDelta(emitted_parts[-1])
        text = tidy_spacing("".join(emitted_parts))
        raw = "".join(raw_parts)
        yield AnswerDone(self._final_answer(question, raw, text, shown, renumberer, messages, usage))

    def messages(self, question: str, language: str, passages: list[Passage]) -> tuple[list, list[Passage]]:
        from llama_index.core.llms import ChatMessage

        system = self.system_prompt.format(language=language_name(language), refusal=REFUSAL)
        shown = self._passages_that_fit(system, question, passages)
        context = "\n\n".join(
            f"[{i}] ({p.title}; {language_name(p.language)})\n{p.text}" for i, p in enumerate(shown, start=1)
        )
        user = self.user_prompt.format(context=context, question=question, language=language_name(language))
        return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)], shown

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
            cost = count_tokens(passage.text) + 20
            if cost > budget:
                break
            shown.append(passage)
            budget -= cost
        return shown

    def _final_answer(self, question, raw, text, shown, renumberer, messages, usage) -> Answer:
        prompt_tokens = sum(count_tokens(m.content or "") for m in messages)
        usage = usage or TokenUsage(prompt=prompt_tokens, completion=count_tokens(raw))
        citations = [
            c.model_copy(update={"highlights": supporting_sentence_spans(text, c.n, c.passage)})
            for c in renumberer.citations(shown)
        ]
        if _is_refusal(raw) or not citations:  # an answer citing nothing is not grounded
            return Answer.refusal(question, self.mode, shown, usage.prompt)
        return Answer.cited(question, text, citations, self.mode, usage, shown)


def _is_refusal(text: str) -> bool:
    normalise = lambda s: " ".join(s.lower().split()).strip(" .")
    return normalise(REFUSAL) in normalise(text)


def _usage_from_raw(raw: Any) -> TokenUsage | None:
    usage = getattr(raw, "usage", None) if raw is not None else None
    if usage is None and isinstance(raw, dict):
        usage = raw.get("usage")
    if not usage:
        return None
    prompt = getattr(usage, "prompt_tokens", None) if not isinstance(usage, dict) else usage.get("prompt_tokens")
    completion = (
        getattr(usage, "completion_tokens", None) if not isinstance(usage, dict) else usage.get("completion_tokens")
    )
    if prompt is None or completion is None:
        return None
    return TokenUsage(prompt=int(prompt), completion=int(completion))


class LLMQueryTranslator:
    """Translates a question into the corpus's other languages with the LLM, so lexical search
    meets other-language documents with real translations instead of word-by-word ones."""

    def __init__(self, settings: Settings, llm: Any | None = None):
        self.settings = settings
        self.llm = llm or build_llm(settings)
        self.prompt = load_prompt(settings.prompts_dir, "translate_query")

    def translations(self, question: str, question_language: str, languages: list[str]) -> dict[str, str]:
        from llama_index.core.llms import ChatMessage

        result = {}
        for language in languages:
            if language == question_language or language not in ("en", "de"):
                continue
            message = self.prompt.format(language=language_name(language), question=question)
            try:
                reply = self.llm.chat([ChatMessage(role="user", content=message)]).message.content or ""
            except Exception as error:
                raise llm_error(error, self.settings) from error
            reply = reply.strip().strip('"').strip()
            if reply:
                result[language] = reply.splitlines()[0]
        return result
