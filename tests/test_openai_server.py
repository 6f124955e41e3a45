"""The OpenAI-compatible test server, driven by the real ``openai`` client and llama-index."""

from __future__ import annotations

import http.client
import json
import math
import socket

import openai
import pytest

from support.openai_server import OpenAICompatibleServer, default_reply, embed_text, split_for_stream


PASSAGES = (
    "Answer from the passages and cite them.\n\n"
    "[1] Berlin is the capital of Germany. It has about 3.7 million inhabitants.\n"
    "[2] Paris is the capital of France.\n\n"
    "Question: What is the capital of Germany?"
)
EXPECTED = "Berlin is the capital of Germany. [1]"


@pytest.fixture
def server():
    with OpenAICompatibleServer() as srv:
        yield srv
    assert not srv.errors, srv.errors


def client_for(srv: OpenAICompatibleServer, api_key: str = "k") -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key=api_key, max_retries=0, timeout=10)


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def raw_request(srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


# ------------------------------------------------------------------- default reply


def test_default_reply_rules():
    assert default_reply([{"role": "user", "content": PASSAGES}]) == EXPECTED
    assert default_reply([{"role": "user", "content": "Hello there"}]) == "No passages."
    assert default_reply([]) == "No passages."
    # Last *user* message counts; system/assistant messages are ignored.
    msgs = [
        {"role": "system", "content": "[1] System text."},
        {"role": "user", "content": "[1] Old. Ignored."},
        {"role": "assistant", "content": "x"},
        {"role": "user", "content": "[1] Erster Satz! Zweiter Satz.\n[2] Other."},
    ]
    assert default_reply(msgs) == "Erster Satz! [1]"
    # Content parts are flattened; a passage may continue on the next line.
    parts = [{"type": "text", "text": "[1] A passage that\ncontinues here. Then more."}]
    assert default_reply([{"role": "user", "content": parts}]) == "A passage that continues here. [1]"
    # Without a passage 1, the first passage and its own number are used.
    assert default_reply([{"role": "user", "content": "[3] Only three"}]) == "Only three [3]"


def test_split_for_stream_cuts_markers():
    text = "Alpha beta [1] and gamma [2]."
    pieces = split_for_stream(text)
    assert "".join(pieces) == text
    assert "[" in pieces and "1] " in pieces  # first marker split after "["
    assert "[2" in pieces and "]." in pieces  # second marker split before "]"
    assert split_for_stream("") == []


# -------------------------------------------------------------------- chat (openai)


def test_chat_completion(server):
    client = client_for(server)
    resp = client.chat.completions.create(
        model="my-model",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": PASSAGES}],
    )
    assert resp.object == "chat.completion"
    assert resp.model == "my-model"
    assert resp.id
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == EXPECTED
    assert resp.choices[0].finish_reason == "stop"
    prompt_tokens = len("Be brief.".split()) + len(PASSAGES.split())
    assert resp.usage.prompt_tokens == prompt_tokens
    assert resp.usage.completion_tokens == len(EXPECTED.split())
    assert resp.usage.total_tokens == prompt_tokens + len(EXPECTED.split())

    path, body, headers = server.requests[-1]
    assert path == "/v1/chat/completions"
    assert body["model"] == "my-model"
    assert body["messages"][-1]["content"] == PASSAGES
    assert headers["authorization"] == "Bearer k"


def test_scripted_replies(server):
    client = client_for(server)
    server.reply = "Fixed answer."
    resp = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert resp.choices[0].message.content == "Fixed answer."

    seen = []

    def reply(messages):
        seen.append(messages)
        return f"{len(messages)} messages, last: {messages[-1]['content']}"

    server.reply = reply
    resp = client.chat.completions.create(
        model="m", messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "q?"}]
    )
    assert resp.choices[0].message.content == "2 messages, last: q?"
    assert seen[0][0] == {"role": "system", "content": "s"}


def test_reply_callable_error_is_500():
    with OpenAICompatibleServer(reply=lambda messages: 1 / 0) as srv:
        with pytest.raises(openai.InternalServerError, match="ZeroDivisionError"):
            client_for(srv).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert srv.errors and "ZeroDivisionError" in srv.errors[0]


def test_streaming_chat_with_usage(server):
    client = client_for(server)
    stream = client.chat.completions.create(
        model="test-model",
        messages=[{"role": "user", "content": PASSAGES}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == EXPECTED
    assert len(pieces) > 3
    assert "[" in pieces  # the marker arrives split
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == len(EXPECTED.split())
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + len(EXPECTED.split())
    assert all(c.usage is None for c in chunks[:-1])


def test_streaming_chat_without_usage(server):
    server.reply = "One two three."
    stream = client_for(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "One two three."
    assert all(c.choices for c in chunks)  # no usage-only chunk


def test_stream_is_real_sse(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True})
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    events = [e for e in resp.read().decode().split("\n\n") if e]
    conn.close()
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert "".join(json.loads(e[6:])["choices"][0]["delta"].get("content") or "" for e in events[:-1]) == (
        "No passages."
    )


# ------------------------------------------------------------------ legacy completions


def test_legacy_completions(server):
    client = client_for(server)
    resp = client.completions.create(model="m", prompt=PASSAGES)
    assert resp.object == "text_completion"
    assert resp.choices[0].text == EXPECTED
    assert resp.usage.prompt_tokens == len(PASSAGES.split())

    stream = client.completions.create(
        model="m", prompt=PASSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == EXPECTED
    assert chunks[-1].usage.completion_tokens == len(EXPECTED.split())
    assert server.requests[-1][0] == "/v1/completions"


# ----------------------------------------------------------------------- embeddings


def test_embeddings_default_base64(server):
    client = client_for(server)
    texts = ["The cat sat on the mat", "the CAT sat on a mat", "Quantum chromodynamics lecture notes"]
    resp = client.embeddings.create(model="embed-model", input=texts)
    assert server.requests[-1][1]["encoding_format"] == "base64"  # the client's default
    assert resp.model == "embed-model"
    assert [d.index for d in resp.data] == [0, 1, 2]
    vecs = [d.embedding for d in resp.data]
    assert all(isinstance(v, list) and len(v) == 64 for v in vecs)
    for text, vec in zip(texts, vecs):
        assert vec == pytest.approx(embed_text(text, 64), abs=1e-6)
        assert math.isclose(sum(x * x for x in vec), 1.0, rel_tol=1e-5)
    assert cosine(vecs[0], vecs[1]) > 0.7
    assert cosine(vecs[0], vecs[1]) > cosine(vecs[0], vecs[2])


def test_embeddings_float_and_dim(server):
    server.embedding_dim = 16
    resp = client_for(server).embeddings.create(model="e", input="Hallo Welt", encoding_format="float")
    assert server.requests[-1][1]["encoding_format"] == "float"
    assert len(resp.data) == 1
    assert resp.data[0].embedding == embed_text("Hallo Welt", 16)
    assert resp.usage.prompt_tokens == 2
    # Deterministic across calls.
    again = client_for(server).embeddings.create(model="e", input=["Hallo Welt"], encoding_format="float")
    assert again.data[0].embedding == resp.data[0].embedding


def test_embeddings_reject_token_arrays(server):
    with pytest.raises(openai.BadRequestError):
        client_for(server).embeddings.create(model="e", input=[[1, 2, 3]], encoding_format="float")


# --------------------------------------------------------------- failures and auth


@pytest.mark.parametrize("status", [500, 503])
def test_fail_with(server, status):
    server.fail_with = status
    client = client_for(server)
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == status
    assert info.value.body["type"] == "server_error"
    with pytest.raises(openai.InternalServerError):
        client.embeddings.create(model="e", input="x")
    server.fail_with = None
    assert client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]).choices


def test_require_api_key():
    with OpenAICompatibleServer(require_api_key="secret") as srv:
        with pytest.raises(openai.AuthenticationError) as info:
            client_for(srv, api_key="wrong").chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
        assert info.value.status_code == 401
        assert info.value.code == "invalid_api_key"
        resp = client_for(srv, api_key="secret").chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        assert resp.choices[0].message.content == "No passages."


def test_models_and_errors(server):
    client = client_for(server)
    assert [m.id for m in client.models.list()] == ["test-model"]
    assert client.models.retrieve("test-model").id == "test-model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("other")

    status, body = raw_request(server, "POST", "/v1/nope", body="{}")
    assert status == 404 and body["error"]["type"] == "invalid_request_error"
    status, body = raw_request(server, "POST", "/v1/chat/completions", body="{not json")
    assert status == 400 and "JSON" in body["error"]["message"]
    status, body = raw_request(server, "POST", "/v1/chat/completions", body=json.dumps({"model": "m"}))
    assert status == 400 and body["error"]["param"] == "messages"
    assert server.requests[-2][1] is None  # malformed body recorded as None


def test_close_stops_server():
    srv = OpenAICompatibleServer()
    client = client_for(srv)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])  # keep-alive conn
    srv.close()
    srv.close()  # idempotent
    assert not srv._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()


# ------------------------------------------------------------------------ llama-index


def test_llama_index_openai_like(server):
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(model="test-model", api_base=server.base_url, api_key="k", is_chat_model=True, max_retries=0)
    messages = [ChatMessage(role="system", content="Cite."), ChatMessage(role="user", content=PASSAGES)]

    resp = llm.chat(messages)
    assert resp.message.content == EXPECTED
    assert server.requests[-1][0] == "/v1/chat/completions"
    assert server.requests[-1][1]["model"] == "test-model"

    deltas = []
    last = None
    for last in llm.stream_chat(messages):
        deltas.append(last.delta or "")
    assert "".join(deltas) == EXPECTED
    assert last.message.content == EXPECTED
    assert server.requests[-1][1]["stream"] is True
