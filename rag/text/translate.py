"""Dictionary translation of analyzed terms between English and German.

The embedding model only understands English, so cross-language retrieval goes through
lexical search: a question's analyzed terms are translated into the other language with
the Ding dictionary (Debian package "trans-de-en", ``/usr/share/trans/de-en``) and matched
against that language's index.

Both directions are keyed by analyzed terms (see :class:`rag.text.language.Analyzer`), so
"to lose" is looked up as "lose" and "Kräfte" as "kraft". Parsing the 25 MB source takes
seconds; :meth:`Dictionary.load` therefore keeps a compiled copy in a cache directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import threading
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import suppress
from functools import cached_property, lru_cache
from operator import itemgetter
from pathlib import Path

from rag.runtime.gcpause import gc_paused
from rag.text.language import (
    ANALYZER_VERSION,
    COMPOUND_LINKS,
    STOPWORDS,
    SUPPORTED,
    Analyzer,
    split_compound,
)
from rag.text.sorted_lines import SortedLines

log = logging.getLogger(__name__)

DEFAULT_DICTIONARY_PATH = Path("/usr/share/trans/de-en")
# Bump when parsing or weighting changes, so stale caches are rebuilt.
FORMAT_VERSION = 10  # 4: German noun senses marked in the English-German links; 5: no phrasal verbs; 6: English glosses; 7: glosses prefer common words; 8: reading glosses (one-word renderings); 9: reflexive verbs in them; 10: gloss tables sorted, read in place
#: The gloss tables, in the order Dictionary takes them (rag.text.gloss, rag.text.reading_gloss).
_GLOSS_TABLES = ("glosses", "english_glosses", "reading_glosses", "english_reading_glosses")
MAX_TRANSLATIONS_PER_TERM = 32

_DIRECTIONS = (("en", "de"), ("de", "en"))

Translations = list[tuple[str, float]]
_Phrases = list[tuple[int, tuple[str, ...], frozenset[str]]]  # (synonym rank, terms, German noun terms)
_PairWeights = dict[tuple[str, str], float]  # (src term, dst term) -> weight

# --- Ding format -------------------------------------------------------------------
_SIDE_SEPARATOR = " :: "
_ANNOTATION_RE = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|<[^<>]*>|\s/[^/\s|:;]+/")
_OPENING_BRACKETS = frozenset("{[(<")
# Placeholders for objects ("to lose sb./sth.", "jdm. etw. geben"), not translatable words.
_PLACEHOLDERS = frozenset(
    "sth. sb. sb.'s sb.’s sth.'s sth.’s st. so. jd. jdm. jdn. jds. jmd. etw. "
    "one's one’s oneself o.s. usw. etc.".split()
)
_PLACEHOLDER_STEMS = frozenset(p.rstrip(".") for p in _PLACEHOLDERS if p.endswith("."))
# Function words only count as placeholders inside slash groups ("er/sie", "has/had").
_FUNCTION_WORDS = STOPWORDS["en"] | STOPWORDS["de"]
_MAX_PHRASE_WORDS = 4  # longer segments are example sentences
_MAX_PHRASE_TERMS = 3
_LATER_SEGMENT_WEIGHT = 0.5  # segments after the first: plurals, inflections, idioms
_SYNONYM_DECAY = 0.5  # weight of the j-th synonym in a segment: 1 / (1 + decay * j)
_VERB_FORM_WEIGHT = 0.3  # participle <-> infinitive across languages
_COMPOUND_MIN_PART = 4
_MAX_GLOSS_WORDS = 3
_STEM_COMPOUND_LINKS = (*COMPOUND_LINKS, "e", "er")
# Marks an English->German target that the dictionary only gives as a noun ("power" -> "Macht"),
# so that it is not matched with a verb form sharing its stem ("er macht").
_NOUN_MARK = "^"
_ENGLISH_FILLERS = frozenset(("to", "a", "an", "the"))


class DictionaryNotFoundError(FileNotFoundError):
    """The dictionary file is missing or cannot be read."""


class Dictionary:
    """Bilingual mapping between analyzed English and German terms.

    ``lookup(term, src, dst)`` gives a term's translations as ``(term, weight)`` pairs,
    best first; a term's weights sum to at most 1, so a word with many senses gets lower
    weights per sense. Build it with :meth:`load` (Ding file, optionally cached) or
    :meth:`from_lines`.
    """

    def __init__(
        self,
        terms: Mapping[str, list[str]],
        links: Mapping[tuple[str, str], _Links],
        glosses: Mapping[str, str] | str | None = None,
        english_glosses: Mapping[str, str] | str | None = None,
        reading_glosses: Mapping[str, str] | str | None = None,
        english_reading_glosses: Mapping[str, str] | str | None = None,
        gloss_vocabulary: str | None = None,
    ):
        """``glosses``: German word -> English gloss, or that table as serialised by
        :meth:`to_state` (sorted lines, read in place until ``prepare_glosses`` builds dicts:
        building all of them costs a cold start ~0.3 s of CPU). ``reading_glosses``: the one-word
        gloss of the German words whose gloss is a phrase, where they have one
        (``reading_gloss_word``); the ``english_`` tables are the same from English words into
        German. ``gloss_vocabulary``: the serialised ``gloss_vocabulary``."""
        self._terms = {lang: terms.get(lang, []) for lang in SUPPORTED}
        self._links = dict(links)
        sources = (glosses, english_glosses, reading_glosses, english_reading_glosses)
        self._gloss_sources = {name: source or {} for name, source in zip(_GLOSS_TABLES, sources)}
        self._gloss_tables: dict[str, Mapping[str, str] | SortedLines] = {}
        self._vocabulary_source = gloss_vocabulary
        self._vocabulary: Collection[str] | None = None
        self._term_ids: dict[str, dict[str, int]] = {}

    def _ids(self, lang: str) -> dict[str, int]:
        """Term -> id for one language, built on first use: translating an English question only
        looks up English terms, and both tables cost a cold start 0.08 s (English alone 0.006 s)."""
        ids = self._term_ids.get(lang)
        if ids is None:
            terms = self._terms[lang]
            ids = self._term_ids[lang] = dict(zip(terms, range(len(terms))))
        return ids

    def _table(self, name: str) -> Mapping[str, str] | SortedLines:
        """A gloss table: its dict once built, else its serialised lines read in place."""
        table = self._gloss_tables.get(name)
        if table is None:
            source = self._gloss_sources[name]
            table = SortedLines(source) if isinstance(source, str) else dict(source)
            self._gloss_tables[name] = table
        return table

    def __repr__(self) -> str:
        counts = ", ".join(f"{s}->{d}: {len(self.source_terms(s))}" for s, d in _DIRECTIONS)
        return f"Dictionary({counts})"

    # --- construction --------------------------------------------------------------

    @classmethod
    def empty(cls) -> Dictionary:
        """A dictionary without entries (every term passes through untranslated)."""
        return cls.from_weights({direction: {} for direction in _DIRECTIONS})

    @classmethod
    def load(cls, path: Path | str = DEFAULT_DICTIONARY_PATH, cache_dir: Path | None = None) -> Dictionary:
        """Load the Ding dictionary at `path`, via a compiled cache in `cache_dir` if given.

        The cache is keyed by the source's path, size and mtime and by the format and
        analyzer versions; a missing, stale or corrupt cache is rebuilt. Raises
        DictionaryNotFoundError if `path` is missing or unreadable, ValueError if it holds
        no entries.
        """
        path = Path(path)
        key = _source_key(path)
        with _loaded_lock:
            loaded = _loaded.get(key)
            if loaded is not None:  # ingest and the retriever of one process share one copy
                return loaded
            cache_file = _cache_file(path, key, cache_dir) if cache_dir is not None else None
            dictionary = _read_cache(cache_file, key) if cache_file is not None else None
            if dictionary is None:
                dictionary = cls.from_lines(_read_lines(path), source=path)
                if cache_file is not None:
                    _write_cache(dictionary, cache_file, key)
            _loaded.clear()  # keep one: a changed file makes the old copy useless
            _loaded[key] = dictionary
            return dictionary

    @classmethod
    def from_lines(cls, lines: Iterable[str], source: Path | str = "<lines>") -> Dictionary:
        """Parse Ding-format lines ("German :: English"). Raises ValueError if none parse."""
        lines = list(lines)
        with gc_paused():
            weights = _parse_ding(lines)
            if not any(weights.values()):
                raise ValueError(f"no dictionary entries found in {source}")
            dictionary = cls.from_weights(weights)
            glosses, reading = _parse_glosses(lines)
            english, english_reading = _parse_english_glosses(lines)
            for name, table in zip(_GLOSS_TABLES, (glosses, english, reading, english_reading)):
                dictionary._gloss_sources[name] = dictionary._gloss_tables[name] = table
            return dictionary

    @classmethod
    def from_weights(cls, weights: Mapping[tuple[str, str], Mapping[str, Mapping[str, float]]]) -> Dictionary:
        """Build from raw link weights {(src, dst): {src_term: {dst_term: weight}}}.

        Each source term's weights are normalised to sum to 1 and only its best
        MAX_TRANSLATIONS_PER_TERM translations are kept.
        """
        terms: dict[str, dict[str, int]] = {lang: {} for lang in SUPPORTED}
        for (src, dst), table in weights.items():
            for src_term, translations in table.items():
                terms[src].setdefault(src_term, len(terms[src]))
                for dst_term in translations:
                    terms[dst].setdefault(dst_term, len(terms[dst]))
        links = {
            (src, dst): _Links.build(weights.get((src, dst), {}), terms[src], terms[dst])
            for src, dst in _DIRECTIONS
        }
        return cls({lang: list(ids) for lang, ids in terms.items()}, links)

    # --- queries -------------------------------------------------------------------

    def lookup(self, term: str, src: str, dst: str) -> Translations:
        """Translations of one analyzed `src` term into `dst`, best first (may be empty)."""
        merged: dict[str, float] = {}
        for target, weight in self._row(term, src, dst):
            plain = target.removeprefix(_NOUN_MARK)
            merged[plain] = merged.get(plain, 0.0) + weight
        return sorted(merged.items(), key=lambda tw: -tw[1])

    def noun_only(self, term: str, src: str, dst: str) -> frozenset[str]:
        """The translations of `term` that the dictionary gives only as German nouns: in German
        text they stand for capitalised words ("power" -> "Macht", not "er macht")."""
        targets = [target for target, _ in self._row(term, src, dst)]
        plain = {t for t in targets if not t.startswith(_NOUN_MARK)}
        return frozenset(t[1:] for t in targets if t.startswith(_NOUN_MARK) and t[1:] not in plain)

    def _row(self, term: str, src: str, dst: str) -> list[tuple[str, float]]:
        _check_direction(src, dst)
        term_id = self._ids(src).get(term)
        if term_id is None:
            return []
        dst_terms = self._terms[dst]
        return [(dst_terms[i], w) for i, w in self._links[(src, dst)].row(term_id)]

    def prepare_glosses(self) -> None:
        """Build the gloss tables as dicts now (~0.3 s of plain Python), for many lookups (an
        ingest glossing every German chunk); a few lookups read the serialised tables in place."""
        for name in _GLOSS_TABLES:
            if not isinstance(self._gloss_tables.get(name), dict):
                self._gloss_tables[name] = _gloss_table(self._gloss_sources[name])
        if not isinstance(self._vocabulary, frozenset):
            self._vocabulary = _vocabulary_of(self._gloss_tables["glosses"])

    def gloss_word(self, word: str) -> str | None:
        """The most usual English rendering of one German word as written ("Orte" -> "localities").

        Keys are surface forms with their case, so the noun "Macht" ("power") and the verb form
        "macht" ("makes") differ. None when the dictionary has no single-word entry for it.
        """
        return self._table("glosses").get(word)

    def gloss_english_word(self, word: str) -> str | None:
        """The most usual German rendering of one lowercase English word ("lost" -> "verloren").
        None when the dictionary has no single-word entry for it."""
        return self._table("english_glosses").get(word)

    def reading_gloss_word(self, word: str) -> str | None:
        """``gloss_word``, but a one-word rendering where the dictionary has one ("Theater" ->
        "theatre", not "to-do"): what a gloss a person reads shows (rag.text.reading_gloss). The
        retrieval glosses keep ``gloss_word``: one-word glosses there lost reader questions'
        passages (bench/notes.md, "Glosses a person reads")."""
        return self._table("reading_glosses").get(word) or self.gloss_word(word)

    def reading_gloss_english_word(self, word: str) -> str | None:
        """``gloss_english_word``, but a one-word rendering where the dictionary has one."""
        return self._table("english_reading_glosses").get(word) or self.gloss_english_word(word)

    @property
    def gloss_vocabulary(self) -> Collection[str]:
        """Lowercase German words with a gloss (for splitting compounds into glossable parts): a
        frozenset once built, else its serialised lines read in place."""
        if self._vocabulary is None:
            if self._vocabulary_source is not None:
                self._vocabulary = SortedLines(self._vocabulary_source)
            else:
                self._vocabulary = _vocabulary_of(self._table("glosses"))
        return self._vocabulary

    def source_terms(self, lang: str) -> frozenset[str]:
        """All analyzed terms of `lang` that have at least one translation."""
        return self._source_terms[lang]

    @cached_property
    def _source_terms(self) -> dict[str, frozenset[str]]:
        return {
            src: frozenset(
                t for i, t in enumerate(self._terms[src]) if self._links[(src, dst)].has_targets(i)
            )
            for src, dst in _DIRECTIONS
        }

    def translate_terms(
        self,
        terms: Iterable[str],
        src: str,
        dst: str,
        vocabulary: Mapping[str, int] | None = None,
        max_per_term: int = 5,
    ) -> Translations:
        """Translate analyzed `src` terms into weighted analyzed `dst` terms.

        Each source term contributes weights summing to 1.0, spread over at most
        `max_per_term` translations. With `vocabulary` (dst term -> document frequency)
        only translations occurring in the corpus are kept, plus the source term itself
        if the corpus has it (names, loanwords). A German term missing from the
        dictionary is translated through its compound parts. A term left without any
        translation is passed through as-is with weight 1.0 (names such as "clark").
        Weights of a target reached from several source terms are summed; order follows
        first appearance.
        """
        _check_direction(src, dst)
        merged: dict[str, float] = {}
        for term in terms:
            if src == dst:
                translations = [(term, 1.0)]
            else:
                translations = self._translate_term(term, src, dst, vocabulary, max_per_term)
            for target, weight in translations:
                merged[target] = merged.get(target, 0.0) + weight
        return list(merged.items())

    def _translate_term(
        self,
        term: str,
        src: str,
        dst: str,
        vocabulary: Mapping[str, int] | None,
        max_per_term: int,
    ) -> Translations:
        candidates = self.candidates(term, src, dst)
        if vocabulary is not None:
            candidates = _restrict_to_vocabulary(term, candidates, vocabulary)
        if not candidates:
            return [(term, 1.0)]
        return _normalised(_best(candidates, max_per_term, vocabulary))

    def candidates(self, term: str, src: str, dst: str) -> Translations:
        """Translations of one analyzed term, best first: its own entry, else (a German compound
        the dictionary lacks) the translations of its parts."""
        return self.lookup(term, src, dst) or self._compound_translations(term, src, dst)

    def _compound_translations(self, term: str, src: str, dst: str) -> Translations:
        # Only German writes compounds as one word ("raumschiffwrack" -> "raumschiff" +
        # "wrack"). The term is a stem but its modifiers keep their surface endings
        # ("hitze|blick" -> "hitz" + "e"), hence the extra links. Strict and with longer
        # parts than for text, because names split into junk ("luthor" -> "lut" + "hor").
        if src != "de":
            return []
        parts = split_compound(
            term,
            self.source_terms(src),
            _COMPOUND_MIN_PART,
            allow_unknown_modifier=False,
            links=_STEM_COMPOUND_LINKS,
        )
        if len(parts) < 2:
            return []
        share = 1.0 / len(parts)
        merged: dict[str, float] = {}
        for part in parts:
            for target, weight in self.lookup(part, src, dst):
                merged[target] = merged.get(target, 0.0) + weight * share
        return list(merged.items())

    # --- cache serialisation -------------------------------------------------------

    def to_state(self) -> dict:
        """A picklable compact form (term tables and flat arrays)."""
        return {
            "terms": {lang: "\n".join(ts) for lang, ts in self._terms.items()},
            "links": {f"{s}-{d}": self._links[(s, d)].to_state() for s, d in _DIRECTIONS},
            **{name: _serialised(self._table(name)) for name in _GLOSS_TABLES},
            "gloss_vocabulary": _serialised(self.gloss_vocabulary),
        }

    @classmethod
    def from_state(cls, state: dict) -> Dictionary:
        """Inverse of :meth:`to_state`."""
        terms = {lang: text.split("\n") if text else [] for lang, text in state["terms"].items()}
        links = {(s, d): _Links.from_state(state["links"][f"{s}-{d}"]) for s, d in _DIRECTIONS}
        tables = (state.get(name, "") for name in _GLOSS_TABLES)
        return cls(terms, links, *tables, gloss_vocabulary=state.get("gloss_vocabulary"))



class _Links:
    """Translations of one direction as flat arrays (CSR): fast to pickle and load.

    For source term id i, targets[offsets[i]:offsets[i + 1]] are dst term ids and
    weights[...] their weights, best first.
    """

    def __init__(self, offsets: array, targets: array, weights: array):
        self.offsets, self.targets, self.weights = offsets, targets, weights

    @classmethod
    def build(
        cls,
        table: Mapping[str, Mapping[str, float]],
        src_ids: Mapping[str, int],
        dst_ids: Mapping[str, int],
    ) -> _Links:
        rows: list[list[tuple[int, float]]] = [[] for _ in range(len(src_ids))]
        for src_term, translations in table.items():
            # Alphabetical first so that equal weights keep a deterministic order.
            ranked = sorted(sorted(translations.items()), key=itemgetter(1), reverse=True)
            best = ranked[:MAX_TRANSLATIONS_PER_TERM]
            rows[src_ids[src_term]] = [(dst_ids[t], w) for t, w in _normalised(best)]
        offsets, targets, weights = array("i", [0]), array("i"), array("f")
        for row in rows:
            targets.extend(i for i, _ in row)
            weights.extend(w for _, w in row)
            offsets.append(len(targets))
        return cls(offsets, targets, weights)

    def row(self, term_id: int) -> Iterator[tuple[int, float]]:
        if term_id + 1 >= len(self.offsets):
            return iter(())
        start, end = self.offsets[term_id], self.offsets[term_id + 1]
        return zip(self.targets[start:end], self.weights[start:end])

    def has_targets(self, term_id: int) -> bool:
        return term_id + 1 < len(self.offsets) and self.offsets[term_id + 1] > self.offsets[term_id]

    def to_state(self) -> tuple[bytes, bytes, bytes]:
        return self.offsets.tobytes(), self.targets.tobytes(), self.weights.tobytes()

    @classmethod
    def from_state(cls, state: tuple[bytes, bytes, bytes]) -> _Links:
        arrays = []
        for typecode, data in zip("iif", state):
            values = array(typecode)
            values.frombytes(data)
            arrays.append(values)
        return cls(*arrays)


# --- module-level convenience --------------------------------------------------------

_loaded: dict[str, Dictionary] = {}
_loaded_lock = threading.Lock()

# --- helpers -------------------------------------------------------------------------


def _check_direction(src: str, dst: str) -> None:
    for lang in (src, dst):
        if lang not in SUPPORTED:
            raise ValueError(f"unsupported language {lang!r}; expected one of {SUPPORTED}")


def _best(candidates: Translations, limit: int, vocabulary: Mapping[str, int] | None = None) -> Translations:
    """Top `limit` by weight; ties go to the more frequent corpus term, then alphabetical."""
    df = vocabulary or {}
    return sorted(candidates, key=lambda tw: (-tw[1], -df.get(tw[0], 0), tw[0]))[:limit]


def _normalised(candidates: Translations) -> Translations:
    total = sum(w for _, w in candidates)
    return [(t, w / total) for t, w in candidates] if total > 0 else []


def _restrict_to_vocabulary(
    term: str, candidates: Translations, vocabulary: Mapping[str, int]
) -> Translations:
    kept = [(t, w) for t, w in candidates if vocabulary.get(t, 0) > 0]
    # Shared names and loanwords: the corpus uses the source word itself.
    if vocabulary.get(term, 0) > 0 and all(t != term for t, _ in kept):
        kept.append((term, max((w for _, w in kept), default=1.0)))
    return kept


# --- parsing -------------------------------------------------------------------------


def _read_lines(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8") as f:
            return f.readlines()
    except FileNotFoundError as e:
        raise DictionaryNotFoundError(f"dictionary file not found: {path}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise DictionaryNotFoundError(f"dictionary file unreadable: {path} ({e})") from e


def _parse_ding(lines: Iterable[str]) -> dict[tuple[str, str], dict[str, dict[str, float]]]:
    readers = {lang: _PhraseReader(lang) for lang in SUPPORTED}
    weights: dict[tuple[str, str], dict[str, dict[str, float]]] = {d: {} for d in _DIRECTIONS}
    for line in lines:
        for direction, links in _links_of_line(line, readers).items():
            table = weights[direction]
            for (src_term, dst_term), weight in links.items():
                translations = table.setdefault(src_term, {})
                # Senses from different entries add up: a frequent pairing is central.
                translations[dst_term] = translations.get(dst_term, 0.0) + weight
    return weights


def _links_of_line(line: str, readers: Mapping[str, _PhraseReader]) -> dict[tuple[str, str], _PairWeights]:
    """Weighted term pairs of one entry; within an entry a pair counts once (max weight)."""
    sides = _split_entry(line)
    if sides is None:
        return {}
    links: dict[tuple[str, str], _PairWeights] = {d: {} for d in _DIRECTIONS}
    segments = [
        (_phrases(de_segment, readers["de"]), _phrases(en_segment, readers["en"]))
        for de_segment, en_segment in _aligned_segments(*sides)
    ]
    for index, (de_phrases, en_phrases) in enumerate(segments):
        weight = 1.0 if index == 0 else _LATER_SEGMENT_WEIGHT
        _link_phrases(links, de_phrases, en_phrases, weight)
    if _is_verb_entry(sides[1]):
        _link_verb_forms(links, segments)
    return links


def _parse_glosses(lines: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """German surface word -> its best-attested English phrase, from single-word German synonyms;
    and the best one-word phrase of the words whose best phrase has several (``_best_renderings``).

    A pairing's weight adds up over entries (segment and synonym rank discount it as in the term
    links); the English phrase loses its "to " and object placeholders ("to lose sth." -> "lose").
    """
    return _best_renderings(lines, "de", _german_gloss_key, _german_reflexive_key)


def _parse_english_glosses(lines: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Lowercase English word -> its best-attested German phrase (the mirror of _parse_glosses):
    from single-word English synonyms ("to lose" counts as "lose"), weighted the same way."""
    return _best_renderings(lines, "en", _english_gloss_key)


def _rendering_score(phrase: str, attestation: float) -> float:
    """How likely an English reader means ``phrase`` by the German word: how often the dictionary
    pairs the two, times the square root of how common the phrase is in English (wordfreq's
    frequency as a prior). "Kräfte" becomes "forces", not "vigours", which one entry lists first;
    "retten" becomes "save", not "salvage" (samples: bench/notes.md, glosses). Only into English:
    into German the prior picked frequent words in a rare sense ("crash" -> "schlafen")."""
    return attestation * 10 ** (_zipf(phrase, "en") / 2)


def _attestation(phrase: str, attestation: float) -> float:
    return attestation


@lru_cache(maxsize=None)
def _zipf(phrase: str, language: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(phrase, language)


def _german_gloss_key(synonym: str) -> str | None:
    words = [w for w in synonym.split() if not _is_placeholder_group(w)]
    return words[0] if len(words) == 1 and words[0].isalpha() else None


def _german_reflexive_key(synonym: str) -> str | None:
    """The verb of a reflexive synonym ("sich kümmern", "freut sich" -> "kümmern", "freut"): the
    reading glosses render it where the verb has no entry of its own ("sich" itself is left out)."""
    words = [w for w in synonym.split() if not _is_placeholder_group(w)]
    if len(words) != 2 or "sich" not in words:
        return None
    verb = words[1] if words[0] == "sich" else words[0]
    return verb if verb.isalpha() and verb != "sich" else None


def _english_gloss_key(synonym: str) -> str | None:
    phrase = _gloss_phrase(synonym)
    return phrase.lower() if phrase is not None and " " not in phrase else None


def _best_renderings(
    lines: Iterable[str],
    source: str,
    key_of: Callable[[str], str | None],
    reading_key_of: Callable[[str], str | None] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Word of ``source`` (as ``key_of`` reads a synonym) -> the other side's phrase that the
    dictionary pairs with it most often; into English also weighted by how common the phrase is
    (``_rendering_score``; ties: the shortest, then alphabetical). Second: the same choice among
    one-word phrases, for the words whose best phrase has several words and that have one-word
    phrases too. wordfreq rates phrases of common words as common, so idioms that merely contain
    the word win the first choice ("Theater" -> "to-do", "langsam" -> "be getting"). Words that only
    ``reading_key_of`` reads from a synonym (reflexive verbs) join the second table alone."""
    scores: dict[str, dict[str, float]] = {}
    reading_scores: dict[str, dict[str, float]] = {}
    for line in lines:
        sides = _split_entry(line)
        if sides is None:
            continue
        for index, (de_segment, en_segment) in enumerate(_aligned_segments(*sides)):
            source_segment, target_segment = (de_segment, en_segment) if source == "de" else (en_segment, de_segment)
            renderings = [p for p in (_gloss_phrase(s) for s in _synonyms(target_segment)) if p]
            if not renderings:
                continue
            segment_weight = 1.0 if index == 0 else _LATER_SEGMENT_WEIGHT
            for source_rank, synonym in enumerate(_synonyms(source_segment)):
                word, into = key_of(synonym), scores
                if word is None and reading_key_of is not None:
                    word, into = reading_key_of(synonym), reading_scores
                if word is None:
                    continue
                table = into.setdefault(word, {})
                for target_rank, phrase in enumerate(renderings):
                    weight = segment_weight * _synonym_weight(source_rank) * _synonym_weight(target_rank)
                    table[phrase] = table.get(phrase, 0.0) + weight
    score = _rendering_score if source == "de" else _attestation

    def rank(pair: tuple[str, float]) -> tuple[float, int, str]:
        return (-score(*pair), len(pair[0]), pair[0])

    def best_of(pairs: Iterable[tuple[str, float]]) -> str | None:
        return min(pairs, key=rank, default=(None, 0.0))[0]

    def best_one_word(table: dict[str, float]) -> str | None:
        return best_of(pair for pair in table.items() if _is_one_word(pair[0]))

    best: dict[str, str] = {}
    one_word: dict[str, str] = {}
    for word, table in scores.items():
        best[word] = best_of(table.items())
        if not _is_one_word(best[word]) and (found := best_one_word(table)):
            one_word[word] = found
    for word, table in reading_scores.items():
        if word not in scores:
            one_word[word] = best_one_word(table) or best_of(table.items())
    return best, one_word


def _is_one_word(phrase: str) -> bool:
    return " " not in phrase and "-" not in phrase


def _serialised(table: Mapping[str, str] | Collection[str] | SortedLines) -> str:
    """A gloss table (or the vocabulary, keys alone) as one string, a line per word (tab-separated),
    sorted: read in place by ``SortedLines`` or into a dict by ``_gloss_table``."""
    return table.text if isinstance(table, SortedLines) else SortedLines.of(table).text


def _vocabulary_of(glosses: Mapping[str, str] | SortedLines) -> frozenset[str]:
    return frozenset(word.lower() for word, _ in glosses.items() if len(word) >= _COMPOUND_MIN_PART)


def _gloss_table(source: Mapping[str, str] | str) -> dict[str, str]:
    """A gloss table, from a mapping or from its serialised form (a line per word, tab-separated)."""
    if isinstance(source, str):
        return dict(line.split("\t", 1) for line in source.split("\n") if line)
    return dict(source)


def _gloss_phrase(synonym: str) -> str | None:
    words = [w for w in synonym.split() if not _is_placeholder_group(w)]
    if words and words[0] == "to" and len(words) > 1:
        words = words[1:]
    if not words or len(words) > _MAX_GLOSS_WORDS or not all(w.replace("-", "").isalpha() for w in words):
        return None
    return " ".join(words)


def _is_verb_entry(english: str) -> bool:
    return any(s.strip().startswith("to ") for s in english.split("|", 1)[0].split(";"))


def _link_verb_forms(
    links: dict[tuple[str, str], _PairWeights], segments: list[tuple[_Phrases, _Phrases]]
) -> None:
    # "verlieren | verlierend | verloren :: to lose | losing | lost": also link each
    # participle to the other language's infinitive, so "lose" finds "verloren" (-> "verlor").
    head_de, head_en = segments[0]
    for de_phrases, en_phrases in segments[1:]:
        if _are_word_forms(de_phrases) and _are_word_forms(en_phrases):
            _link_phrases(links, head_de, en_phrases, _VERB_FORM_WEIGHT)
            _link_phrases(links, de_phrases, head_en, _VERB_FORM_WEIGHT)


def _are_word_forms(phrases: _Phrases) -> bool:
    return bool(phrases) and all(len(terms) == 1 for _, terms, _ in phrases)


def _link_phrases(
    links: dict[tuple[str, str], _PairWeights], de_phrases: _Phrases, en_phrases: _Phrases, weight: float
) -> None:
    for de_rank, de_terms, nouns in de_phrases:
        de_targets = tuple(_NOUN_MARK + t if t in nouns else t for t in de_terms)
        for en_rank, en_terms, _ in en_phrases:
            pair_weight = weight * _synonym_weight(de_rank) * _synonym_weight(en_rank)
            _add_pairs(links[("de", "en")], de_terms, en_terms, pair_weight)
            _add_pairs(links[("en", "de")], en_terms, de_targets, pair_weight)


def _split_entry(line: str) -> tuple[str, str] | None:
    if not line or line.startswith("#") or _SIDE_SEPARATOR not in line:
        return None
    german, _, english = _strip_annotations(line.strip()).partition(_SIDE_SEPARATOR)
    return german, english


def _strip_annotations(text: str) -> str:
    stripped = _ANNOTATION_RE.sub(" ", text)
    # Repeat for nested brackets such as "(Abk. (engl.) ...)".
    while stripped != text and _OPENING_BRACKETS.intersection(stripped):
        text, stripped = stripped, _ANNOTATION_RE.sub(" ", stripped)
    return stripped


def _aligned_segments(german: str, english: str) -> list[tuple[str, str]]:
    de_segments, en_segments = german.split("|"), english.split("|")
    if len(de_segments) != len(en_segments):
        return [(de_segments[0], en_segments[0])]  # misaligned entry: trust the headword only
    return list(zip(de_segments, en_segments))


def _phrases(segment: str, reader: _PhraseReader) -> _Phrases:
    """(synonym rank, analyzed terms, the terms written as German nouns) of the short phrases in
    one segment."""
    phrases = []
    for rank, synonym in enumerate(_synonyms(segment)):
        terms = reader.terms(synonym)
        if terms:
            phrases.append((rank, terms, reader.noun_terms(synonym) if reader.lang == "de" else frozenset()))
    return phrases


class _PhraseReader:
    """Analyzed terms of short dictionary phrases of one language, cached per phrase
    (inflected forms and common words recur thousands of times in the file)."""

    def __init__(self, lang: str):
        self.lang = lang
        self.analyzer = Analyzer(lang)
        self._cache: dict[str, tuple[str, ...]] = {}

    def terms(self, phrase: str) -> tuple[str, ...]:
        """Distinct terms of a phrase; empty for example sentences and long phrases."""
        terms = self._cache.get(phrase)
        if terms is None:
            terms = self._cache[phrase] = self._analyze(phrase)
        return terms

    def noun_terms(self, phrase: str) -> frozenset[str]:
        """Terms of the phrase's capitalised words: German writes nouns, and only nouns, with a
        capital ("an der Macht sein" -> {"macht"})."""
        return frozenset(self.analyzer.analyze(" ".join(w for w in phrase.split() if w[:1].isupper())))

    def _analyze(self, phrase: str) -> tuple[str, ...]:
        words = phrase.split()
        if len(words) > 2 * _MAX_PHRASE_WORDS:
            return ()  # an example sentence even without its placeholders
        words = [w for w in words if not _is_placeholder_group(w)]
        if not words or len(words) > _MAX_PHRASE_WORDS:
            return ()
        terms = tuple(dict.fromkeys(self.analyzer.analyze(" ".join(words))))
        if len(terms) > _MAX_PHRASE_TERMS or self._is_phrasal_verb(words, terms):
            return ()
        return terms

    def _is_phrasal_verb(self, words: list[str], terms: tuple[str, ...]) -> bool:
        """English phrases that stopwords reduce to one term mean something else than that term:
        "to lose out" is not "to lose", "to give up" not "to give"."""
        if self.lang != "en" or len(terms) != 1:
            return False
        content = [w for w in words if w.lower() not in _ENGLISH_FILLERS]
        return len(content) > 1


def _synonyms(segment: str) -> list[str]:
    synonyms = []
    for synonym in segment.split(";"):
        synonym = synonym.strip()
        if "/" not in synonym:
            synonyms.append(synonym)
        elif " " not in synonym:
            synonyms.extend(synonym.split("/"))  # "Kontakte/Beziehungen": alternatives
        elif all(_is_placeholder_group(w) for w in synonym.split() if "/" in w):
            synonyms.append(synonym)  # "jdn./etw. verlieren", "er/sie hat/hatte verloren"
        # other slashes ("to come/enter into force") are ambiguous: skip
    return synonyms


def _is_placeholder_group(word: str) -> bool:
    """True for object placeholders ("etw.", "sb./sth.") and slash groups of function
    words ("er/sie", "has/had")."""
    if "." not in word and "/" not in word and word not in _PLACEHOLDERS:
        return False  # fast path: most words
    parts = word.lower().strip(",:").split("/")
    if len(parts) == 1:
        return _is_placeholder(parts[0])
    return all(_is_placeholder(part) or part in _FUNCTION_WORDS for part in parts)


def _is_placeholder(word: str) -> bool:
    return word in _PLACEHOLDERS or word.rstrip(".") in _PLACEHOLDER_STEMS


def _synonym_weight(rank: int) -> float:
    return 1.0 / (1.0 + _SYNONYM_DECAY * rank)


def _add_pairs(
    pairs: _PairWeights, src_terms: tuple[str, ...], dst_terms: tuple[str, ...], weight: float
) -> None:
    # Only a single-term source is a translatable key; a multi-term target shares the weight
    # ("Sonnenuntergang" -> "sunset", "Superkraft" -> "super" + "power").
    if len(src_terms) != 1:
        return
    share = weight / len(dst_terms)
    for dst_term in dst_terms:
        key = (src_terms[0], dst_term)
        if share > pairs.get(key, 0.0):
            pairs[key] = share


# --- cache -----------------------------------------------------------------------------


def dictionary_identity(path: Path | str) -> str:
    """Names the dictionary file's version and this parser's format (a stat, no parsing); "none"
    when it is missing. Glosses made with another identity may differ (rag.text.gloss)."""
    try:
        return _source_key(Path(path))
    except DictionaryNotFoundError:
        return "none"


def _source_key(path: Path) -> str:
    try:
        stat = path.stat()
    except FileNotFoundError as e:
        raise DictionaryNotFoundError(f"dictionary file not found: {path}") from e
    except OSError as e:
        raise DictionaryNotFoundError(f"dictionary file unreadable: {path} ({e})") from e
    if not path.is_file():
        raise DictionaryNotFoundError(f"dictionary path is not a file: {path}")
    fields = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, FORMAT_VERSION, ANALYZER_VERSION)
    return hashlib.sha256(repr(fields).encode()).hexdigest()


def _cache_file(path: Path, key: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{_cache_prefix(path)}{key[:16]}.pickle"


def _cache_prefix(path: Path) -> str:
    """Names a cache by source file and format, so a stale cache of the same format is replaced while
    checkouts of other versions sharing the folder (a benchmark's baseline) keep theirs: otherwise
    each removed the other's cache and the next cold start parsed the dictionary again (~40 s)."""
    path_digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    return f"dictionary-{path.name}-{path_digest}-f{FORMAT_VERSION}a{ANALYZER_VERSION}-"


def _read_cache(cache_file: Path, key: str) -> Dictionary | None:
    try:
        with cache_file.open("rb") as f:
            payload = pickle.load(f)
        if payload.get("key") != key:
            return None
        return Dictionary.from_state(payload["state"])
    except FileNotFoundError:
        return None
    except Exception as e:  # corrupt or incompatible cache: rebuild it
        log.warning("ignoring unreadable dictionary cache %s: %s", cache_file, e)
        return None


def _write_cache(dictionary: Dictionary, cache_file: Path, key: str) -> None:
    tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            payload = {"key": key, "state": dictionary.to_state()}
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache_file)
    except OSError as e:  # a read-only cache dir only costs speed
        log.warning("could not write dictionary cache %s: %s", cache_file, e)
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        return
    _remove_stale_caches(cache_file)


def _remove_stale_caches(current: Path) -> None:
    prefix = current.name[: -len("0123456789abcdef.pickle")]
    for stale in current.parent.glob(f"{prefix}*.pickle"):
        if stale != current:
            with suppress(OSError):  # e.g. removed concurrently by another process
                stale.unlink(missing_ok=True)


def dictionary_for(settings) -> Dictionary | None:
    """The configured dictionary (cached under the settings' cache folder), or None with a
    warning when it is not installed: cross-language search then relies on names and vectors."""
    try:
        return Dictionary.load(settings.dictionary_path, cache_dir=settings.dictionary_cache_dir)
    except DictionaryNotFoundError:
        log.warning(
            "Dictionary %s not found: cross-language search falls back to shared names and dense "
            "vectors. Install it with: apt-get install trans-de-en",
            settings.dictionary_path,
        )
        return None
