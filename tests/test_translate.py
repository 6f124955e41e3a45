"""Tests for rag.text.translate: Ding parsing, weights, caching and term translation."""

import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

import rag.text.translate as translate
from rag.text.language import Analyzer
from rag.text.translate import (
    Dictionary,
    DictionaryNotFoundError,
)

DING_PATH = Path("/usr/share/trans/de-en")
needs_ding = pytest.mark.skipif(
    not DING_PATH.is_file(),
    reason=f"Ding dictionary not installed at {DING_PATH} (Debian package trans-de-en)",
)

SAMPLE = """\
# Version :: devel 2023-01-30
# License :: GPL Version 2 or later; GNU General Public License
(mechanische) Kraft {f}; Stärke {f}; Wucht {f} [phys.] | treibende Kraft :: power; strength (potency of a natural agency) | moving power
Kraft {f}; Stärke {f} [med.] | Kräfte {pl} | Mathe ist nicht meine Stärke und nie gewesen. :: strength | strengths | Maths is not my forte and never was.
Macht {f}; Herrschaft {f} (über jdn./etw.) | an die Macht kommen :: power (over sb./sth.) | to come to power
jdn./etw. verlieren {vt} | verlierend | verloren | er/sie verliert | ich/er/sie verlor :: to lose sb./sth. {lost; lost} | losing | lost | he/she loses | I/he/she lost
Sonnenuntergang {m} | Sonnenuntergänge {pl} | bei Sonnenuntergang :: sunset; sundown [Am.] | sunsets; sundowns | at sunset
Superkraft {f} :: super power
in Kraft treten :: to come into force
Festung {f} <Festungsanlage> | Festungen {pl} :: fortress | fortresses | extra segment
Sonne {f} :: sun
Untergang {m} :: decline; fall
Rat {m} :: advice
Kryptonit {n} :: kryptonite
"""


def sample_dictionary() -> Dictionary:
    return Dictionary.from_lines(SAMPLE.splitlines())


def targets(translations):
    return [term for term, _ in translations]


def weights(translations):
    return dict(translations)


# --- parsing ---------------------------------------------------------------------------


def test_lookup_keys_are_analyzed_terms():
    dictionary = sample_dictionary()
    assert set(targets(dictionary.lookup("kraft", "de", "en"))) == {"power", "strength"}
    assert "kraft" in targets(dictionary.lookup("power", "en", "de"))
    assert dictionary.lookup("Kraft", "de", "en") == []  # callers pass analyzed terms


def test_english_verbs_are_keyed_without_to_and_placeholders():
    dictionary = sample_dictionary()
    assert targets(dictionary.lookup("lose", "en", "de"))[0] == "verli"
    all_terms = dictionary.source_terms("en") | dictionary.source_terms("de")
    assert not {"to", "sb", "sth", "jdn", "etw", "jdm"} & all_terms


def test_verb_forms_link_to_the_other_languages_infinitive():
    dictionary = sample_dictionary()
    assert "verlor" in targets(dictionary.lookup("lose", "en", "de"))  # "verloren", "verlor"
    assert "verli" in targets(dictionary.lookup("lost", "en", "de"))
    assert "lose" in targets(dictionary.lookup("verlor", "de", "en"))


def test_annotations_are_stripped():
    dictionary = sample_dictionary()
    english = dictionary.source_terms("en")
    german = dictionary.source_terms("de")
    assert "mechan" not in german and "mechanisch" not in german  # (...)
    assert "festungsanlag" not in german  # <...>
    assert "phys" not in english | german  # [...]
    assert "agenc" not in english and "potenc" not in english  # (...)
    assert "lost" in english  # {lost; lost} stripped from the verb, "lost" from its segment


def test_example_sentences_are_skipped():
    dictionary = sample_dictionary()
    assert "math" not in dictionary.source_terms("en")
    assert "forte" not in dictionary.source_terms("en")


def test_multi_word_sources_are_not_keys_but_multi_word_targets_are_split():
    dictionary = sample_dictionary()
    assert dictionary.lookup("tret", "de", "en") == []  # "in Kraft treten"
    assert dictionary.lookup("forc", "en", "de") == []  # "to come into force"
    assert weights(dictionary.lookup("superkraft", "de", "en")) == pytest.approx({"super": 0.5, "power": 0.5})


def test_misaligned_segments_use_only_the_headword():
    dictionary = sample_dictionary()
    assert "extra" not in dictionary.source_terms("en")
    assert targets(dictionary.lookup("festung", "de", "en")) == ["fortress"]


def test_first_synonyms_weigh_more():
    dictionary = sample_dictionary()
    translations = weights(dictionary.lookup("sonnenuntergang", "de", "en"))
    assert translations["sunset"] > translations["sundown"]
    power = weights(dictionary.lookup("power", "en", "de"))
    assert power["kraft"] > power["stark"] > power["wucht"]


def test_weights_sum_to_one_and_spread_over_senses():
    dictionary = sample_dictionary()
    for lang in ("en", "de"):
        other = "de" if lang == "en" else "en"
        for term in dictionary.source_terms(lang):
            assert sum(w for _, w in dictionary.lookup(term, lang, other)) == pytest.approx(1.0, abs=1e-5)
    assert dictionary.lookup("sun", "en", "de") == [("sonn", 1.0)]
    assert all(w < 0.5 for _, w in dictionary.lookup("power", "en", "de"))


def test_from_lines_without_entries_is_an_error():
    with pytest.raises(ValueError, match="no dictionary entries"):
        Dictionary.from_lines(["# only a comment", "no separator here"])


def test_lookup_rejects_unsupported_languages():
    with pytest.raises(ValueError, match="fr"):
        sample_dictionary().lookup("power", "en", "fr")


def test_state_round_trip():
    dictionary = sample_dictionary()
    restored = Dictionary.from_state(dictionary.to_state())
    for lang, other in (("en", "de"), ("de", "en")):
        assert restored.source_terms(lang) == dictionary.source_terms(lang)
        for term in dictionary.source_terms(lang):
            assert restored.lookup(term, lang, other) == dictionary.lookup(term, lang, other)


def test_a_cached_dictionary_glosses_without_building_its_tables(dictionary):
    """Loaded from its cache, the dictionary reads its sorted gloss tables in place: a cold start
    glosses a quote with a few lookups instead of building dicts of 280,000 words (~0.3 s)."""
    from rag.text.sorted_lines import SortedLines

    restored = Dictionary.from_state(dictionary.to_state())
    for word in ("Kräfte", "Theater", "Hubschrauberabsturz", "kümmern", "Orte", "nonexistentword"):
        assert restored.gloss_word(word) == dictionary.gloss_word(word)
        assert restored.reading_gloss_word(word) == dictionary.reading_gloss_word(word)
    assert restored.gloss_english_word("floor") == dictionary.gloss_english_word("floor")
    assert ("hubschrauber" in restored.gloss_vocabulary) == ("hubschrauber" in dictionary.gloss_vocabulary)
    assert isinstance(restored._table("glosses"), SortedLines)
    assert Dictionary.from_state(restored.to_state()).to_state() == restored.to_state()  # cached again as read
    restored.prepare_glosses()  # an ingest, glossing every German word, builds the dicts
    assert isinstance(restored._table("glosses"), dict)
    assert restored.gloss_word("Kräfte") == dictionary.gloss_word("Kräfte")


_KEYS = st.text(alphabet="abcäöüßAZ-", min_size=1, max_size=6)


@given(st.dictionaries(_KEYS, st.text(alphabet="xyz ", max_size=5), max_size=40), st.lists(_KEYS, max_size=10))
def test_sorted_lines_find_what_a_dict_finds(table, others):
    from rag.text.sorted_lines import SortedLines

    lines = SortedLines.of(table)
    for key in [*table, *others]:
        assert lines.get(key) == table.get(key)
        assert (key in SortedLines.of(table.keys())) == (key in table)
    assert dict(lines.items()) == table


# --- translate_terms -------------------------------------------------------------------


def test_untranslatable_terms_pass_through():
    dictionary = sample_dictionary()
    assert dictionary.translate_terms(["clark", "jor"], "en", "de") == [("clark", 1.0), ("jor", 1.0)]


def test_each_source_term_contributes_one_in_total():
    dictionary = sample_dictionary()
    translated = dictionary.translate_terms(["power"], "en", "de")
    assert sum(weights(translated).values()) == pytest.approx(1.0)
    assert translated[0][0] == "kraft"


def test_max_per_term_keeps_the_best_translations():
    dictionary = sample_dictionary()
    translated = dictionary.translate_terms(["power"], "en", "de", max_per_term=2)
    assert len(translated) == 2
    assert sum(weights(translated).values()) == pytest.approx(1.0)
    assert targets(translated) == targets(dictionary.lookup("power", "en", "de"))[:2]


def test_vocabulary_keeps_only_translations_in_the_corpus():
    dictionary = sample_dictionary()
    translated = dictionary.translate_terms(["power"], "en", "de", vocabulary={"macht": 3, "haus": 1})
    assert translated == [("macht", 1.0)]


def test_vocabulary_without_any_translation_passes_the_term_through():
    dictionary = sample_dictionary()
    assert dictionary.translate_terms(["power"], "en", "de", vocabulary={"haus": 1}) == [("power", 1.0)]


def test_source_term_in_target_corpus_is_kept_next_to_its_translations():
    dictionary = sample_dictionary()
    translated = weights(dictionary.translate_terms(["kryptonit"], "de", "en", vocabulary={"kryptonit": 2}))
    assert translated == {"kryptonit": 1.0}  # translation "kryptonit" (en stem) equals the term
    translated = weights(dictionary.translate_terms(["rat"], "en", "de", vocabulary={"rat": 1}))
    assert translated == {"rat": 1.0}
    translated = weights(dictionary.translate_terms(["advic"], "en", "de", vocabulary={"rat": 1, "advic": 1}))
    assert translated == pytest.approx({"rat": 0.5, "advic": 0.5})


def test_zero_document_frequency_counts_as_absent():
    dictionary = sample_dictionary()
    translated = dictionary.translate_terms(["power"], "en", "de", vocabulary={"macht": 0, "kraft": 2})
    assert translated == [("kraft", 1.0)]


def test_targets_of_several_source_terms_add_up():
    dictionary = sample_dictionary()
    translated = weights(dictionary.translate_terms(["power", "strength"], "en", "de", vocabulary={"kraft": 1}))
    assert translated == {"kraft": pytest.approx(2.0)}


def test_same_language_is_identity():
    dictionary = sample_dictionary()
    assert dictionary.translate_terms(["power", "clark"], "en", "en") == [("power", 1.0), ("clark", 1.0)]


@pytest.mark.parametrize(("src", "dst"), [("und", "de"), ("en", "und"), ("fr", "en")])
def test_translate_terms_rejects_unsupported_languages(src, dst):
    with pytest.raises(ValueError):
        sample_dictionary().translate_terms(["power"], src, dst)


def test_german_compounds_missing_from_the_dictionary_translate_through_their_parts():
    dictionary = sample_dictionary()
    # "Sonnenuntergang" is an entry; "Sonnenfestung" is not: "sonn" + "en" + "festung".
    translated = weights(dictionary.translate_terms(["sonnenfestung"], "de", "en"))
    assert set(translated) == {"sun", "fortress"}
    assert sum(translated.values()) == pytest.approx(1.0)


def test_senses_given_only_as_german_nouns_are_marked_noun_only():
    dictionary = Dictionary.from_lines(
        [
            "Macht {f} | an der Macht sein :: power | to be in power",
            "machen {vt} | machend | gemacht | macht :: to make | making | made | makes",
            "Kampf {m}; kämpfen {vi} :: fight",
        ]
    )
    assert "macht" in weights(dictionary.lookup("power", "en", "de"))
    assert dictionary.noun_only("power", "en", "de") == {"macht"}
    assert dictionary.noun_only("make", "en", "de") == frozenset()
    assert dictionary.noun_only("fight", "en", "de") == frozenset()  # noun and verb share "kampf"
    assert weights(dictionary.lookup("fight", "en", "de")) == {"kampf": pytest.approx(1.0)}


def test_english_phrasal_verbs_do_not_translate_their_verb():
    dictionary = Dictionary.from_lines(
        ["den Kürzeren ziehen :: to lose out", "verlieren {vt} :: to lose", "Ende {n} :: the end"]
    )
    assert set(weights(dictionary.lookup("lose", "en", "de"))) == {"verli"}
    assert set(weights(dictionary.lookup("end", "en", "de"))) == {"end"}  # articles are no particles


def test_empty_dictionary_passes_everything_through():
    assert Dictionary.empty().translate_terms(["kraft"], "de", "en") == [("kraft", 1.0)]


@pytest.fixture
def ding_file(tmp_path) -> Path:
    path = tmp_path / "de-en"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def test_load_missing_file(tmp_path):
    missing = tmp_path / "nope" / "de-en"
    with pytest.raises(DictionaryNotFoundError, match=re.escape(str(missing))) as excinfo:
        Dictionary.load(missing, cache_dir=tmp_path / "cache")
    assert isinstance(excinfo.value, FileNotFoundError)
    assert not (tmp_path / "cache").exists()


def test_load_directory_is_not_a_dictionary(tmp_path):
    with pytest.raises(DictionaryNotFoundError, match=re.escape(str(tmp_path))):
        Dictionary.load(tmp_path)


def test_load_binary_file_is_unreadable(tmp_path):
    path = tmp_path / "de-en"
    path.write_bytes(b"\xff\xfe\x00garbage :: \x81\x82")
    with pytest.raises(DictionaryNotFoundError, match="unreadable"):
        Dictionary.load(path)


def test_load_empty_file_is_a_value_error(tmp_path):
    path = tmp_path / "de-en"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        Dictionary.load(path)


def test_load_without_cache_dir_writes_nothing(ding_file, tmp_path):
    Dictionary.load(ding_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["de-en"]


def test_load_writes_and_then_uses_the_cache(ding_file, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    built = Dictionary.load(ding_file, cache_dir)
    assert len(list(cache_dir.iterdir())) == 1

    def fail(*args, **kwargs):
        raise AssertionError("parsed again instead of using the cache")

    monkeypatch.setattr(translate, "_parse_ding", fail)
    cached = Dictionary.load(ding_file, cache_dir)
    assert cached.lookup("power", "en", "de") == built.lookup("power", "en", "de")
    assert cached.source_terms("de") == built.source_terms("de")


def test_changed_source_rebuilds_and_replaces_the_cache(ding_file, tmp_path):
    cache_dir = tmp_path / "cache"
    Dictionary.load(ding_file, cache_dir)
    (old_cache,) = cache_dir.iterdir()
    with ding_file.open("a", encoding="utf-8") as f:
        f.write("Haus {n} :: house\n")
    stat = ding_file.stat()
    os.utime(ding_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    dictionary = Dictionary.load(ding_file, cache_dir)
    assert dictionary.lookup("haus", "de", "en") == [("hous", 1.0)]
    (new_cache,) = cache_dir.iterdir()
    assert new_cache != old_cache


def test_a_cache_of_another_format_version_is_left_for_the_checkout_that_uses_it(ding_file, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(translate, "FORMAT_VERSION", translate.FORMAT_VERSION - 1)
    Dictionary.load(ding_file, cache_dir)
    (older,) = cache_dir.iterdir()
    translate._loaded.clear()
    monkeypatch.undo()
    Dictionary.load(ding_file, cache_dir)
    assert older.exists() and len(list(cache_dir.iterdir())) == 2


def test_corrupt_cache_is_rebuilt(ding_file, tmp_path):
    cache_dir = tmp_path / "cache"
    Dictionary.load(ding_file, cache_dir)
    (cache_file,) = cache_dir.iterdir()
    cache_file.write_bytes(b"not a pickle")
    dictionary = Dictionary.load(ding_file, cache_dir)
    assert targets(dictionary.lookup("sunset", "en", "de")) == ["sonnenuntergang"]
    assert Dictionary.load(ding_file, cache_dir).source_terms("en") == dictionary.source_terms("en")


def test_unwritable_cache_dir_still_loads(ding_file, tmp_path):
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file where the cache directory should be")
    dictionary = Dictionary.load(ding_file, not_a_dir)
    assert targets(dictionary.lookup("sunset", "en", "de")) == ["sonnenuntergang"]


# --- the real Ding dictionary ----------------------------------------------------------

GERMAN_TEXT = (
    "Clark wurde in die Festung der Einsamkeit gebracht und trifft dort auf Jor-El. Chloe "
    "fleht Clark an, seine Kräfte zu benutzen, um ihr Leben zu retten. Er sagt, dass Clark vor "
    "dem Sonnenuntergang zurückkehren muss. Clark hat seine Kräfte verloren und ist machtlos."
)
ENGLISH_TEXT = (
    "Clark lost his powers after the eclipse. Without his strength he could not stop Nam Ek, "
    "and Jor-El told him to return to the fortress before sunset."
)
# Ding lines mentioning the words of the examples: parses in well under a second.
SUBSET_WORDS = re.compile(r"\b(Kraft|Kräfte|power|strength|verlieren|lose|Sonnenuntergang|sunset|Macht)\b")


def corpus_vocabulary(text: str, lang: str) -> dict[str, int]:
    """Analyzed terms of text with a document frequency of 1, like a one-chunk corpus."""
    return dict(Counter(set(Analyzer(lang).analyze(text))))


@pytest.fixture(scope="module")
def ding_subset() -> Dictionary:
    with DING_PATH.open(encoding="utf-8") as f:
        return Dictionary.from_lines(line for line in f if SUBSET_WORDS.search(line))


def check_ding_examples(dictionary: Dictionary) -> None:
    kraft = Analyzer("de").analyze("Kräfte")[0]
    english_question = Analyzer("en").analyze("Why did Clark lose his powers?")
    to_german = weights(dictionary.translate_terms(english_question, "en", "de", corpus_vocabulary(GERMAN_TEXT, "de")))
    assert kraft in to_german
    assert to_german["clark"] == 1.0

    german_question = Analyzer("de").analyze("Warum hat Clark seine Kräfte verloren?")
    to_english = weights(dictionary.translate_terms(german_question, "de", "en", corpus_vocabulary(ENGLISH_TEXT, "en")))
    assert {"power", "strength"} & set(to_english)
    assert to_english["clark"] == 1.0
    assert "lost" in to_english

    sunset = dictionary.translate_terms(Analyzer("en").analyze("sunset"), "en", "de")
    assert targets(sunset) == Analyzer("de").analyze("Sonnenuntergang")


@needs_ding
def test_ding_examples(ding_subset):
    check_ding_examples(ding_subset)


@needs_ding
def test_ding_translations_without_corpus_vocabulary(ding_subset):
    to_german = targets(ding_subset.translate_terms(["power"], "en", "de", max_per_term=10))
    assert "kraft" in to_german and "macht" in to_german
    to_english = targets(ding_subset.translate_terms(["kraft"], "de", "en"))
    assert {"power", "strength", "forc"} <= set(to_english)


@needs_ding
@pytest.mark.slow
def test_full_ding_dictionary_cold_parse_then_warm_cache(tmp_path):
    cache_dir = tmp_path / "cache"
    start = time.perf_counter()
    cold = Dictionary.load(DING_PATH, cache_dir)
    cold_seconds = time.perf_counter() - start
    start = time.perf_counter()
    warm = Dictionary.load(DING_PATH, cache_dir)
    warm_seconds = time.perf_counter() - start

    (cache_file,) = cache_dir.iterdir()
    print(f"cold {cold_seconds:.1f}s, warm {warm_seconds:.3f}s, cache {cache_file.stat().st_size / 1e6:.1f} MB")
    assert warm_seconds < 1.0
    assert len(warm.source_terms("de")) > 100_000 and len(warm.source_terms("en")) > 30_000
    assert warm.lookup("power", "en", "de") == cold.lookup("power", "en", "de")
    check_ding_examples(warm)
