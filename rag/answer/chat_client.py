"""A streaming chat client for OpenAI-protocol servers that cannot outlast its deadline.

The HTTP exchange runs in a helper thread that hands each piece of the answer over a queue; the
asking thread waits on that queue only as long as the ``Deadline`` allows, so neither a server
that hangs before answering nor one that sends a token every few seconds can hold a question
longer than ``llm_timeout``. The helper thread stops at the next piece it reads (or when its own
read timeout, set to the time left, expires).

An answer is accepted only when the stream says it is finished (``finish_reason`` "stop"): a
stream that breaks off, ends without that marker, or ends because of the token limit is an
error, and what arrived is not passed off as the answer. A server that ignores ``max_tokens`` is
cut off at the limit instead of being read to the end.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from rag.answer.deadline import Deadline
from rag.config import Settings
from rag.errors import ConfigError, LLMError
from rag.text.tokens import count_tokens
from rag.types import TokenUsage

OPENAI_HOST = "api.openai.com"
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
#: Server tokenizers count differently from ours (cl100k): the cut-off leaves this much room.
TOKEN_LIMIT_SLACK = 1.25
#: An event carries one token in a JSON envelope of a few hundred bytes.
BYTES_PER_TOKEN = 1024
ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True)
class ChatDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class ChatFinished:
    """The stream ended with its finish marker; ``usage`` as the server counted it, if it did."""

    usage: TokenUsage | None


ChatEvent = ChatDelta | ChatFinished


class ChatClient:
    """Streams chat completions from ``settings.llm_base_url``. Safe to share between threads."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        self.where = f"the LLM server at {settings.llm_base_url}"
        self._headers = {"Authorization": f"Bearer {api_key(settings)}", "Accept": "text/event-stream"}
        self._http = httpx.Client(follow_redirects=False)

    def stream(self, messages: list[ChatMessage], deadline: Deadline, max_tokens: int | None = None) -> Iterator[ChatEvent]:
        """``ChatDelta`` pieces, then one ``ChatFinished``; an ``LLMError`` for every failure."""
        max_tokens = max_tokens or self.settings.llm_max_tokens
        body = self._request_body(messages, max_tokens)
        channel: queue.Queue = queue.Queue()
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read_into, args=(body, max_tokens, deadline, channel, stop), name="rag-llm-stream", daemon=True
        )
        started = time.monotonic()
        reader.start()
        tokens = 0
        try:
            while True:
                event = self._next_event(channel, deadline, started, tokens)
                if isinstance(event, ChatDelta):
                    tokens += 1
                yield event
                if isinstance(event, ChatFinished):
                    return
        finally:
            stop.set()

    def complete(self, messages: list[ChatMessage], deadline: Deadline, max_tokens: int | None = None) -> str:
        """The whole answer as one text (streamed underneath, so the deadline holds)."""
        return "".join(e.text for e in self.stream(messages, deadline, max_tokens) if isinstance(e, ChatDelta))

    # --- the asking thread ------------------------------------------------------------------------

    def _next_event(self, channel: queue.Queue, deadline: Deadline, started: float, tokens: int) -> ChatEvent:
        wait = deadline.remaining()
        first_token_limit = self.settings.llm_first_token_timeout  # connecting counts into it
        waiting_for_first = tokens == 0 and first_token_limit - (time.monotonic() - started) < wait
        if waiting_for_first:
            wait = first_token_limit - (time.monotonic() - started)
        try:
            event = channel.get(timeout=max(wait, 0.0))
        except queue.Empty:
            raise self._timeout_error(waiting_for_first, deadline, tokens) from None
        if isinstance(event, Exception):
            raise event
        return event

    def _timeout_error(self, waiting_for_first: bool, deadline: Deadline, tokens: int) -> LLMError:
        if waiting_for_first:
            return LLMError(
                f"{self.where} sent no answer within {self.settings.llm_first_token_timeout:g} s "
                "(RAG_LLM_FIRST_TOKEN_TIMEOUT). It may be overloaded or still loading the model; try again later."
            )
        if tokens == 0:
            return LLMError(
                f"{self.where} sent no answer before the question's time ran out ({self.settings.llm_timeout:g} s "
                "per question, RAG_LLM_TIMEOUT). It may be overloaded or still loading the model; try again later."
            )
        return LLMError(
            f"{self.where} did not finish the answer within {deadline.elapsed():.0f} s (the limit is "
            f"{self.settings.llm_timeout:g} s per question, RAG_LLM_TIMEOUT; {tokens} pieces had arrived). "
            "The incomplete answer is not shown; try again, or raise RAG_LLM_TIMEOUT for a slow server."
        )

    # --- the reading thread -----------------------------------------------------------------------

    def _read_into(self, body: dict, max_tokens: int, deadline: Deadline, channel: queue.Queue, stop: threading.Event) -> None:
        try:
            for event in self._events_with_retries(body, max_tokens, deadline, stop):
                channel.put(event)
        except LLMError as error:
            channel.put(error)
        except Exception as error:  # httpx and json raise many types; each becomes one clear message
            channel.put(self._transport_error(error))

    def _events_with_retries(self, body: dict, max_tokens: int, deadline: Deadline, stop: threading.Event):
        attempt = 0
        while True:
            try:
                yield from self._events(body, max_tokens, deadline, stop)
                return
            except _Retryable as retryable:
                attempt += 1
                pause = 0.25 * 2**attempt
                if attempt > self.settings.llm_max_retries or deadline.remaining() < pause + 1 or stop.is_set():
                    raise retryable.error from None
                time.sleep(pause)

    def _events(self, body: dict, max_tokens: int, deadline: Deadline, stop: threading.Event) -> Iterator[ChatEvent]:
        timeout = httpx.Timeout(
            connect=self.settings.llm_connect_timeout,
            read=max(deadline.remaining(), 0.1),
            write=self.settings.llm_connect_timeout,
            pool=self.settings.llm_connect_timeout,
        )
        try:
            with self._http.stream("POST", self.url, json=body, headers=self._headers, timeout=timeout) as response:
                if response.status_code != 200:
                    error = self._status_error(response)
                    raise _Retryable(error) if response.status_code in RETRY_STATUSES else error
                yield from _SSEReader(self, max_tokens).events(response, stop)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise _Retryable(self._transport_error(error)) from error

    def _status_error(self, response: httpx.Response) -> LLMError:
        message = _error_message(_read_capped(response, ERROR_BODY_BYTES))
        status = response.status_code
        if status in (401, 403):
            return LLMError(f"{self.where} rejected the API key (HTTP {status}). Check RAG_LLM_API_KEY.")
        if status == 404:
            return LLMError(
                f"{self.where} does not know model {self.settings.llm_model!r} or the URL "
                f"(HTTP 404: {message}). Check RAG_LLM_MODEL and RAG_LLM_BASE_URL."
            )
        return LLMError(f"{self.where} failed with HTTP {status}: {message}")

    def _transport_error(self, error: Exception) -> LLMError:
        if isinstance(error, httpx.ConnectTimeout):
            return LLMError(
                f"{self.where} did not accept a connection within {self.settings.llm_connect_timeout:g} s "
                "(RAG_LLM_CONNECT_TIMEOUT). Is it running? Check RAG_LLM_BASE_URL."
            )
        if isinstance(error, httpx.ConnectError):
            return LLMError(f"Cannot connect to {self.where}. Is it running? Check RAG_LLM_BASE_URL.")
        if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError)):
            return LLMError(f"{self.where} closed the connection without answering. Is it restarting? Try again.")
        if isinstance(error, httpx.TimeoutException):
            return LLMError(f"{self.where} did not answer within {self.settings.llm_timeout:g} s (RAG_LLM_TIMEOUT).")
        return LLMError(f"{self.where} failed: {type(error).__name__}: {error}")

    def cut_off_error(self, why: str) -> LLMError:
        return LLMError(
            f"The model's answer was cut off ({why}); {self.where} did not finish it, so it is not shown. "
            "Ask again; if it keeps happening, check the server."
        )

    def _request_body(self, messages: list[ChatMessage], max_tokens: int) -> dict:
        return {
            "model": self.settings.llm_model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
            "temperature": self.settings.llm_temperature,
        }


class _Retryable(Exception):
    """A failure before any answer arrived that another attempt may not meet."""

    def __init__(self, error: LLMError):
        super().__init__(str(error))
        self.error = error


class _SSEReader:
    """Reads one server-sent-event stream into ``ChatEvent``s, within byte and token limits."""

    def __init__(self, client: ChatClient, max_tokens: int):
        self.client = client
        self.max_tokens = max_tokens
        self.token_limit = int(max_tokens * TOKEN_LIMIT_SLACK) + 16
        self.byte_limit = 64 * 1024 + max_tokens * BYTES_PER_TOKEN
        self.tokens = 0
        self.finish_reason: str | None = None
        self.usage: TokenUsage | None = None

    def events(self, response: httpx.Response, stop: threading.Event) -> Iterator[ChatEvent]:
        for payload in self._data_lines(response, stop):
            if payload == b"[DONE]":
                break
            yield from self._deltas(_json_object(payload, self.client))
        yield self._finished()

    def _data_lines(self, response: httpx.Response, stop: threading.Event) -> Iterator[bytes]:
        buffer = b""
        received = 0
        for data in _bytes_until_broken(response, self.client):
            if stop.is_set():
                return
            received += len(data)
            if received > self.byte_limit:
                raise self._too_long()
            *lines, buffer = (buffer + data).split(b"\n")
            for line in lines:
                line = line.strip()
                if line.startswith(b"data:"):
                    yield line[5:].strip()

    def _deltas(self, chunk: dict) -> Iterator[ChatDelta]:
        if isinstance(chunk.get("error"), dict):
            raise LLMError(f"{self.client.where} failed while answering: {_error_message(json.dumps(chunk).encode())}")
        self.usage = _usage(chunk.get("usage")) or self.usage
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            text = (choice.get("delta") or {}).get("content")
            if isinstance(text, str) and text:
                self.tokens += count_tokens(text)
                if self.tokens > self.token_limit:
                    raise self._too_long()
                yield ChatDelta(text)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    def _finished(self) -> ChatFinished:
        if self.finish_reason == "stop":
            return ChatFinished(self.usage)
        if self.finish_reason == "length":
            raise self.client.cut_off_error(
                f"it reached llm_max_tokens, {self.max_tokens} tokens; raise RAG_LLM_MAX_TOKENS for longer answers"
            )
        if self.finish_reason:
            raise self.client.cut_off_error(f"the server stopped it: finish_reason {self.finish_reason!r}")
        raise self.client.cut_off_error("the stream ended without its finish marker")

    def _too_long(self) -> LLMError:
        return self.client.cut_off_error(
            f"it grew past llm_max_tokens, {self.max_tokens} tokens, which the server ignored; reading stopped there"
        )


def api_key(settings: Settings) -> str:
    key = settings.api_key_value()
    if key:
        return key
    if OPENAI_HOST in settings.llm_base_url:
        raise ConfigError(
            "LLM mode with OpenAI needs an API key: set RAG_LLM_API_KEY (or use "
            "RAG_LLM_BASE_URL for a local OpenAI-compatible server)."
        )
    return "not-needed"  # local servers (vLLM, Ollama, llama.cpp) ignore the key


def _bytes_until_broken(response: httpx.Response, client: ChatClient) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes()
    except (httpx.RemoteProtocolError, httpx.ReadError) as error:
        raise client.cut_off_error("the connection broke") from error


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    body = b""
    for data in response.iter_bytes():
        body += data
        if len(body) >= limit:
            break
    return body[:limit]


def _error_message(body: bytes) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the start of the body."""
    try:
        error = json.loads(body).get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    text = message if isinstance(message, str) else body.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:300] + (" …" if len(text) > 300 else "") or "(no message)"


def _json_object(payload: bytes, client: ChatClient) -> dict:
    try:
        chunk = json.loads(payload)
    except ValueError:
        raise LLMError(f"{client.where} sent a stream event that is not JSON; is it an OpenAI-compatible server?") from None
    if not isinstance(chunk, dict):
        raise LLMError(f"{client.where} sent a stream event that is not a JSON object.")
    return chunk


def _usage(usage: object) -> TokenUsage | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return TokenUsage(prompt=prompt, completion=completion)
