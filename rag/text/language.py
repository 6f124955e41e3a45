"""Language detection, tokenization and index-term analysis for English and German.

Everything here is pure and cheap: the only non-stdlib dependency is PyStemmer,
imported lazily the first time a word is stemmed.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from functools import lru_cache
from typing import Any

SUPPORTED = ("en", "de")
UNDETERMINED = "und"

# Bump when analyze() output changes, so caches of analyzed terms (e.g. the compiled
# dictionary in rag.text.translate) are rebuilt.
ANALYZER_VERSION = 1

_SNOWBALL_NAMES = {"en": "english", "de": "german"}

# NLTK's stopword lists (as shipped in llama_index.core's nltk cache), embedded so that
# nothing is read from disk or downloaded.
_NLTK_ENGLISH = """
a about above after again against ain all am an and any are aren aren't as at be because
been before being below between both but by can couldn couldn't d did didn didn't do does
doesn doesn't doing don don't down during each few for from further had hadn hadn't has
hasn hasn't have haven haven't having he he'd he'll her here hers herself he's him himself
his how i i'd if i'll i'm in into is isn isn't it it'd it'll it's its itself i've just ll
m ma me mightn mightn't more most mustn mustn't my myself needn needn't no nor not now o of
off on once only or other our ours ourselves out over own re s same shan shan't she she'd
she'll she's should shouldn shouldn't should've so some such t than that that'll the their
theirs them themselves then there these they they'd they'll they're they've this those
through to too under until up ve very was wasn wasn't we we'd we'll we're were weren
weren't we've what when where which while who whom why will with won won't wouldn wouldn't
y you you'd you'll your you're yours yourself yourselves you've
"""
_NLTK_GERMAN = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
anderes anderm andern anderr anders auch auf aus bei bin bis bist da damit dann der den
des dem die das dass daß derselbe derselben denselben desselben demselben dieselbe
dieselben dasselbe dazu dein deine deinem deinen deiner deines denn derer dessen dich dir
du dies diese diesem diesen dieser dieses doch dort durch ein eine einem einen einer eines
einig einige einigem einigen einiger einiges einmal er ihn ihm es etwas euer eure eurem
euren eurer eures für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich
mich mir ihr ihre ihrem ihren ihrer ihres euch im in indem ins ist jede jedem jeden jeder
jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines
können könnte machen man manche manchem manchen mancher manches mein meine meinem meinen
meiner meines mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine
seinem seinen seiner seines selbst sich sie ihnen sind so solche solchem solchen solcher
solches soll sollte sondern sonst über um und uns unsere unserem unseren unser unseres
unter viel vom von vor während war waren warst was weg weil weiter welche welchem welchen
welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde
würden zu zum zur zwar zwischen
"""
# NLTK's lists lack modal verbs (en) and question words / common auxiliaries (de); questions
# are the main input, so their function words must not become index terms.
_EXTRA_ENGLISH = "would could might must shall"
_EXTRA_GERMAN = """
wer wen wem wessen warum wann wieso weshalb weswegen woher wohin worum wurde wurden worden
hast habt hätte hätten wäre wären sei seid
"""

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset((_NLTK_ENGLISH + _EXTRA_ENGLISH).split()),
    "de": frozenset((_NLTK_GERMAN + _EXTRA_GERMAN).split()),
}

# Detection uses only function words that are unambiguous between the two languages.
_AMBIGUOUS_FUNCTION_WORDS = frozenset(
    "am an in so was will also man hat d m s t y o ma ain".split()
)
_DETECTION_WORDS: dict[str, frozenset[str]] = {
    lang: STOPWORDS[lang] - STOPWORDS[other] - _AMBIGUOUS_FUNCTION_WORDS
    for lang, other in (("en", "de"), ("de", "en"))
}
_GERMAN_LETTERS = frozenset("äöüß")
# Weak cues, used so that content-only text (no function words) still gets a verdict.
_SUFFIX_CUES: dict[str, tuple[str, ...]] = {
    "de": ("ung", "ungen", "keit", "heit", "lich", "isch", "chen", "schaft"),
    "en": ("ing", "ness", "ly", "ould", "ight", "ed"),
}
_FUNCTION_WORD_WEIGHT = 1.0
_GERMAN_LETTER_WEIGHT = 1.0
_SUFFIX_WEIGHT = 0.25

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHE_RE = re.compile(r"['’]")
_UMLAUT_FOLDING = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})

COMPOUND_LINKS = ("", "s", "es", "n", "en")
# Longer words are not split: the splitter's work grows with the cube of a word's length (one
# 10,000-letter word in a file held an ingest for minutes), and the longest word of the Ding
# dictionary has 63 letters ("Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz").
MAX_COMPOUND_LENGTH = 80
# Counted as this many extra parts: any split into known parts beats an unknown modifier.
_UNKNOWN_PART_PENALTY = 100
# Inflection endings a compound's last part may carry beyond its vocabulary form.
_HEAD_INFLECTIONS = frozenset(("", "e", "n", "en", "s", "es", "er", "ern", "em"))


def tokenize(text: str) -> list[str]:
    """Split text into lowercase word tokens (unicode letters and digits).

    Hyphenated words are split into their parts ("Jor-El" -> ["jor", "el"]), a possessive
    "'s" is dropped ("Clark's" -> ["clark"]) and other contractions are split at the
    apostrophe ("don't" -> ["don", "t"]).
    """
    if not text:
        return []
    lowered = _nfc(text).lower()
    words = _TOKEN_RE.findall(lowered)
    if "'" not in lowered and "’" not in lowered:
        return words
    tokens: list[str] = []
    for word in words:
        if "'" in word or "’" in word:
            tokens.extend(_split_contraction(word))
        else:
            tokens.append(word)
    return tokens


def capitalized_words(text: str) -> set[str]:
    """Words of text written with an initial capital, lowercased (same word split as tokenize)."""
    return {w.lower() for w in _TOKEN_RE.findall(_nfc(text)) if w[:1].isupper() and "'" not in w and "’" not in w}


def _nfc(text: str) -> str:
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        return unicodedata.normalize("NFC", text)
    return text


def _split_contraction(word: str) -> list[str]:
    parts = _APOSTROPHE_RE.split(word)
    if parts[-1] == "s":
        parts.pop()
    return parts


def detect_language(text: str) -> str:
    """Guess whether text is English ("en") or German ("de").

    Scores unambiguous function words, German letters (ä, ö, ü, ß) and typical suffixes.
    Returns "und" when there is no evidence either way (empty text, numbers, bare names).
    """
    scores = language_scores(text)
    if scores["en"] > scores["de"]:
        return "en"
    if scores["de"] > scores["en"]:
        return "de"
    return UNDETERMINED


def language_scores(text: str) -> dict[str, float]:
    """Evidence for each supported language in text (higher means more likely)."""
    scores = {"en": 0.0, "de": 0.0}
    for token in tokenize(text):
        for lang in SUPPORTED:
            if token in _DETECTION_WORDS[lang]:
                scores[lang] += _FUNCTION_WORD_WEIGHT
            elif len(token) > 4 and token.endswith(_SUFFIX_CUES[lang]):
                scores[lang] += _SUFFIX_WEIGHT
        if _GERMAN_LETTERS.intersection(token):
            scores["de"] += _GERMAN_LETTER_WEIGHT
    return scores


def fold_umlauts(word: str) -> str:
    """Map ä->a, ö->o, ü->u, ß->ss (so "Kräfte" and "Kraft" meet after stemming)."""
    return word.translate(_UMLAUT_FOLDING)


_stemmers: dict[str, Any] = {}
# PyStemmer objects are not safe to share between threads (Gradio serves from a pool).
_stemmer_lock = threading.Lock()


def _stemmer(lang: str) -> Any:
    stemmer = _stemmers.get(lang)
    if stemmer is None:
        import Stemmer  # deferred: keeps importing this module cheap

        # No internal cache: callers cache (stem() and Analyzer), PyStemmer's would only add cost.
        stemmer = _stemmers[lang] = Stemmer.Stemmer(_SNOWBALL_NAMES[lang], 0)
    return stemmer


@lru_cache(maxsize=200_000)
def stem(word: str, lang: str) -> str:
    """Snowball stem of a lowercase word; German stems are umlaut-folded.

    Unsupported languages (including "und") return the word unchanged.
    """
    return _stem_uncached(word, lang)


def _stem_uncached(word: str, lang: str) -> str:
    if lang not in _SNOWBALL_NAMES:
        return word
    with _stemmer_lock:
        stemmed = _stemmer(lang).stemWord(word)
    if lang == "de" and not stemmed.isascii():
        return fold_umlauts(stemmed)
    return stemmed


class Analyzer:
    """Turns text into index terms for one language: tokenize, drop stopwords, stem.

    For "und" (unknown language) English stopwords are dropped and nothing is stemmed.
    With a German `vocabulary` (known lowercase surface words, e.g. the corpus's), the
    stems of compound parts are added after the whole word's stem. The vocabulary is
    held by reference; results are cached per word, so do not mutate it afterwards.
    """

    def __init__(
        self,
        lang: str,
        vocabulary: Collection[str] | None = None,
        min_part: int = 3,
    ) -> None:
        if lang not in SUPPORTED and lang != UNDETERMINED:
            raise ValueError(f"unsupported language {lang!r}; expected one of {SUPPORTED} or 'und'")
        self.lang = lang
        self.stopwords = STOPWORDS["en" if lang == UNDETERMINED else lang]
        self.vocabulary = vocabulary if lang == "de" else None
        self.min_part = min_part
        self._terms_by_token: dict[str, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f"Analyzer({self.lang!r}, compounds={self.vocabulary is not None})"

    def __getstate__(self) -> dict:
        # The per-word cache is rebuilt on use: pickled (inside an index snapshot) it held every
        # word of the corpus and took a tenth of a cold start at 10^5 chunks to load.
        return {**self.__dict__, "_terms_by_token": {}}

    def analyze(self, text: str) -> list[str]:
        """Index terms of text, in order of occurrence (duplicates kept)."""
        terms: list[str] = []
        for token in tokenize(text):
            if token not in self.stopwords:
                terms.extend(self.analyze_token(token))
        return terms

    def analyze_token(self, token: str) -> tuple[str, ...]:
        """Terms for one lowercase token: its stem, then the stems of its compound parts."""
        cached = self._terms_by_token.get(token)
        if cached is None:
            cached = self._terms_by_token[token] = self._compute_terms(token)
        return cached

    def stem(self, word: str) -> str:
        """Stem of one lowercase word in this analyzer's language."""
        return stem(word, self.lang)

    def _compute_terms(self, token: str) -> tuple[str, ...]:
        whole = _stem_uncached(token, self.lang)  # analyze_token caches the result
        if self.vocabulary is None or len(token) < 2 * self.min_part:
            return (whole,)
        parts = split_compound(token, self.vocabulary, self.min_part)
        if len(parts) < 2:
            return (whole,)
        extra = [s for s in dict.fromkeys(self.stem(p) for p in parts) if s != whole]
        return (whole, *extra)


# A compound split ranked by cost: ((parts, filler letters, -head length), parts).
_Split = tuple[tuple[int, int, int], tuple[str, ...]]


def split_compound(
    word: str,
    vocabulary: Collection[str],
    min_part: int = 3,
    *,
    allow_unknown_modifier: bool = True,
    links: Sequence[str] = COMPOUND_LINKS,
) -> list[str]:
    """Split a lowercase German compound into known parts, or return [word].

    Parts must be in `vocabulary`, at least `min_part` long and not German function
    words; linking elements (`links`: "s", "es", "n", "en") may sit between parts and are
    not returned, and the last part may carry an inflection ending ("superkräften" ->
    ["super", "kräfte"]). Splits into known parts win over others; among them the one with
    the fewest parts, then the fewest linking/inflection letters, then the longest head
    (last part). With `allow_unknown_modifier`, the first part may be unknown if it is
    longer than `min_part` letters, is not a function word and the rest splits into known
    parts ("superkräfte" -> ["super", "kräfte"] even without "super"); prefixes such as
    "ver" or "unter" never count. Words longer than MAX_COMPOUND_LENGTH are returned whole.
    """
    if not 2 * min_part <= len(word) <= MAX_COMPOUND_LENGTH:
        return [word]
    splitter = _CompoundSplitter(word, vocabulary, min_part, tuple(links))
    best = splitter.best_split(allow_unknown_modifier)
    return list(best) if best is not None else [word]


class _CompoundSplitter:
    """Dynamic programming over one word: tails[i] is the best split of word[i:] into
    known parts (or None), computed right to left."""

    def __init__(
        self, word: str, vocabulary: Collection[str], min_part: int, links: tuple[str, ...]
    ) -> None:
        self.word, self.vocabulary, self.min_part = word, vocabulary, min_part
        self.links = links if "" in links else ("", *links)
        self.tails: list[_Split | None] = [None] * (len(word) + 1)
        for start in range(len(word) - min_part, 0, -1):
            self.tails[start] = self._best_tail(start, require_split=False)

    def best_split(self, allow_unknown_modifier: bool) -> tuple[str, ...] | None:
        """Parts of the best split into at least two parts, or None."""
        candidates = []
        whole = self._best_tail(0, require_split=True)
        if whole is not None:
            candidates.append(whole)
        if allow_unknown_modifier:
            candidates.extend(self._unknown_modifier_splits())
        return min(candidates)[1] if candidates else None

    def _best_tail(self, start: int, require_split: bool) -> _Split | None:
        word, n = self.word, len(self.word)
        candidates: list[_Split] = []
        for end in range(start + self.min_part, n + 1):
            part = word[start:end]
            if part not in self.vocabulary or part in STOPWORDS["de"]:
                continue
            if not require_split and word[end:] in _HEAD_INFLECTIONS:
                candidates.append(((1, n - end, start - end), (part,)))
            for link in self.links:
                following = end + len(link)
                if following > n - self.min_part or not word.startswith(link, end):
                    continue
                tail = self.tails[following]
                if tail is not None:
                    (parts_count, filler, head), parts = tail
                    candidates.append(((parts_count + 1, filler + len(link), head), (part, *parts)))
        return min(candidates) if candidates else None

    def _unknown_modifier_splits(self) -> Iterator[_Split]:
        for start in range(self.min_part + 1, len(self.word) - self.min_part + 1):
            tail = self.tails[start]
            modifier = self.word[:start]
            # "unter|halten", "über|leben": a prefix, not a compound part.
            if tail is None or modifier in STOPWORDS["de"]:
                continue
            (parts_count, filler, head), parts = tail
            yield ((parts_count + 1 + _UNKNOWN_PART_PENALTY, filler, head), (modifier, *parts))
