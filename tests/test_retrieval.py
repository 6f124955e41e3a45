"""Cross-language retrieval: glosses, fusion per language pair, and the seed fixtures at top 3."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

from rag.text.gloss import english_names, gloss_german, gloss_hash, names_for_gloss
from rag.text.reading_gloss import DictionaryGlosser
from rag.retrieval.fusion import DEFAULT_WEIGHTS, FUSION_WEIGHTS
from rag.retrieval.passages import MAX_CHUNKS_PER_PASSAGE, joined_text, merge_neighbours
from rag.types import support
from rag.retrieval.planning import TermStatistics, translate_against_corpus
from rag.text.translate import Dictionary
from support.paths import REPO

FIXTURES = REPO / "fixtures" / "seeds.jsonl"
# Answerable fixtures whose gold passage is not yet in the top 3 (see bench/results/RETRIEVAL.md); strict,
# so a fixture that starts passing must be taken off this list.
#: Fixtures whose gold passage is not in the top 3 (strict: a fix shows up as a failure to update).
#: seed-powers and de-ff-003 dropped to ranks 5-6 when the meaning model joined the fusion (weight
#: 0.5, chosen on the tuning questions: hit@1 and hit@5 up, hit@3 down by one question there).
#: span-006 came into the top 3 when neighbouring chunks began to form one passage.
KNOWN_MISSES = {"de-ff-001", "de-ff-002", "de-ff-003", "de-ff-004", "de-ff-013", "seed-powers", "span-007"}


def normalised(text):
    return " ".join(text.split())


def answerable_fixtures():
    rows = [json.loads(line) for line in FIXTURES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["answerable"]]


# --- glosses ---------------------------------------------------------------------------------------


def test_gloss_uses_capitalisation_to_tell_nouns_from_verbs(dictionary):
    assert gloss_german("Macht", dictionary) == "power"
    assert gloss_german("macht", dictionary) != "power"


def test_gloss_renders_question_words_and_prepositions_by_their_usual_sense(dictionary):
    assert gloss_german("Wer ist laut Clark schuld?", dictionary).startswith("who")
    assert "according to" in gloss_german("laut Clark", dictionary)


@pytest.mark.parametrize(("german", "common", "rare"), [
    ("Kräfte", "forces", "vigours"), ("retten", "save", "salvage"), ("Orte", "places", "localities"),
])
def test_gloss_takes_the_common_english_sense_over_a_rare_one_the_dictionary_lists_first(dictionary, german, common, rare):
    assert gloss_german(german, dictionary) == common != rare


def test_gloss_splits_compounds_and_keeps_names(dictionary):
    glossed = gloss_german("Lana beobachtet den Hubschrauberabsturz", dictionary)
    assert glossed.split()[0] == "Lana"
    assert "helicopter" in glossed


def test_gloss_drops_function_words_and_keeps_numbers(dictionary):
    glossed = gloss_german("Er stürzt aus dem 60. Stockwerk", dictionary)
    assert "60" in glossed.split()
    assert "dem" not in glossed.split()


def test_names_an_english_text_capitalises_mid_sentence_are_found_wherever_they_stand():
    text = 'Willow looks at Oz. "Thank you Willow," said Buffy, and I nodded. Faith ran.'
    assert english_names(text) == {"Oz", "Willow", "Buffy"}  # "Faith" only starts a sentence; "I" is no name


def test_a_shown_gloss_keeps_the_names_of_the_question_and_of_the_passage(dictionary):
    glosser = DictionaryGlosser(lambda: dictionary)
    german = "Lex sammelt sie auf der Strasse auf."
    assert not glosser.gloss(german, "de", "en").startswith("Lex")  # Ding: Lex -> law
    keep = names_for_gloss("Where had Chloe been with Lex?", german, "de")
    assert glosser.gloss(german, "de", "en", keep).split()[0] == "Lex"
    passage = "Faith tries to help. Buffy turns to Faith and Willow."
    keep = names_for_gloss("Wer hilft Buffy?", passage, "en")
    assert glosser.gloss("Faith tries to help.", "en", "de", keep).split()[0] == "Faith"  # not "Glaube"


def test_gloss_hash_changes_with_the_gloss():
    assert gloss_hash("sunset") == gloss_hash("sunset")
    assert gloss_hash("sunset") != gloss_hash("sunrise")


def test_without_a_dictionary_the_text_is_its_own_gloss():
    assert gloss_german("Sonnenuntergang", None) == "Sonnenuntergang"


# --- the chunk table ------------------------------------------------------------------------------


def test_a_chunk_table_gives_back_the_chunks_it_was_built_from():
    from rag.index.chunk_table import ChunkTable
    from rag.index.store import StoredChunk

    chunks = [
        StoredChunk("a", "Straße – naïve ✓", {"source": "x.txt", "language": "de", "start": 0, "flag": True}),
        StoredChunk("b", "", {"source": "y.txt", "start": 1, "flag": 1}),  # no language; 1 is not True
        StoredChunk("c", "plain \ud800 text", {"language": "en", "source": "x.txt", "start": 1.0}),
    ]
    table = ChunkTable.of(chunks)
    assert len(table) == 3 and list(table) == chunks and table[-1] == chunks[-1] and table[1:] == chunks[1:]
    assert [type(c.metadata["start"]) for c in table] == [int, int, float]
    assert [c.metadata.get("flag") for c in table] == [True, 1, None] and table[1].metadata["flag"] is not True
    assert table.value(1, "language", "und") == "und" and table.value(0, "missing") is None
    rows = table.rows_by_value("language", "und")
    assert {language: r.tolist() for language, r in rows.items()} == {"de": [0], "und": [1], "en": [2]}
    assert table.rows_with("source", {"x.txt"}).tolist() == [True, False, True]
    assert table.rows_with("kind", {"x.txt"}).tolist() == [False, False, False]


# --- fusion ----------------------------------------------------------------------------------------


def test_german_questions_over_german_text_do_not_use_minilm_on_raw_german():
    assert FUSION_WEIGHTS[("de", "de")].dense == 0
    assert FUSION_WEIGHTS[("de", "de")].gloss > 0


def test_english_questions_reach_german_text_mainly_through_glosses():
    weights = FUSION_WEIGHTS[("en", "de")]
    assert weights.gloss > weights.dense
    assert weights.gloss > 0 and weights.lexical > 0


def test_every_pair_has_weights_and_unknown_pairs_fall_back():
    for pair in (("en", "en"), ("en", "de"), ("de", "de"), ("de", "en")):
        assert FUSION_WEIGHTS[pair].total > 0
    assert DEFAULT_WEIGHTS.total > 0


def test_a_german_question_is_embedded_as_its_english_gloss(seed_rag):
    retriever = seed_rag.retriever()
    plan = retriever.planner.plan("Wohin verbannt Clark die beiden Kryptonier?")
    assert plan.language == "de"
    assert plan.embedded_text != plan.question
    assert "Clark" in plan.embedded_text
    english = retriever.planner.plan("Where does Clark banish the two Kryptonians?")
    assert english.language == "en" and english.embedded_text == english.question


def test_scores_are_in_the_unit_interval_and_sorted(seed_rag):
    retriever = seed_rag.retriever()
    for question in ("Why did Clark lose his powers?", "Wohin verbannt Clark die beiden Kryptonier?", "xyzzy"):
        passages = retriever.search(question, top_k=10).passages
        scores = [p.score for p in passages]
        assert scores == sorted(scores, reverse=True)
        assert all(0 < s <= 1 for s in scores)


def test_vector_products_of_a_question_run_on_query_threads_blas_threads(seed_rag, monkeypatch):
    """Two BLAS threads on cores that other processes keep busy tripled retrieval time; the limit
    holds only while the question's products run and the previous number comes back."""
    from threadpoolctl import threadpool_info

    def blas_threads_now() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    retriever = seed_rag.retriever()
    assert retriever.blas_threads == seed_rag.settings.query_threads == 1
    before = blas_threads_now()
    seen: list[set[int]] = []
    real_gloss_scores = type(retriever.index).gloss_scores

    def gloss_scores(index, vector):
        seen.append(blas_threads_now())
        return real_gloss_scores(index, vector)

    monkeypatch.setattr(type(retriever.index), "gloss_scores", gloss_scores)
    retriever.search("Why did Clark lose his powers?", top_k=3)
    assert seen == [{1}]
    assert blas_threads_now() == before


def test_a_questions_meaning_vector_computed_beside_the_english_one_is_the_one_computed_alone(seed_rag):
    """search starts the meaning model's inference, embeds the question in English meanwhile and
    then collects the meaning vector: the same vector as asking the model on its own."""
    meaning = seed_rag.retriever().meaning
    long_question = "Why did Clark lose his powers? " * 80  # more than one window of word pieces
    for question in ("Why did Clark lose his powers?", "Wer rettet Chloe?", long_question):
        vector_when_done = meaning.start_query(question)
        seed_rag.retriever().embedding.get_query_embedding(question)
        together = vector_when_done()
        alone = meaning.query([question])[0]
        assert together.shape == alone.shape == (384,)
        assert float(together @ alone) > 0.99999 and abs(float(np.linalg.norm(together)) - 1) < 1e-5


def test_the_meaning_vector_started_first_is_collected_also_when_planning_fails(seed_rag, monkeypatch):
    """search starts the meaning model's inference before it plans the question: an inference left
    running would outlive its request. A failing plan still collects it, and the next search works."""
    retriever = seed_rag.retriever()
    started, collected = [], []
    real_start = retriever.meaning.start_query

    def start_query(question):
        started.append(question)
        finish = real_start(question)
        return lambda: collected.append(question) or finish()

    def failing_plan(*_args, **_kwargs):
        raise RuntimeError("no plan")

    monkeypatch.setattr(retriever.meaning, "start_query", start_query)
    monkeypatch.setattr(retriever.planner, "plan", failing_plan)
    with pytest.raises(RuntimeError, match="no plan"):
        retriever.search("Why did Clark lose his powers?", top_k=3)
    assert started == collected == ["Why did Clark lose his powers?"]
    monkeypatch.undo()
    assert retriever.search("Why did Clark lose his powers?", top_k=3).passages


def test_question_sessions_are_not_pinned_to_one_core(seed_rag):
    """Pinned, the two models' question streams shared the first core and took turns on it."""
    retriever = seed_rag.retriever()
    retriever.search("Why did Clark lose his powers?", top_k=3)
    english = retriever.embedding._session(ingest=False)
    meaning = retriever.meaning.encoder().session(throughput=False)
    assert english.get_property("ENABLE_CPU_PINNING") is False
    assert meaning.get_property("ENABLE_CPU_PINNING") is False
    assert english.get_property("INFERENCE_NUM_THREADS") == meaning.get_property("INFERENCE_NUM_THREADS") == 1


def test_passages_carry_the_signals_the_gate_and_answerers_rely_on(seed_rag):
    retriever = seed_rag.retriever()
    (passage,) = retriever.search("Jor-El Sonnenuntergang", top_k=1).passages
    assert passage.language == "de" and passage.title and passage.kind
    assert 0 < passage.coverage <= 1
    assert -1 <= passage.cosine <= 1
    assert 0.7 <= passage.meaning <= 1
    assert passage.support == support(passage.coverage, passage.cosine, passage.meaning)


def test_passages_reach_llamaindex_as_nodes_with_their_location_and_scores(seed_rag):
    result = seed_rag.retriever().search("Jor-El Sonnenuntergang", top_k=2)
    for passage, node in zip(result.passages, result.nodes, strict=True):
        assert node.node.get_content() == passage.text and node.score == passage.score
        metadata = node.node.metadata
        assert (metadata["source"], metadata["start"], metadata["end"]) == (passage.source, passage.start, passage.end)
        assert (metadata["coverage"], metadata["cosine"]) == (passage.coverage, passage.cosine)


def test_ingest_stores_one_gloss_vector_per_german_chunk(seed_rag):
    corpus = seed_rag.retriever().index
    german = {c.chunk_id for c in corpus.chunks if c.metadata["language"] == "de"}
    assert german
    assert set(seed_rag.store().glosses.hashes()) == german
    # One gloss row per German chunk, none for English chunks (whose gloss score is 0).
    assert [corpus.chunks[i].chunk_id for i in corpus.german_rows] == [
        c.chunk_id for c in corpus.chunks if c.metadata["language"] == "de"
    ]
    assert corpus.gloss_vectors.shape == (len(german), corpus.vectors.shape[1])
    assert not np.allclose(corpus.gloss_vectors, corpus.vectors[corpus.german_rows])


def test_reingesting_embeds_no_glosses(tmp_path, fresh_rag):
    from rag.ingest.chunking import Chunker
    from rag.text.gloss import update_gloss_vectors
    from rag.text.translate import dictionary_for

    rag = fresh_rag()
    rag.ingest(REPO / "seeds")
    store = rag.store()
    before = store.glosses.hashes()
    fingerprint = Chunker(rag.settings).fingerprint
    assert update_gloss_vectors(store, rag.embedding, dictionary_for(rag.settings), fingerprint) == 0
    assert store.glosses.hashes() == before


# --- translation against the corpus ------------------------------------------------------------


def test_a_translation_missing_from_the_corpus_matches_its_form_one_letter_longer():
    # "injury" -> "Verletzung" (stem "verletz"); the corpus only says "verletzt" (stem "verletzt").
    dictionary = Dictionary.from_weights({("en", "de"): {"injuri": {"verletz": 1.0}}})
    vocabulary = TermStatistics({"verletzt": 2, "verletzlich": 1})
    assert translate_against_corpus(dictionary, "injuri", "en", "de", vocabulary) == [("verletzt", 1.0)]


def test_a_noun_sense_does_not_match_a_verb_form_sharing_its_stem():
    dictionary = Dictionary.from_lines(["Macht {f} :: power", "Kraft {f} :: power; strength"])
    verb_only = TermStatistics({"macht": 1, "kraft": 1}, nouns=frozenset({"kraft"}))  # "er macht", "Kräfte"
    assert [t for t, _ in translate_against_corpus(dictionary, "power", "en", "de", verb_only)] == ["kraft"]
    as_noun = TermStatistics({"macht": 1, "kraft": 1}, nouns=frozenset({"macht", "kraft"}))
    assert {t for t, _ in translate_against_corpus(dictionary, "power", "en", "de", as_noun)} == {"macht", "kraft"}


def test_the_lexical_index_knows_which_german_terms_occur_as_nouns():
    from rag.index.lexical import LexicalDocument, LexicalIndex

    index = LexicalIndex([LexicalDocument("Er macht es. Die Kräfte der Superhelden wachsen.", "de")])
    assert {"kraft", "superheld"} <= index.german_nouns
    assert "macht" not in index.german_nouns


def test_short_translations_are_not_extended():
    dictionary = Dictionary.from_weights({("en", "de"): {"my": {"mei": 1.0}}})
    assert translate_against_corpus(dictionary, "my", "en", "de", TermStatistics({"mein": 3})) == []


def test_a_translation_present_in_the_corpus_is_not_extended():
    dictionary = Dictionary.from_weights({("en", "de"): {"fight": {"kampf": 1.0}}})
    vocabulary = TermStatistics({"kampf": 1, "kampft": 1})
    assert translate_against_corpus(dictionary, "fight", "en", "de", vocabulary) == [("kampf", 1.0)]


# --- the seed fixtures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param(f, id=f["id"], marks=pytest.mark.xfail(strict=True, reason="not yet in the top 3"))
        if f["id"] in KNOWN_MISSES
        else pytest.param(f, id=f["id"])
        for f in answerable_fixtures()
    ],
)
def test_each_answerable_fixture_finds_its_passage_in_the_top_3(seed_rag, fixture):
    passages = seed_rag.retrieve(fixture["question"], top_k=3)
    quotes = [normalised(q) for q in fixture["gold_quotes"]]
    assert any(q in normalised(p.text) for p in passages for q in quotes), [p.source for p in passages]


def test_a_callers_translation_of_the_question_replaces_the_dictionarys(seed_rag):
    # de-ff-001 is a known miss with the dictionary's word-by-word translation.
    question = "Was wurde laut Jor-El in der Festung der Einsamkeit nachgebildet?"
    gold = "the geography of our planet has been replicated"
    plain = seed_rag.retrieve(question, top_k=3)
    translated = seed_rag.retrieve(
        question, top_k=3, translations={"en": "What, according to Jor-El, was replicated in the Fortress of Solitude?"}
    )
    assert not any(gold in normalised(p.text) for p in plain)
    assert any(gold in normalised(p.text) for p in translated)


# --- neighbouring chunks make one passage ----------------------------------------------------------

#: Chunks of two sources: (source, start, end) and the whitespace recorded before the chunk (None:
#: it overlaps or lies far from the chunk before), as the chunker records it.
chunk_lists = st.lists(
    st.tuples(
        st.sampled_from(["a.txt", "b.txt"]), st.integers(0, 50), st.integers(1, 20), st.sampled_from([None, "", " ", "\n\n"])
    ).map(lambda t: ((t[0], t[1], t[1] + t[2]), t[3])),
    max_size=30,
)


def bridged(before: tuple[str, int, int], after: tuple[str, int, int], gap: str | None) -> bool:
    return before[0] == after[0] and gap is not None and before[2] + len(gap) == after[1]


@given(chunk_lists)
def test_merged_passages_never_overlap_keep_the_ranking_and_join_only_neighbours(chunks):
    spans = [span for span, _ in chunks]
    gaps = [gap for _, gap in chunks]
    passages = merge_neighbours(list(range(len(chunks))), spans.__getitem__, gaps.__getitem__)
    assert all(1 <= len(rows) <= MAX_CHUNKS_PER_PASSAGE for rows in passages)
    firsts = [rows[0] for rows in passages]
    assert firsts == sorted(firsts)  # passages in the order of their best chunk
    unions = []
    for rows in passages:
        assert rows == sorted(rows)  # the best chunk first
        source = {spans[r][0] for r in rows}
        assert len(source) == 1
        if len(rows) == 2:  # two chunks that share characters, or one continuing the other
            (a, b) = sorted(rows, key=lambda r: spans[r][1])
            overlap = spans[a][1] < spans[b][2] and spans[b][1] < spans[a][2]
            assert overlap or bridged(spans[a], spans[b], gaps[b])
        unions.append((source.pop(), min(spans[r][1] for r in rows), max(spans[r][2] for r in rows)))
    for i, (s1, a1, b1) in enumerate(unions):
        for s2, a2, b2 in unions[i + 1 :]:
            assert s1 != s2 or b1 <= a2 or b2 <= a1
    # a chunk is left out only when it overlaps a chosen passage
    chosen = {r for rows in passages for r in rows}
    for r, (s, a, b) in enumerate(spans):
        if r not in chosen:
            assert any(s == u[0] and a < u[2] and b > u[1] for u in unions)


def test_a_chunk_continuing_a_chosen_one_after_a_paragraph_break_joins_its_passage_exactly():
    from rag.index.store import StoredChunk

    source = "Clark lands at the pole.\n\nJor-El speaks to him."
    first = StoredChunk("1", "Clark lands at the pole.", {"source": "s.txt", "start": 0, "end": 24})
    second = StoredChunk("2", "Jor-El speaks to him.", {"source": "s.txt", "start": 26, "end": 47, "gap_before": "\n\n"})
    spans = [("s.txt", 0, 24), ("s.txt", 26, 47)]
    assert merge_neighbours([1, 0], spans.__getitem__, [None, "\n\n"].__getitem__) == [[1, 0]]
    text, start, end = joined_text([second, first])
    assert (text, start, end) == (source, 0, len(source)) and source[start:end] == text
    # without the recorded whitespace (a store of an older chunker) they stay apart
    assert merge_neighbours([1, 0], spans.__getitem__) == [[1], [0]]


@pytest.mark.parametrize("question", ["Why did Clark lose his powers?", "Wer ist Nam Ek?", "Where did Clark land?"])
def test_the_first_passages_do_not_depend_on_how_many_are_asked_for(seed_rag, question):
    longer = seed_rag.retrieve(question, top_k=10)
    for k in (1, 3, 5):
        assert [(p.source, p.start, p.end) for p in seed_rag.retrieve(question, top_k=k)] == [
            (p.source, p.start, p.end) for p in longer[:k]
        ]


def test_a_chunk_overlapping_a_better_one_widens_it_instead_of_taking_a_place(seed_rag):
    question = "What reason do the two aliens give for wanting Clark to go with them?"
    passages = seed_rag.retrieve(question, top_k=5)
    by_source = {}
    for p in passages:
        for other in by_source.get(p.source, []):
            assert p.end <= other.start or other.end <= p.start
        by_source.setdefault(p.source, []).append(p)
        assert (REPO / "seeds" / p.source).read_text(encoding="utf-8")[p.start : p.end] == p.text
    assert max(len(p.text) for p in passages) > 700  # at least one passage is two chunks wide
