"""English word-by-word glosses of German text, so the English-only embedding model can read it.

all-MiniLM-L6-v2 places an English question far from the German passage that answers it, but
close to a crude English rendering of that passage: "Lana, die den Hubschrauberabsturz überlebt
hat, kämpft um ihr Leben" glossed as "Lana helicopter fall survived fights life" lands near "What
kind of accident had Lana just lived through?". Glossing German chunks at ingest (one extra vector
each) and German questions at query time lets dense search compare both directions in English.

The gloss is deliberately simple and deterministic: each German word becomes the English phrase
the Ding dictionary most often pairs with it (rag.text.translate.Dictionary.gloss_word), keyed by the
word as written, so capitalisation separates nouns from verbs ("Macht" -> "power", "macht" ->
"does"); a few function words have fixed renderings; compounds are split into glossable parts;
names and unknown words stay as they are. It depends only on the text and the dictionary, never
on the rest of the corpus, so a chunk's gloss (and its vector) changes only when the chunk does.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from rag.text.language import STOPWORDS, split_compound

GLOSS_VERSION = "2"  # 2: glosses prefer common words (rag.text.translate._rendering_score)

_WORD_RE = re.compile(r"[^\W_]+")
# Function words whose dictionary sense is usually wrong in running text ("laut" -> "loud",
# not "according to") or that carry the question's intent (wh-words, negation).
GERMAN_FUNCTION_SENSES = {
    "laut": "according to",
    "beide": "both",
    "beiden": "both",
    "beider": "both",
    "nicht": "not",
    "kein": "no",
    "keine": "no",
    "keinen": "no",
    "keiner": "no",
    "ohne": "without",
    "gegen": "against",
    "zwischen": "between",
    "während": "during",
    "nach": "after",
    "vor": "before",
    "seit": "since",
    "wer": "who",
    "wen": "whom",
    "wem": "whom",
    "wessen": "whose",
    "was": "what",
    "welche": "which",
    "welcher": "which",
    "welches": "which",
    "welchen": "which",
    "welchem": "which",
    "wann": "when",
    "wo": "where",
    "wohin": "where to",
    "woher": "where from",
    "warum": "why",
    "weshalb": "why",
    "wieso": "why",
    "wie": "how",
    "womit": "with what",
    "wodurch": "through what",
    "viele": "many",
    "viel": "much",
    "mehr": "more",
    "erste": "first",
    "ersten": "first",
    "zwei": "two",
    "drei": "three",
}
# Endings tried, longest first, when an inflected form has no entry of its own.
_NOUN_ENDINGS = ("ern", "en", "er", "es", "e", "n", "s")
_OTHER_ENDINGS = ("sten", "ten", "est", "ern", "em", "en", "er", "es", "st", "te", "e", "n", "s", "t")
_MIN_STEM = 3
_MIN_COMPOUND_PART = 4


def gloss_german(text: str, dictionary) -> str:
    """An English word-by-word gloss of German text (see the module docstring)."""
    if dictionary is None:
        return text
    words = []
    for token in _WORD_RE.findall(text):
        rendering = german_token_gloss(token, dictionary)
        if rendering:
            words.append(rendering)
    return " ".join(words)


def names_for_gloss(question: str, passage_text: str, passage_language: str) -> frozenset[str]:
    """Words a gloss of a quote from this passage shows as written: the question's own words (a word
    the reader wrote and the quote shares is a name or needs no gloss) and, in English text, the
    words the passage capitalises mid-sentence (names, also where they start a sentence)."""
    words = frozenset(_WORD_RE.findall(question))
    return words | english_names(passage_text) if passage_language == "en" else words


def english_names(text: str) -> frozenset[str]:
    """Capitalised words of English text that do not start a sentence ("I" aside)."""
    return frozenset(m.group(1) for m in _MID_SENTENCE_CAPITAL.finditer(text)) - {"I"}


_MID_SENTENCE_CAPITAL = re.compile(r"(?<![.!?:;\"“”‘’'\n])\s+([A-Z][^\W\d_]*)")


def gloss_english(text: str, dictionary) -> str:
    """A German word-by-word gloss of English text: each word becomes the German phrase the Ding
    dictionary most often pairs with it (a plural or verb ending is dropped when the word as
    written has no entry); English function words are left out, names and unknown words stay."""
    words = []
    for token in _WORD_RE.findall(text):
        lower = token.lower()
        if lower in _ENGLISH_FUNCTION_SENSES:
            words.append(_ENGLISH_FUNCTION_SENSES[lower])
        elif lower in STOPWORDS["en"]:
            continue
        elif not token.isalpha():
            words.append(token)
        else:
            words.append(english_word_gloss(lower, dictionary) or token)
    return " ".join(words)


def english_word_gloss(word: str, dictionary, reading: bool = False) -> str | None:
    """The German gloss of one lowercase English word, also through a dropped ending; ``reading``:
    the one-word rendering a reader is shown (``Dictionary.reading_gloss_english_word``)."""
    lookup = dictionary.reading_gloss_english_word if reading else dictionary.gloss_english_word
    found = lookup(word)
    if found:
        return found
    for ending, replacement in _ENGLISH_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            found = lookup(word[: len(word) - len(ending)] + replacement)
            if found:
                return found
    return None


# Endings tried in order when an English word as written has no entry ("powers" -> "power").
_ENGLISH_ENDINGS = (("ies", "y"), ("ied", "y"), ("es", ""), ("s", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""))
# English function words that carry a question's or a sentence's sense.
_ENGLISH_FUNCTION_SENSES = {
    "not": "nicht", "no": "kein", "never": "nie", "without": "ohne", "against": "gegen",
    "before": "vor", "after": "nach", "because": "weil", "who": "wer", "what": "was",
    "why": "warum", "how": "wie", "where": "wo", "when": "wann",
}


def gloss_rules_key(dictionary_path: Path | str) -> str:
    """What glosses are made with: these rules and the dictionary (rag.text.translate). An ingest
    of an unchanged folder still runs when this differs from the last one, so gloss vectors follow
    a new dictionary or new rules (rag.api.Rag._derived_key)."""
    from rag.text.translate import dictionary_identity

    return f"gloss{GLOSS_VERSION}:{dictionary_identity(dictionary_path)}"


def gloss_hash(gloss: str, fingerprint: str = "") -> str:
    """Identifies a gloss with the glossing rules and the embedding that made its vector."""
    return hashlib.sha256(f"gloss{GLOSS_VERSION}\0{fingerprint}\0{gloss}".encode()).hexdigest()


def german_token_gloss(token: str, dictionary) -> str | None:
    lower = token.lower()
    fixed = GERMAN_FUNCTION_SENSES.get(lower)
    if fixed is not None:
        return fixed
    if lower in STOPWORDS["de"]:
        return None
    if not token.isalpha():
        return token  # numbers, years
    return german_word_gloss(token, dictionary) or token


@lru_cache(maxsize=100_000)
def german_word_gloss(word: str, dictionary, reading: bool = False) -> str | None:
    """The gloss of one German word: of its form (``german_forms_gloss``), else of the parts of the
    compound it is ("Hubschrauberabsturz" -> "helicopter fall"); None when neither has an entry."""
    found = german_forms_gloss(word, dictionary, reading)
    if found:
        return found
    lower = word.lower()
    parts = split_compound(
        lower, dictionary.gloss_vocabulary, _MIN_COMPOUND_PART, allow_unknown_modifier=False
    )
    if len(parts) < 2:
        return None
    glossed = [german_forms_gloss(part.capitalize(), dictionary, reading) or part for part in parts]
    return " ".join(glossed)


def german_forms_gloss(word: str, dictionary, reading: bool = False) -> str | None:
    """The gloss of the word as written, in other case, or without an inflection ending; ``reading``:
    the one-word rendering a reader is shown (``Dictionary.reading_gloss_word``)."""
    lookup = dictionary.reading_gloss_word if reading else dictionary.gloss_word
    lower = word.lower()
    variants = [word, lower, lower.capitalize()]
    for variant in variants:
        found = lookup(variant)
        if found:
            return found
    endings = _NOUN_ENDINGS if word[:1].isupper() else _OTHER_ENDINGS
    for ending in endings:
        if lower.endswith(ending) and len(lower) - len(ending) >= _MIN_STEM:
            base = word[: len(word) - len(ending)]
            for variant in (base, base.lower(), base.lower().capitalize()):
                found = lookup(variant)
                if found:
                    return found
    return None


# --- gloss vectors in the store ------------------------------------------------------------------


def update_gloss_vectors(store, embedding, dictionary, fingerprint: str = "", batch_size: int = 256) -> int:
    """Give every current German chunk the vector of its current gloss; drop the others.

    Incremental like the chunks themselves: a stored vector is kept while its gloss is unchanged
    (by hash) and reused for any chunk with the same gloss; only new glosses are embedded, batch
    by batch, so an interrupted run keeps its progress. Returns how many glosses were embedded.
    """
    german = store.current_chunks(language="de")
    gloss_vectors = store.glosses
    stored = gloss_vectors.hashes()
    current = {c.chunk_id for c in german}
    stale = [chunk_id for chunk_id in stored if chunk_id not in current]
    if stale:
        gloss_vectors.delete(stale)
    if dictionary is None:
        return 0
    if german:
        dictionary.prepare_glosses()  # every German word is looked up: dicts, not the tables read in place
    glosses = {c.chunk_id: gloss_german(c.text, dictionary) for c in german}
    hashes = {chunk_id: gloss_hash(g, fingerprint) for chunk_id, g in glosses.items()}
    missing = [chunk_id for chunk_id, h in hashes.items() if stored.get(chunk_id) != h]
    if not missing:
        return 0
    reusable = gloss_vectors.vectors_by_hash(stored, {hashes[i] for i in missing})
    embedded = 0
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]
        to_embed = list(dict.fromkeys(hashes[i] for i in batch if hashes[i] not in reusable))
        if to_embed:
            text_by_hash = {hashes[i]: glosses[i] for i in batch}
            vectors = embedding.get_text_embedding_batch([text_by_hash[h] for h in to_embed])
            reusable.update(zip(to_embed, vectors))
            embedded += len(to_embed)
        gloss_vectors.put(
            batch, [list(reusable[hashes[i]]) for i in batch], [hashes[i] for i in batch], [glosses[i] for i in batch]
        )
    return embedded
