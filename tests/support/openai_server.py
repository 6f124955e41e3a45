"""A small, real OpenAI-compatible HTTP server for the test suite.

It stands in for OpenAI / vLLM / Ollama so that the project's real OpenAI client
code path (the ``openai`` package, llama-index's ``OpenAILike``) is exercised over
a real socket. Standard library only.

Usage::

    with OpenAICompatibleServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k")
        ...
        path, body, headers = server.requests[-1]

Endpoints (all under ``/v1``):

* ``POST /v1/chat/completions``  - non-streaming and SSE streaming (``"stream": true``,
  honours ``stream_options.include_usage``).
* ``POST /v1/completions``       - legacy completions, same reply logic on ``prompt``.
* ``POST /v1/embeddings``        - deterministic hashed bag-of-words vectors,
  ``encoding_format`` "float" (default) or "base64" (float32 little-endian, which
  is what the ``openai`` client asks for by default).
* ``GET  /v1/models``            - one model, ``server.model_name``.
* ``GET  /v1/models/<id>``       - that model, 404 for any other id.

Anything else gets an OpenAI-style 404 error; malformed JSON gets 400.

Replies (``server.reply``):

* ``None`` (default): :func:`default_reply` - take the last user message; if it
  contains numbered passages (a line starting with ``[n]``), answer with the first
  sentence of passage ``[1]`` followed by ``" [1]"`` (if there is no passage 1, the
  first passage found and its own number are used); otherwise ``"No passages."``.
* a string: returned verbatim for every request.
* a callable ``f(messages) -> str`` taking the chat messages (dicts with ``role``
  and ``content``; list-of-parts content is flattened to text). For legacy
  completions it gets ``[{"role": "user", "content": prompt}]``.
  If it raises, the request gets a 500 and the exception is recorded in ``server.errors``.

Failure modes:

* ``server.fail_with = 500`` (or 503, 429, ...): every request gets that status with an
  OpenAI-style error body ``{"error": {"message", "type", "param", "code"}}``.
* ``server.require_api_key = "secret"``: requests whose ``Authorization`` header is not
  ``Bearer secret`` get 401.
* ``server.hang_before_answer = 30.0``: chat requests wait that long (or until the server
  closes) before the response starts: a server that accepted the request and hangs.
* ``server.chunk_delay = 5.0``: one streamed event every 5 s: a server that trickles tokens.
* ``server.stream_ending``: how a chat stream ends: ``"complete"`` (default: finish_reason
  "stop", usage, ``[DONE]``), ``"no_finish"`` (no finish_reason chunk and no ``[DONE]``, the
  HTTP response still ends cleanly), ``"no_done"`` (finish_reason but no ``[DONE]``),
  ``"length"`` (finish_reason "length", as when ``max_tokens`` is reached), ``"cut"`` (the
  connection is dropped mid-stream) or ``"error"`` (an OpenAI-style error event instead).
  A huge answer needs no mode: set ``reply`` to a huge string (the server ignores ``max_tokens``).

Streaming splits the reply word by word (spaces kept), and additionally cuts inside
citation markers: the first ``[n]`` is sent as ``"["`` + ``"n]..."``, the second (if any)
as ``"...[n"`` + ``"]..."``, so clients that reassemble markers across chunks are exercised.
Concatenating all content deltas always gives exactly the reply.

Every request received is appended (thread-safely, before responding) to
``server.requests`` as ``(path, body, headers)``: ``path`` without query string,
``body`` the parsed JSON (``None`` for GET or unparseable bodies), ``headers`` a dict with
lower-cased header names.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import socket
import struct
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

__all__ = [
    "OpenAICompatibleServer",
    "default_reply",
    "embed_text",
    "split_for_stream",
    "message_text",
]

Reply = str | Callable[[list[dict[str, Any]]], str] | None

_MARKER_LINE = re.compile(r"^\s*\[(\d+)\]\s*(.*)$")
_MARKER = re.compile(r"\[\d+\]")
_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s|$)", re.DOTALL)
_WORD = re.compile(r"\w+", re.UNICODE)


# --------------------------------------------------------------------------- replies


def message_text(content: Any) -> str:
    """Text of a chat message ``content``: a string, or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "\n".join(texts)
    return str(content)


def _passages(text: str) -> list[tuple[int, str]]:
    """Numbered passages in ``text``: a line starting with ``[n]`` opens passage n; the
    following lines belong to it until the next ``[m]`` line or a blank line."""
    passages: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        m = _MARKER_LINE.match(line)
        if m:
            current = [m.group(2)]
            passages.append((int(m.group(1)), current))
        elif not line.strip():
            current = None
        elif current is not None:
            current.append(line)
    return [(n, " ".join(" ".join(lines).split())) for n, lines in passages]


def _first_sentence(text: str) -> str:
    m = _SENTENCE.match(text)
    return (m.group(1) if m else text).strip()


def default_reply(messages: list[dict[str, Any]]) -> str:
    """The default deterministic answer (see module docstring)."""
    last_user = ""
    for message in reversed(messages):
        if message.get("role") == "user":
            last_user = message_text(message.get("content"))
            break
    passages = _passages(last_user)
    if not passages:
        return "No passages."
    number, text = next(((n, t) for n, t in passages if n == 1), passages[0])
    return f"{_first_sentence(text)} [{number}]".lstrip()


def split_for_stream(text: str) -> list[str]:
    """Split ``text`` into streaming pieces: word by word keeping whitespace, plus cuts
    inside the first two citation markers (``"[" | "1]"`` and ``"[2" | "]"``).
    ``"".join(split_for_stream(t)) == t`` always holds."""
    if not text:
        return []
    cuts = set()
    pos = 0
    for piece in re.findall(r"\s*\S+\s*", text) or [text]:
        pos += len(piece)
        cuts.add(pos)
    markers = list(_MARKER.finditer(text))
    if markers:
        cuts.add(markers[0].start() + 1)  # "[" | "1]"
    if len(markers) > 1:
        cuts.add(markers[1].end() - 1)  # "[2" | "]"
    cuts.add(len(text))
    pieces, start = [], 0
    for cut in sorted(cuts):
        if cut > start:
            pieces.append(text[start:cut])
            start = cut
    assert "".join(pieces) == text
    return pieces


def _count_tokens(text: str) -> int:
    return len(text.split())


# ------------------------------------------------------------------------ embeddings


def embed_text(text: str, dim: int = 64) -> list[float]:
    """Deterministic embedding: signed hashed bag of lowercase word tokens, L2-normalised.
    Texts sharing words are similar; an empty text gives the zero vector."""
    vec = [0.0] * dim
    for token in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        h = int.from_bytes(digest, "little")
        vec[h % dim] += 1.0 if (h >> 63) & 1 == 0 else -1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm:
        vec = [v / norm for v in vec]
    return vec


def _encode_base64(vec: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode("ascii")


# ---------------------------------------------------------------------------- errors

_ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to sample from this model."),
    404: ("invalid_request_error", "unknown_url", "Unknown request URL."),
    405: ("invalid_request_error", "method_not_allowed", "Method not allowed."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached, slow down."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", "bad_gateway", "Bad gateway."),
    503: ("server_error", "service_unavailable", "The engine is currently overloaded, please try again later."),
}


class _RequestError(Exception):
    def __init__(self, status: int, message: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


def _error_body(status: int, message: str | None = None, param: str | None = None) -> dict:
    etype, code, default_message = _ERROR_DEFAULTS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
    )
    return {"error": {"message": message or default_message, "type": etype, "param": param, "code": code}}


# --------------------------------------------------------------------------- handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, chunked SSE: like real servers
    server_version = "OpenAICompatibleTestServer/1.0"
    server: "_HTTPServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self.connection)

    # -- plumbing

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, status: int, message: str | None = None, param: str | None = None) -> None:
        self._send_json(status, _error_body(status, message, param))

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.end_headers()
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _sse(self, payload: Any, first: bool = False) -> None:
        owner = self.server.owner
        if owner.chunk_delay and not first:
            owner._closing.wait(owner.chunk_delay)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {text}\n\n".encode("utf-8"))

    def _end_sse(self) -> None:
        self._sse("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- entry points

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path.rstrip("/") or "/"
        raw = self._read_body() if method == "POST" else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                bad_json = True
        elif method == "POST":
            bad_json = True
        owner._record(path, body, headers)

        self._streaming = False
        try:
            if owner.fail_with is not None:
                raise _RequestError(int(owner.fail_with))
            if owner.require_api_key is not None:
                if headers.get("authorization", "") != f"Bearer {owner.require_api_key}":
                    raise _RequestError(401, "Incorrect API key provided.")
            route = owner._routes.get(path)
            if route is None:
                if path.startswith("/v1/models/") and method == "GET":
                    model_id = path[len("/v1/models/"):]
                    if model_id != owner.model_name:
                        raise _RequestError(404, f"The model '{model_id}' does not exist", "model")
                    self._send_json(200, owner._model_object())
                    return
                raise _RequestError(404, f"Unknown request URL: {method} {path}.")
            want_method, fn = route
            if method != want_method:
                raise _RequestError(405, f"Method {method} not allowed for {path}.")
            if method == "POST":
                if bad_json:
                    raise _RequestError(400, "We could not parse the JSON body of your request.")
                if not isinstance(body, dict):
                    raise _RequestError(400, "The request body must be a JSON object.")
            fn(self, body)
        except _RequestError as exc:
            self._send_error(exc.status, exc.message, exc.param)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        except Exception as exc:  # a reply callable raised, or a bug here
            owner._record_error(traceback.format_exc())
            if self._streaming:  # too late for an error response: cut the stream
                self.close_connection = True
                return
            try:
                self._send_error(500, f"{type(exc).__name__}: {exc}")
            except OSError:
                self.close_connection = True

    # -- endpoints

    def _chat_completions(self, body: dict) -> None:
        owner = self.server.owner
        messages = body.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise _RequestError(400, "'messages' must be a list of message objects.", "messages")
        flat = [{**m, "content": message_text(m.get("content"))} for m in messages]
        model = body.get("model") or owner.model_name
        reply = owner._make_reply(flat)
        prompt_tokens = sum(_count_tokens(m["content"]) for m in flat)
        usage = _usage(prompt_tokens, _count_tokens(reply))
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        if not body.get("stream"):
            self._send_json(200, {
                **_envelope(cid, "chat.completion", created, model),
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": reply, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }],
                "usage": usage,
            })
            return

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict, finish_reason: str | None) -> dict:
            out = {
                **_envelope(cid, "chat.completion.chunk", created, model),
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                out["usage"] = None
            return out

        if owner.hang_before_answer:
            owner._closing.wait(owner.hang_before_answer)
        self._streaming = True
        self._start_sse()
        self._sse(chunk({"role": "assistant", "content": ""}, None), first=True)
        for piece in split_for_stream(reply):
            self._sse(chunk({"content": piece}, None))
        ending = owner.stream_ending
        if ending == "cut":
            self.close_connection = True  # no terminating chunk: the client sees a broken stream
            return
        if ending == "error":
            self._sse(_error_body(500, "The model crashed while generating."))
        elif ending != "no_finish":
            self._sse(chunk({}, "length" if ending == "length" else "stop"))
        if include_usage and ending not in ("no_finish", "error"):
            self._sse({
                **_envelope(cid, "chat.completion.chunk", created, model),
                "choices": [],
                "usage": usage,
            })
        if ending in ("no_finish", "no_done"):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        self._end_sse()

    def _completions(self, body: dict) -> None:
        owner = self.server.owner
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            prompts = [prompt]
        elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
            prompts = prompt
        else:
            raise _RequestError(400, "'prompt' must be a string or a list of strings.", "prompt")
        model = body.get("model") or owner.model_name
        replies = [owner._make_reply([{"role": "user", "content": p}]) for p in prompts]
        usage = _usage(sum(map(_count_tokens, prompts)), sum(map(_count_tokens, replies)))
        cid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

        if not body.get("stream"):
            self._send_json(200, {
                **_envelope(cid, "text_completion", created, model),
                "choices": [
                    {"index": i, "text": r, "logprobs": None, "finish_reason": "stop"}
                    for i, r in enumerate(replies)
                ],
                "usage": usage,
            })
            return

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(index: int, text: str, finish_reason: str | None) -> dict:
            out = {
                **_envelope(cid, "text_completion", created, model),
                "choices": [{"index": index, "text": text, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                out["usage"] = None
            return out

        self._streaming = True
        self._start_sse()
        first = True
        for i, reply in enumerate(replies):
            for piece in split_for_stream(reply):
                self._sse(chunk(i, piece, None), first=first)
                first = False
            self._sse(chunk(i, "", "stop"), first=first)
            first = False
        if include_usage:
            self._sse({
                **_envelope(cid, "text_completion", created, model),
                "choices": [],
                "usage": usage,
            })
        self._end_sse()

    def _embeddings(self, body: dict) -> None:
        owner = self.server.owner
        inp = body.get("input")
        if isinstance(inp, str):
            texts = [inp]
        elif isinstance(inp, list) and inp and all(isinstance(t, str) for t in inp):
            texts = inp
        elif isinstance(inp, list) and inp:
            raise _RequestError(400, "Token-array inputs are not supported by this test server.", "input")
        else:
            raise _RequestError(400, "'input' must be a non-empty string or list of strings.", "input")
        fmt = body.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            raise _RequestError(400, f"Invalid encoding_format {fmt!r}.", "encoding_format")
        dim = body.get("dimensions") or owner.embedding_dim
        if not isinstance(dim, int) or dim <= 0:
            raise _RequestError(400, "'dimensions' must be a positive integer.", "dimensions")
        data = []
        for i, text in enumerate(texts):
            vec = embed_text(text, dim)
            data.append({
                "object": "embedding",
                "index": i,
                "embedding": _encode_base64(vec) if fmt == "base64" else vec,
            })
        tokens = sum(len(_WORD.findall(t)) for t in texts)
        self._send_json(200, {
            "object": "list",
            "data": data,
            "model": body.get("model") or owner.model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })

    def _models(self, body: Any) -> None:
        self._send_json(200, {"object": "list", "data": [self.server.owner._model_object()]})


def _envelope(cid: str, kind: str, created: int, model: str) -> dict:
    """The fields every completion object and chunk starts with."""
    return {"id": cid, "object": kind, "created": created, "model": model, "system_fingerprint": None}


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: "OpenAICompatibleServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client hang-ups and shutdown-time socket errors are expected; stay quiet.
        self.owner._record_error(traceback.format_exc())


# ---------------------------------------------------------------------------- server


class OpenAICompatibleServer:
    """An OpenAI wire-protocol server on 127.0.0.1 (random port), running in a daemon
    thread from construction until :meth:`close` (or the end of a ``with`` block).

    Attributes (all may be changed while the server runs):
        base_url: ``"http://127.0.0.1:PORT/v1"``, for ``openai.OpenAI(base_url=...)``.
        port: the bound port.
        reply: ``None`` (use :func:`default_reply`), a string, or ``f(messages) -> str``.
        model_name: the one model listed by ``GET /v1/models`` (and echoed when a request
            has no ``model``).
        embedding_dim: embedding size (a request's ``dimensions`` overrides it).
        fail_with: HTTP status to fail every request with, or ``None``.
        require_api_key: the only accepted API key (``Authorization: Bearer <key>``), or ``None``.
        chunk_delay: seconds to sleep between SSE events (default 0).
        hang_before_answer: seconds a chat request waits before its response starts (default 0).
        stream_ending: how chat streams end (see the module docstring; default "complete").
        requests: list of ``(path, body, headers)`` received, in order.
        errors: tracebacks of exceptions raised while handling requests (including by a
            ``reply`` callable); stays empty in normal operation.
    """

    def __init__(
        self,
        reply: Reply = None,
        *,
        model_name: str = "test-model",
        embedding_dim: int = 64,
        fail_with: int | None = None,
        require_api_key: str | None = None,
        chunk_delay: float = 0.0,
        hang_before_answer: float = 0.0,
        stream_ending: str = "complete",
    ) -> None:
        self.reply: Reply = reply
        self.model_name = model_name
        self.embedding_dim = embedding_dim
        self.fail_with = fail_with
        self.require_api_key = require_api_key
        self.chunk_delay = chunk_delay
        self.hang_before_answer = hang_before_answer
        self.stream_ending = stream_ending
        self._closing = threading.Event()
        self.requests: list[tuple[str, Any, dict[str, str]]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._routes: dict[str, tuple[str, Callable[[_Handler, Any], None]]] = {
            "/v1/chat/completions": ("POST", _Handler._chat_completions),
            "/v1/completions": ("POST", _Handler._completions),
            "/v1/embeddings": ("POST", _Handler._embeddings),
            "/v1/models": ("GET", _Handler._models),
        }
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._closed = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"openai-test-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    # -- context manager / lifecycle

    def __enter__(self) -> "OpenAICompatibleServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, drop open keep-alive connections and join the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        self._thread.join(timeout=10)

    # -- helpers

    @property
    def paths(self) -> list[str]:
        """Paths of the requests received so far."""
        with self._lock:
            return [p for p, _, _ in self.requests]

    def requests_to(self, path: str) -> list[tuple[str, Any, dict[str, str]]]:
        """Requests whose path ends with ``path`` (e.g. ``"/chat/completions"``)."""
        with self._lock:
            return [r for r in self.requests if r[0].endswith(path)]

    def _make_reply(self, messages: list[dict[str, Any]]) -> str:
        reply = self.reply
        if reply is None:
            return default_reply(messages)
        if callable(reply):
            return str(reply(messages))
        return str(reply)

    def _model_object(self) -> dict:
        return {"id": self.model_name, "object": "model", "created": 0, "owned_by": "test"}

    def _record(self, path: str, body: Any, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, body, headers))

    def _record_error(self, text: str) -> None:
        if any(name in text for name in ("BrokenPipeError", "ConnectionResetError", "ConnectionAbortedError")):
            return
        if self._closed:
            return
        with self._lock:
            self.errors.append(text)

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

