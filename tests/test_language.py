"""Tests for rag.text.language: detection, tokenization, analysis and compound splitting."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.text.language import (
    STOPWORDS,
    SUPPORTED,
    Analyzer,
    detect_language,
    fold_umlauts,
    language_scores,
    split_compound,
    stem,
    tokenize,
)

ENGLISH_PARAGRAPH = (
    "Clark looked on as the crystal fell and almost as if calling him Clark followed the "
    "crystal where it landed. Clark felt the whole place start to shake as an earthquake "
    "started as crystals emerged from the ground."
)
GERMAN_PARAGRAPH = (
    "Clark wurde in die Festung der Einsamkeit gebracht und trifft dort auf Jor-El. Dieser "
    "sagt ihm, dass er nicht nach Smallville zurückkehren kann und sich darauf vorbereiten "
    "soll, den Planeten zu retten."
)


def test_supported_languages():
    assert SUPPORTED == ("en", "de")


# --- detect_language -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Why did Clark lose his powers?", "en"),
        ("Warum verlor Clark seine Kräfte?", "de"),
        ("Wer ist Jor-El?", "de"),
        ("Who is Nam Ek?", "en"),
        ("Was ist die Festung der Einsamkeit?", "de"),
        ("What is the Fortress of Solitude?", "en"),
        ("Wie heißt Clarks Vater?", "de"),
        ("Where does Lana live?", "en"),
        ("Straße", "de"),
        (ENGLISH_PARAGRAPH, "en"),
        (GERMAN_PARAGRAPH, "de"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "12 345 2005", "?!", "Clark", "Smallville, Kansas"])
def test_detect_language_without_evidence_is_undetermined(text):
    assert detect_language(text) == "und"


def test_german_names_do_not_flip_an_english_paragraph():
    text = ENGLISH_PARAGRAPH + " Then he met Jürgen Müller and Björn Kühn in Düsseldorf."
    assert detect_language(text) == "en"


def test_words_shared_by_both_languages_are_no_evidence():
    assert language_scores("in so was will also man") == {"en": 0.0, "de": 0.0}


# --- tokenize --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Why did Clark lose his powers?", ["why", "did", "clark", "lose", "his", "powers"]),
        ("Wer ist Jor-El?", ["wer", "ist", "jor", "el"]),
        ("Clark's powers", ["clark", "powers"]),
        ("Clark’s powers", ["clark", "powers"]),
        ("the Kents' farm", ["the", "kents", "farm"]),
        ("don't", ["don", "t"]),
        ("Kräfte, Straße; ÄRGER", ["kräfte", "straße", "ärger"]),
        ("Season 2, episode 10 (2005)", ["season", "2", "episode", "10", "2005"]),
        ("snake_case e-mail", ["snake", "case", "e", "mail"]),
        ("", []),
    ],
)
def test_tokenize(text, expected):
    assert tokenize(text) == expected


def test_tokenize_normalises_decomposed_umlauts():
    decomposed = unicodedata.normalize("NFD", "Kräfte")
    assert tokenize(decomposed) == ["kräfte"]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_tokenize_yields_lowercase_alphanumeric_tokens(text):
    for token in tokenize(text):
        assert token
        assert token == token.lower()
        assert all(ch.isalnum() for ch in token)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_detect_language_always_returns_a_known_code(text):
    assert detect_language(text) in ("en", "de", "und")


# --- stemming and Analyzer -------------------------------------------------------------


def test_stem_per_language():
    assert stem("powers", "en") == "power"
    assert stem("kräfte", "de") == stem("kraft", "de") == "kraft"
    assert stem("straße", "de") == "strass"
    assert stem("powers", "und") == "powers"


def test_fold_umlauts():
    assert fold_umlauts("äöüß") == "aouss"


def test_english_analyzer():
    assert Analyzer("en").analyze("Why did Clark lose his powers?") == ["clark", "lose", "power"]


def test_german_analyzer():
    assert Analyzer("de").analyze("Warum verlor Clark seine Kräfte?") == ["verlor", "clark", "kraft"]


def test_german_analyzer_folds_umlauts_so_inflections_meet():
    analyzer = Analyzer("de")
    assert analyzer.analyze("Kräfte") == analyzer.analyze("Kraft")
    assert analyzer.analyze("Häuser") == analyzer.analyze("Haus")
    assert all(term.isascii() for term in analyzer.analyze("Größe Übermut Straße"))


def test_undetermined_analyzer_drops_english_stopwords_without_stemming():
    assert Analyzer("und").analyze("Why did Clark lose his powers?") == ["clark", "lose", "powers"]


def test_analyzer_keeps_duplicates_in_order():
    assert Analyzer("en").analyze("Crystal crystals, crystal!") == ["crystal"] * 3


def test_analyzer_stem_method():
    assert Analyzer("de").stem("kräften") == "kraft"


def test_analyzer_rejects_unknown_language():
    with pytest.raises(ValueError, match="fr"):
        Analyzer("fr")


def test_stopword_lists_cover_question_words():
    assert {"why", "who", "what", "would"} <= STOPWORDS["en"]
    assert {"warum", "wer", "was", "wurde"} <= STOPWORDS["de"]


def test_german_analyzer_adds_compound_part_stems_after_the_whole_word():
    analyzer = Analyzer("de", vocabulary={"kräfte", "sonne", "untergang"})
    assert analyzer.analyze("Superkräfte") == ["superkraft", "sup", "kraft"]
    assert analyzer.analyze("Sonnenuntergang") == ["sonnenuntergang", "sonn", "untergang"]
    assert analyzer.analyze("Kräfte") == ["kraft"]


def test_english_analyzer_ignores_vocabulary():
    analyzer = Analyzer("en", vocabulary={"sun", "set"})
    assert analyzer.analyze("sunset") == ["sunset"]


# --- split_compound --------------------------------------------------------------------

VOCABULARY = {"kräfte", "sonne", "untergang", "raum", "schiff", "einsamkeit", "festung", "stehen", "halten"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("superkräfte", ["super", "kräfte"]),  # unknown modifier, known head
        ("superkräften", ["super", "kräfte"]),  # inflected head
        ("sonnenuntergang", ["sonne", "untergang"]),  # linking "n"
        ("einsamkeitsfestung", ["einsamkeit", "festung"]),  # linking "s"
        ("raumschiff", ["raum", "schiff"]),
        ("raumschiffe", ["raum", "schiff"]),
        ("kräfte", ["kräfte"]),  # known simple word
        ("clark", ["clark"]),  # too short
        ("verstehen", ["verstehen"]),  # "ver" is a prefix, not a part
        ("unterhalten", ["unterhalten"]),  # function-word prefix
        ("smallville", ["smallville"]),
    ],
)
def test_split_compound(word, expected):
    assert split_compound(word, VOCABULARY) == expected


def test_split_compound_prefers_known_parts_over_unknown_modifier():
    assert split_compound("sonnenuntergang", {"sonnen", "untergang", "sonne"}) in (
        ["sonnen", "untergang"],
        ["sonne", "untergang"],
    )
    assert split_compound("raumschiff", {"raum", "schiff", "aumschiff"}) == ["raum", "schiff"]


def test_split_compound_splits_words_that_are_themselves_in_the_vocabulary():
    vocabulary = VOCABULARY | {"sonnenuntergang"}
    assert split_compound("sonnenuntergang", vocabulary) == ["sonne", "untergang"]


def test_split_compound_prefers_fewer_parts():
    vocabulary = {"haus", "tür", "schlüssel", "türschlüssel"}
    assert split_compound("haustürschlüssel", vocabulary) == ["haus", "türschlüssel"]


def test_split_compound_into_three_parts():
    assert split_compound("raumschiffsfestung", VOCABULARY) == ["raum", "schiff", "festung"]


def test_split_compound_respects_min_part():
    assert split_compound("abcdef", {"abc", "def"}) == ["abc", "def"]
    assert split_compound("abcdef", {"abc", "def"}, min_part=4) == ["abcdef"]


def test_split_compound_without_unknown_modifier():
    assert split_compound("superkräfte", VOCABULARY, allow_unknown_modifier=False) == ["superkräfte"]


def test_split_compound_ignores_function_words_as_parts():
    assert split_compound("derart", {"der", "art"}) == ["derart"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(sorted(VOCABULARY)), min_size=1, max_size=3))
def test_split_compound_parts_spell_the_word(parts):
    word = "".join(parts)
    result = split_compound(word, VOCABULARY)
    assert result == split_compound(word, VOCABULARY)  # deterministic
    assert "".join(result) == word or len(result) > 1
    assert all(part in word for part in result)
