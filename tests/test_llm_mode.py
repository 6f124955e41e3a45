"""LLM mode against a real OpenAI-protocol server on 127.0.0.1 (started by the tests)."""

from __future__ import annotations

import re

import pytest

from rag import REFUSAL, AnswerDelta, AnswerDone
from rag.api import open_rag
from rag.errors import ConfigError, LLMError
from support.paths import SEEDS
from support.settings import make_settings


@pytest.fixture
def server(openai_server):
    """The OpenAI-protocol test server the model calls of this module go to."""
    return openai_server


@pytest.fixture
def llm_rag(seed_rag, server, embedding):
    settings = seed_rag.settings.with_overrides(
        answer_mode="llm",
        llm_base_url=server.base_url,
        llm_model="test-model",
        llm_api_key="secret",
        llm_query_translation=False,  # one model call per question, so tests can script it
    )
    return open_rag(settings, embedding=embedding)


def last_user_message(server):
    body = server.requests_to("/chat/completions")[-1][1]
    return body["messages"][-1]["content"], body


def test_the_model_sees_numbered_passages_and_its_answer_keeps_valid_markers(llm_rag, server):
    server.reply = "Jor-El took his powers because he missed the sunset deadline [2]. See also [1]."
    answer = llm_rag.ask("Why did Clark lose his powers?")
    prompt, body = last_user_message(server)
    assert "[1]" in prompt and "[2]" in prompt and "Why did Clark lose his powers?" in prompt
    assert body["model"] == "test-model"
    # Renumbered by first appearance: the passage shown as [2] is cited first.
    assert answer.text == "Jor-El took his powers because he missed the sunset deadline [1]. See also [2]."
    assert [c.n for c in answer.citations] == [1, 2]
    assert answer.citations[0].passage == answer.passages[1]
    assert answer.mode == "llm" and not answer.not_found


def test_an_invented_marker_is_dropped(llm_rag, server):
    server.reply = "Clark lost his powers at sunset [1][9]. He was invulnerable before [9]."
    answer = llm_rag.ask("Why did Clark lose his powers?")
    assert "[9]" not in answer.text
    # The sentence left without a valid citation is marked, not presented like a cited one.
    assert answer.text == "Clark lost his powers at sunset [1]. He was invulnerable before [unsupported]."
    assert [c.n for c in answer.citations] == [1]


def test_only_cited_passages_become_citations(llm_rag, server):
    server.reply = "Because of Jor-El's ultimatum [3]."
    answer = llm_rag.ask("Why did Clark lose his powers?")
    assert len(answer.citations) == 1
    assert answer.citations[0].n == 1 and answer.text.endswith("[1].")
    assert len(answer.passages) >= 3


def test_streaming_renumbers_while_streaming_and_agrees_with_the_final_answer(llm_rag, server):
    server.reply = "He broke his promise to Jor-El [2], so his powers were taken [2][7]. Sunset [1]."
    events = list(llm_rag.ask_stream("Why did Clark lose his powers?"))
    deltas = [e.text for e in events if isinstance(e, AnswerDelta)]
    final = events[-1]
    assert isinstance(final, AnswerDone)
    assert len(deltas) > 3  # really streamed
    streamed = "".join(deltas)
    assert "[7]" not in streamed and "[2]" in streamed
    assert final.answer.text == "He broke his promise to Jor-El [1], so his powers were taken [1]. Sunset [2]."
    assert streamed.replace(" .", ".") == final.answer.text
    _, body = last_user_message(server)
    assert body["stream"] is True


def test_answers_are_requested_in_the_questions_language(llm_rag, server):
    server.reply = "Wegen Jor-Els Ultimatum [1]."
    llm_rag.ask("Warum hat Clark seine Kräfte verloren?")
    system = server.requests_to("/chat/completions")[-1][1]["messages"][0]["content"]
    assert "German" in system
    llm_rag.ask("Why did Clark lose his powers?")
    system = server.requests_to("/chat/completions")[-1][1]["messages"][0]["content"]
    assert "English" in system


def test_the_refusal_phrase_from_the_model_sets_not_found(llm_rag, server):
    server.reply = REFUSAL
    answer = llm_rag.ask("What did Clark eat for breakfast in Metropolis?")
    assert answer.not_found and answer.text == REFUSAL and answer.citations == []


def test_an_answer_citing_nothing_is_not_trusted(llm_rag, server):
    server.reply = "Clark lost his powers because of kryptonite."
    answer = llm_rag.ask("Why did Clark lose his powers?")
    assert answer.not_found and answer.text == REFUSAL


def test_irrelevant_questions_are_refused_without_calling_the_model(llm_rag, server):
    answer = llm_rag.ask("What is the boiling point of tungsten?")
    assert answer.not_found
    assert server.requests_to("/chat/completions") == []


def test_token_counts_come_from_the_server(llm_rag, server):
    server.reply = "Jor-El took them [1]."
    answer = llm_rag.ask("Why did Clark lose his powers?")
    assert answer.usage.completion == 4  # the test server counts whitespace-separated words
    assert answer.usage.prompt > 50


@pytest.mark.parametrize("status", [500, 503])
def test_a_failing_server_is_a_clear_error(llm_rag, server, status):
    server.fail_with = status
    with pytest.raises(LLMError, match=f"HTTP {status}"):
        llm_rag.ask("Why did Clark lose his powers?")


def test_an_unreachable_server_is_a_clear_error(seed_rag, embedding):
    settings = seed_rag.settings.with_overrides(
        answer_mode="llm", llm_base_url="http://127.0.0.1:9/v1", llm_api_key="k"
    )
    with pytest.raises(LLMError, match="Cannot connect"):
        open_rag(settings, embedding=embedding).ask("Why did Clark lose his powers?")


def test_a_wrong_key_is_a_clear_error(llm_rag, server):
    server.require_api_key = "another-key"
    with pytest.raises(LLMError, match="API key"):
        llm_rag.ask("Why did Clark lose his powers?")


def test_openai_without_a_key_is_a_configuration_error(seed_rag, embedding):
    settings = seed_rag.settings.with_overrides(answer_mode="llm", llm_api_key=None)
    with pytest.raises(ConfigError, match="RAG_LLM_API_KEY"):
        open_rag(settings, embedding=embedding).ask("Why did Clark lose his powers?")


def test_the_openai_preset_switches_to_llm_mode(tmp_path):
    settings = make_settings(tmp_path).with_overrides(preset="openai", answer_mode="llm")
    assert settings.answer_mode == "llm" and "api.openai.com" in settings.llm_base_url


def test_embeddings_can_come_from_an_openai_compatible_server(tmp_path, server):
    from rag.api import open_rag as open_

    settings = make_settings(
        tmp_path / "store",
        embedding_backend="openai",
        embedding_model="test-embedding",
        llm_base_url=server.base_url,
        llm_api_key="k",
    )
    rag = open_(settings)
    report = rag.ingest(SEEDS)
    assert report.chunks_embedded == report.chunks_total > 0
    assert server.requests_to("/embeddings")
    passages = rag.retrieve("Phantom Zone banished", top_k=3)
    assert any("Phantom Zone" in p.text for p in passages)


def test_cited_sentences_are_highlighted_when_the_answer_quotes_them(llm_rag, server):
    def cite_the_phantom_zone_passage(messages):
        prompt = messages[-1]["content"]
        before = prompt[: prompt.index("banished them to the Phantom Zone")]
        number = re.findall(r"^\[(\d+)\] \(", before, flags=re.MULTILINE)[-1]
        return f"They banished them to the Phantom Zone, where they should remain for all eternity [{number}]."

    server.reply = cite_the_phantom_zone_passage
    answer = llm_rag.ask("Who was banished to the Phantom Zone for all eternity?")
    citation = answer.citations[0]
    assert citation.highlights
    start, end = citation.highlights[0]
    source = (SEEDS / citation.source).read_text(encoding="utf-8")
    assert "Phantom Zone" in source[start:end]
    assert citation.start <= start < end <= citation.end


def test_the_llm_translates_the_question_for_searching_other_language_texts(seed_rag, server, embedding):
    def model(messages):
        prompt = messages[-1]["content"]
        if prompt.startswith("Translate this search question into German"):
            return "Warum wurden Clark die Superkräfte entzogen?"
        return "Jor-El took them [1]."

    server.reply = model
    settings = seed_rag.settings.with_overrides(
        answer_mode="llm", llm_base_url=server.base_url, llm_api_key="k", llm_query_translation=True
    )
    rag = open_rag(settings, embedding=embedding)
    answer = rag.ask("Why did Clark lose his powers?")
    prompts = [body["messages"][-1]["content"] for _, body, _ in server.requests_to("/chat/completions")]
    assert prompts[0].startswith("Translate this search question into German")
    assert "Why did Clark lose his powers?" in prompts[0]
    assert len(prompts) == 2  # the question needs German only: the corpus's other language
    assert not answer.not_found
    # The translation's words, not the dictionary's, searched the German summaries.
    retrieval = rag.retriever().search(
        "Why did Clark lose his powers?", 5, translations={"de": "Warum wurden Clark die Superkräfte entzogen?"}
    )
    assert any(t.startswith("de:entzog") for g in retrieval.plan.groups["de"] for t, _ in g.targets)
    assert any("entzogen" in p.text for p in retrieval.passages)
