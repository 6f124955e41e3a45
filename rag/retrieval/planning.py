"""Query planning: a question's language, its terms in every corpus language (translated through the
dictionary and disambiguated against the corpus's own terms), and what is embedded for it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Union

from rag.index.lexical import LexicalIndex, WeightedTerms, namespaced
from rag.index.search_index import SearchIndex
from rag.text.gloss import gloss_german
from rag.text.language import detect_language

if TYPE_CHECKING:
    from rag.text.translate import Dictionary


MIN_RELATIVE_SENSE = 0.3  # translations weaker than this share of the best sense are ignored
MAX_TRANSLATIONS = 4
MIN_EXTENDED_TERM = 4

#: A dictionary, none, or a function returning one of them (called on first need only).
DictionarySource = Union["Dictionary", None, Callable[[], Optional["Dictionary"]]]


@dataclass
class TermGroup:
    """One word of the question and the terms standing for it in one document language."""

    source: str
    targets: list[tuple[str, float]]  # namespaced terms with weights summing to at most 1


@dataclass
class QueryPlan:
    """How a question is searched: its language, its terms in every corpus language, and the
    English text that is embedded for it (the question itself, or its gloss if German)."""

    question: str
    language: str
    groups: dict[str, list[TermGroup]] = field(default_factory=dict)
    embedded_text: str = ""

    def weighted_terms(self) -> WeightedTerms:
        return [term for groups in self.groups.values() for g in groups for term in g.targets]


def question_language(question: str) -> str:
    """'en' or 'de'; questions without clear evidence are treated as English."""
    language = detect_language(question)
    return language if language in ("en", "de") else "en"


class QueryPlanner:
    """Turns a question into terms for each corpus language, translating where needed."""

    def __init__(self, index: SearchIndex, dictionary: DictionarySource):
        """``dictionary``: a Dictionary, None, or a function returning one of them; a function is
        called on first need only, so questions in a one-language corpus never load it."""
        self.index = index
        self._dictionary = dictionary
        self._dictionary_resolved = not callable(dictionary)
        self._vocabularies: dict[str, TermStatistics] = {}

    def plan(self, question: str, translations: dict[str, str] | None = None) -> QueryPlan:
        """``translations`` (language -> the question translated, e.g. by an LLM) replace the
        dictionary's word-by-word translation for that language, and the English translation of a
        German question is embedded instead of its gloss."""
        language = question_language(question)
        translations = {k: v for k, v in (translations or {}).items() if k != language and v.strip()}
        source_terms = self._terms(question, language)
        embedded = question
        if language == "de":
            embedded = translations.get("en") or gloss_german(question, self.dictionary)
        plan = QueryPlan(question=question, language=language, embedded_text=embedded)
        for target in self.index.languages:
            if target in translations:
                terms = self._terms(translations[target], target)
                plan.groups[target] = [TermGroup(t, [(namespaced(target, t), 1.0)]) for t in terms]
            else:
                plan.groups[target] = [self._group(term, language, target) for term in source_terms]
        return plan

    @property
    def dictionary(self):
        if not self._dictionary_resolved:
            self._dictionary = self._dictionary()
            self._dictionary_resolved = True
        return self._dictionary

    def _terms(self, text: str, language: str) -> list[str]:
        return list(dict.fromkeys(self.index.lexical.analyzer(language).analyze(text)))

    def _group(self, term: str, source: str, target: str) -> TermGroup:
        if target == source or target not in ("en", "de") or self.dictionary is None:
            return TermGroup(term, [(namespaced(target, term), 1.0)])
        translations = translate_against_corpus(self.dictionary, term, source, target, self._vocabulary(target))
        return TermGroup(term, [(namespaced(target, t), w) for t, w in translations])

    def _vocabulary(self, language: str) -> TermStatistics:
        """Built on first use: collecting one language's terms walks the whole lexicon (at 10^5
        chunks 0.02-0.08 s per language), and a question only needs those it is translated into."""
        if language not in self._vocabularies:
            nouns = self.index.lexical.german_nouns if language == "de" else None
            self._vocabularies[language] = TermStatistics(self.index.vocabulary(language), nouns)
        return self._vocabularies[language]


class TermStatistics:
    """The analyzed terms of one language's chunks with their document frequencies, and (German)
    the terms that occur as nouns."""

    def __init__(self, frequencies: dict[str, int], nouns: frozenset[str] | None = None):
        self.frequencies = frequencies
        self.nouns = nouns
        self._sorted: list[str] | None = None

    def __contains__(self, term: str) -> bool:
        return self.frequencies.get(term, 0) > 0

    def used_as_noun(self, term: str) -> bool:
        return self.nouns is None or term in self.nouns

    def one_letter_longer(self, term: str) -> list[str]:
        """Corpus terms that are ``term`` plus one letter.

        The Snowball stemmer leaves the "-t" of German verb forms: a translation "verletz" (from
        "Verletzung", "verletzen") would miss the corpus's "verletzt", "meint" would miss "mein".
        Only terms of at least MIN_EXTENDED_TERM letters are extended (short stems collide).
        """
        if len(term) < MIN_EXTENDED_TERM:
            return []
        if self._sorted is None:
            self._sorted = sorted(self.frequencies)
        found = []
        position = bisect.bisect_left(self._sorted, term)
        while position < len(self._sorted) and self._sorted[position].startswith(term):
            if len(self._sorted[position]) == len(term) + 1:
                found.append(self._sorted[position])
            position += 1
        return found


def translate_against_corpus(
    dictionary, term: str, source: str, target: str, vocabulary: TermStatistics
) -> list[tuple[str, float]]:
    """Plausible translations of one term that occur in the corpus, weighted by plausibility.

    Weights are relative to the dictionary's best sense and never scaled up after filtering: a word
    whose main senses are absent from the corpus keeps only its weak senses' small weights (or
    none), instead of letting a rare sense that happens to occur count as a full match.
    A translation absent from the corpus stands for the corpus terms one letter longer (inflected
    forms the stemmer left apart); one the dictionary gives only as a noun counts only where the
    corpus writes it as one. A word the dictionary does not know (a name) stands for itself.
    """
    candidates = dictionary.candidates(term, source, target)
    if not candidates:
        return [(term, 1.0)]
    nouns = dictionary.noun_only(term, source, target)
    best = max(w for _, w in candidates)
    plausible = [(t, w / best) for t, w in candidates if w / best >= MIN_RELATIVE_SENSE]
    if term in vocabulary and all(t != term for t, _ in plausible):
        plausible.append((term, 1.0))  # loanwords and names shared by both languages
    weights: dict[str, float] = {}
    for translation, weight in plausible:
        forms = [translation] if translation in vocabulary else vocabulary.one_letter_longer(translation)
        if translation in nouns:
            forms = [form for form in forms if vocabulary.used_as_noun(form)]
        for form in forms:
            weights[form] = max(weights.get(form, 0.0), weight)
    in_corpus = sorted(weights.items(), key=lambda tw: -tw[1])[:MAX_TRANSLATIONS]
    total = sum(w for _, w in in_corpus)
    return [(t, w / max(total, 1.0)) for t, w in in_corpus]


def coverage(groups: list[TermGroup], matched: set[str], lexical: LexicalIndex) -> float:
    """Share of the question's words (weighted by rarity) found in a text, in any translation."""
    total = found = 0.0
    for group in groups:
        # A word with no counterpart in the corpus weighs like a rare word that is missing.
        weight = max((lexical.idf(t) for t, _ in group.targets), default=lexical.idf(""))
        total += weight
        best_match = max((w for t, w in group.targets if t in matched), default=0.0)
        found += weight * min(1.0, best_match / max(w for _, w in group.targets)) if best_match else 0.0
    return found / total if total else 0.0
