"""Glosses a person reads: a quote in the other language, word by word, in its own order.

An answer quotes its sources as written; a quote in another language than the question's gets a
line under it in the question's language (rag.answer.extractive). The glosses that feed retrieval
(rag.text.gloss) are bags of content words, which read as word salad ("invokes Clark forces use life
save"). A reading gloss keeps every word in place with its punctuation, renders function words by
their usual sense (rag.text.function_words), joins a German verb with the particle its clause moved
to the end ("fleht … an" is "anflehen", "beg"), and finds a German verb form through its
infinitive when the form itself has no entry ("mitteilt" -> "mitteilen"). Content words get the
same renderings as the retrieval glosses. It is still a machine gloss, marked as one, not a
translation. Quality against XQuAD's professional translations: bench/results/glosses.md.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from rag.runtime.background import start_quietly
from rag.text.function_words import ENGLISH_TO_GERMAN, GERMAN_TO_ENGLISH, SEPARABLE_PARTICLES
from rag.text.gloss import (
    GERMAN_FUNCTION_SENSES,
    english_names,
    english_word_gloss,
    german_forms_gloss,
    german_word_gloss,
)

# The retrieval glosses' fixed senses ("laut" -> "according to") and the rest of the closed class.
_GERMAN_FUNCTION_WORDS = {**GERMAN_FUNCTION_SENSES, **GERMAN_TO_ENGLISH}
# Words (hyphenated ones whole: "Jor-El"), and the punctuation a reader needs.
_TOKEN_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*|[.,;:!?]")
_PUNCTUATION = frozenset(".,;:!?")
_SENTENCE_END = frozenset(".!?:")
# Endings of finite verb forms and participles, longest first, tried to reach the infinitive.
_VERB_ENDINGS = ("test", "tet", "ten", "te", "st", "et", "t", "e", "en", "")
_MIN_VERB_STEM = 3
_PLURAL_AUXILIARIES = frozenset(
    "sind waren wären haben hatten hätten werden wurden würden können konnten könnten müssen mussten "
    "müssten sollen sollten wollen wollten dürfen durften".split()
)


def reading_gloss_german(text: str, dictionary, keep: frozenset[str] = frozenset()) -> str:
    """German text glossed into English for a reader (see the module docstring); words in ``keep``
    (names) are shown as written."""
    tokens = _TOKEN_RE.findall(text)
    verb_of_particle = _particle_verbs(tokens, dictionary)
    particle_of_verb = {verb: particle for particle, verb in verb_of_particle.items()}
    words: list[str] = []
    for index, token in enumerate(tokens):
        if index in verb_of_particle:
            continue
        if index in particle_of_verb:
            rendering = _particle_verb_gloss(tokens[particle_of_verb[index]], token, dictionary) or token
        else:
            rendering = _whole_words(_german_rendering, tokens, index, dictionary, keep)
        _append(words, token, rendering)
    return " ".join(words)


def reading_gloss_english(text: str, dictionary, keep: frozenset[str] = frozenset()) -> str:
    """English text glossed into German for a reader; words in ``keep`` (names) stay as written."""
    tokens = _TOKEN_RE.findall(text)
    words: list[str] = []
    for index, token in enumerate(tokens):
        _append(words, token, _whole_words(_english_rendering, tokens, index, dictionary, keep))
    return " ".join(words)


def _whole_words(
    render: Callable[[list[str], int, object, frozenset[str]], str],
    tokens: list[str],
    index: int,
    dictionary,
    keep: frozenset[str],
) -> str:
    """``render`` of the token, a hyphenated one kept whole ("Jor-El") with each part rendered alone."""
    token = tokens[index]
    if "-" in token:
        return "-".join(render([part], 0, dictionary, keep) for part in token.split("-"))
    return render(tokens, index, dictionary, keep)


def _append(words: list[str], token: str, rendering: str) -> None:
    if token in _PUNCTUATION:
        if words:
            words[-1] += token
    elif rendering:
        words.append(rendering)


def _starts_sentence(tokens: list[str], index: int) -> bool:
    return index == 0 or tokens[index - 1] in _SENTENCE_END


def _function_word(tokens: list[str], index: int, table: dict[str, str]) -> str | None:
    """The token's rendering as a function word: written in lowercase, or capitalised only because
    it starts a sentence (mid-sentence "Weg" is the noun "way", not "weg", "away")."""
    token = tokens[index]
    lower = token.lower()
    if lower not in table:
        return None
    if token == lower or _starts_sentence(tokens, index):
        return table[lower]
    return None


def _german_rendering(tokens: list[str], index: int, dictionary, keep: frozenset[str]) -> str:
    token = tokens[index]
    if token in _PUNCTUATION or token in keep:
        return token
    function = _function_word(tokens, index, _GERMAN_FUNCTION_WORDS)
    if function == "she" and _beside_a_plural_verb(tokens, index):
        return "they"
    if function is not None:
        return function
    if not token.isalpha():
        return token  # numbers, years
    if token.islower():  # a verb form is looked up through its infinitive before it is split
        found = german_forms_gloss(token, dictionary, reading=True) or _through_infinitive(
            token, dictionary.reading_gloss_word
        )
        if found:
            return found
    return german_word_gloss(token, dictionary, reading=True) or token


def _english_rendering(tokens: list[str], index: int, dictionary, keep: frozenset[str]) -> str:
    token = tokens[index]
    if token in _PUNCTUATION or token in keep:
        return token
    function = _function_word(tokens, index, ENGLISH_TO_GERMAN)
    if function is not None:
        return function
    if token == "I":
        return "ich"
    if not token.isalpha():
        return token
    return english_word_gloss(token.lower(), dictionary, reading=True) or token


def _beside_a_plural_verb(tokens: list[str], index: int) -> bool:
    """Whether "sie" stands next to a verb in the plural ("sie kommen", "werden sie"): "they", not
    "she". A verb is a lowercase word ending in "en" that is no function word, or a plural auxiliary."""
    neighbours = tokens[index + 1 : index + 2] + tokens[max(index - 1, 0) : index]
    return any(
        word in _PLURAL_AUXILIARIES or (word.islower() and word.endswith("en") and word not in _GERMAN_FUNCTION_WORDS)
        for word in neighbours
    )


def _infinitives(form: str) -> list[str]:
    """Candidate infinitives of a German verb form ("mitteilt" -> "mitteilen", "mitteiln", …)."""
    found = []
    for ending in _VERB_ENDINGS:
        if form.endswith(ending) and len(form) - len(ending) >= _MIN_VERB_STEM:
            stem = form[: len(form) - len(ending)]
            found += [stem + "en", stem + "n"]
    return found


def _without_infix_zu(form: str) -> list[str]:
    """A separable verb's infinitive with "zu" between particle and verb, without it
    ("zurückzuholen" -> "zurückholen")."""
    return [
        particle + form[len(particle) + 2 :]
        for particle in SEPARABLE_PARTICLES
        if form.startswith(particle + "zu") and len(form) - len(particle) - 2 >= _MIN_VERB_STEM
    ]


def _through_infinitive(form: str, lookup: Callable[[str], str | None]) -> str | None:
    for infinitive in _infinitives(form) + _without_infix_zu(form):
        found = lookup(infinitive)
        if found:
            return found
    return None


def _particle_verbs(tokens: list[str], dictionary) -> dict[int, int]:
    """Separable verbs whose particle ends a clause: index of the particle -> index of its verb.

    In a German main clause the finite verb comes early and its particle last ("Jor-El … willigt
    aber letztlich ein."); the verb is the clause's first lowercase content word, taken when its
    infinitive with the particle in front is in the dictionary ("einwilligen")."""
    found: dict[int, int] = {}
    start = 0
    for end in range(len(tokens) + 1):
        if end < len(tokens) and tokens[end] not in _PUNCTUATION:
            continue
        last = end - 1
        if last > start and tokens[last] in SEPARABLE_PARTICLES:
            verb = _clause_verb(tokens, start, last, dictionary)
            if verb is not None:
                found[last] = verb
        start = end + 1
    return found


def _clause_verb(tokens: list[str], start: int, particle: int, dictionary) -> int | None:
    for index in range(start, particle):
        word = tokens[index]
        if word.islower() and word.isalpha() and word not in _GERMAN_FUNCTION_WORDS:
            if _particle_verb_gloss(tokens[particle], word, dictionary):
                return index
            return None
    return None


def _particle_verb_gloss(particle: str, verb: str, dictionary) -> str | None:
    lookup = dictionary.reading_gloss_word
    return lookup(particle + verb) or _through_infinitive(particle + verb, lookup)


class DictionaryGlosser:
    """Reading glosses between German and English from the Ding dictionary, for showing a quote to
    a reader of the other language (``rag.answer.extractive``). ``dictionary`` is a function
    returning the dictionary (or None), called on first need."""

    def __init__(self, dictionary):
        self._dictionary = dictionary
        self._preparing: threading.Thread | None = None

    def prepare_in_background(self) -> None:
        """Load the dictionary in a thread (once), while the caller does something else: an answer
        starts this before it embeds its sentences. Its gloss tables are read in place, so nothing
        else needs building (bench/notes.md, "A cold start without building the gloss tables")."""
        if self._preparing is None:
            self._preparing = start_quietly(self._dictionary, "rag-glosses-warm-up")

    def gloss(
        self, text: str, source_language: str, target_language: str, keep: frozenset[str] = frozenset()
    ) -> str | None:
        """``keep``: words shown as written, not glossed (names: "Lex" is not "law", "Faith" not
        "Glaube"); see ``rag.text.gloss.names_for_gloss``."""
        dictionary = self._dictionary()
        if dictionary is None:
            return None
        if (source_language, target_language) == ("de", "en"):
            return reading_gloss_german(text, dictionary, keep) or None
        if (source_language, target_language) == ("en", "de"):
            return reading_gloss_english(text, dictionary, keep | english_names(text)) or None
        return None
