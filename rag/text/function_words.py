"""Closed-class words rendered in the other language, for glosses a person reads (rag.text.reading_gloss).

The Ding dictionary lists these words with every sense they have ("die" -> "the", "which", "who",
"that"; "air" -> "Lied"), and the glosses that feed retrieval leave them out. A reader needs them
to follow a sentence, so each gets its usual rendering in running text; an empty rendering leaves
the word out (a reflexive "sich", English "do"-support). The tables are grammar, written once, not
fitted to any text: measured on XQuAD's parallel paragraphs in bench/results/glosses.md.
"""

from __future__ import annotations

GERMAN_TO_ENGLISH: dict[str, str] = {
    # articles, demonstratives, determiners
    "der": "the", "die": "the", "das": "the", "den": "the", "dem": "the", "des": "of the",
    "ein": "a", "eine": "a", "einem": "a", "einen": "a", "einer": "a", "eines": "of a",
    "dies": "this", "diese": "these", "dieser": "this", "dieses": "this", "diesem": "this", "diesen": "these",
    "jene": "those", "jener": "that", "jenes": "that", "jenem": "that", "jenen": "those",
    "derselbe": "the same", "dieselbe": "the same", "dasselbe": "the same", "derselben": "the same",
    "dieselben": "the same", "demselben": "the same", "denselben": "the same", "desselben": "of the same",
    "derer": "of those", "dessen": "whose",
    "alle": "all", "allem": "all", "allen": "all", "aller": "all", "alles": "everything",
    "jede": "every", "jedem": "every", "jeden": "every", "jeder": "every", "jedes": "every",
    "einige": "some", "einigem": "some", "einigen": "some", "einiger": "some", "einiges": "some",
    "manche": "some", "manchem": "some", "manchen": "some", "mancher": "some", "manches": "some",
    "solche": "such", "solchem": "such", "solchen": "such", "solcher": "such", "solches": "such",
    "andere": "other", "anderem": "other", "anderen": "other", "anderer": "other", "anderes": "other",
    "ander": "other", "anderm": "other", "andern": "other", "anderr": "other",
    # pronouns and possessives
    "ich": "I", "mich": "me", "mir": "me", "du": "you", "dich": "you", "dir": "you",
    "er": "he", "ihn": "him", "ihm": "him", "sie": "she", "es": "it", "man": "one", "sich": "",
    "wir": "we", "uns": "us", "ihr": "her", "euch": "you", "ihnen": "them",
    "mein": "my", "meine": "my", "meinem": "my", "meinen": "my", "meiner": "my", "meines": "my",
    "dein": "your", "deine": "your", "deinem": "your", "deinen": "your", "deiner": "your", "deines": "your",
    "sein": "his", "seine": "his", "seinem": "his", "seinen": "his", "seiner": "his", "seines": "his",
    "ihre": "her", "ihrem": "her", "ihren": "her", "ihrer": "her", "ihres": "her",
    "unser": "our", "unsere": "our", "unserem": "our", "unseren": "our", "unseres": "our",
    "euer": "your", "eure": "your", "eurem": "your", "euren": "your", "eurer": "your", "eures": "your",
    "etwas": "something", "nichts": "nothing", "selbst": "self",
    # prepositions
    "an": "at", "am": "at the", "auf": "on", "aus": "from", "bei": "at", "bis": "until",
    "durch": "through", "für": "for", "gegen": "against", "hinter": "behind", "in": "in",
    "im": "in the", "ins": "into the", "mit": "with", "nach": "after", "ohne": "without",
    "über": "about", "um": "to", "unter": "under", "von": "of", "vom": "from the", "vor": "before",
    "zu": "to", "zum": "to the", "zur": "to the", "zwischen": "between", "während": "while",
    # conjunctions and adverbs
    "und": "and", "oder": "or", "aber": "but", "sondern": "but", "doch": "but", "denn": "because",
    "weil": "because", "dass": "that", "daß": "that", "ob": "whether", "wenn": "if", "als": "as",
    "indem": "by", "damit": "so that", "also": "so", "so": "so", "sonst": "otherwise", "zwar": "indeed",
    "auch": "also", "noch": "still", "nur": "only", "sehr": "very", "schon": "already", "wieder": "again",
    "weiter": "further", "einmal": "once", "jetzt": "now", "nun": "now", "dann": "then", "da": "there",
    "dort": "there", "hier": "here", "hin": "there", "weg": "away", "dazu": "to that", "anders": "differently",
    "nicht": "not", "kein": "no", "keine": "no", "keinem": "no", "keinen": "no", "keiner": "none",
    "keines": "none", "viel": "much", "einig": "agreed",
    # question words
    "wer": "who", "wen": "whom", "wem": "whom", "wessen": "whose", "was": "what", "wann": "when",
    "wo": "where", "woher": "where from", "wohin": "where to", "worum": "about what", "wie": "how",
    "warum": "why", "weshalb": "why", "weswegen": "why", "wieso": "why",
    "welche": "which", "welchem": "which", "welchen": "which", "welcher": "which", "welches": "which",
    # auxiliaries and modals
    "bin": "am", "bist": "are", "ist": "is", "sind": "are", "seid": "are", "sei": "be",
    "war": "was", "warst": "were", "waren": "were", "wäre": "would be", "wären": "would be",
    "gewesen": "been", "hab": "have", "habe": "have", "hast": "have", "hat": "has", "habt": "have",
    "haben": "have", "hatte": "had", "hatten": "had", "hätte": "would have", "hätten": "would have",
    "werde": "will", "wirst": "will", "wird": "will", "werden": "will", "wurde": "was", "wurden": "were",
    "worden": "been", "würde": "would", "würden": "would", "kann": "can", "können": "can",
    "könnte": "could", "muss": "must", "musste": "had to", "soll": "shall", "sollte": "should",
    "will": "wants", "wollen": "want", "wollte": "wanted", "machen": "make",
}

ENGLISH_TO_GERMAN: dict[str, str] = {
    # articles, determiners, pronouns
    "the": "die", "a": "ein", "an": "ein", "this": "dies", "these": "diese", "that": "dass",
    "those": "jene", "all": "alle", "any": "irgendein", "each": "jeder", "both": "beide", "few": "wenige",
    "some": "einige", "such": "solche", "other": "andere", "same": "gleich", "own": "eigen",
    "more": "mehr", "most": "meist", "no": "kein", "i": "ich", "me": "mich", "my": "mein", "myself": "mich",
    "you": "du", "your": "dein", "yours": "dein", "yourself": "dich", "yourselves": "euch",
    "he": "er", "him": "ihn", "his": "sein", "himself": "sich", "she": "sie", "her": "ihr", "hers": "ihres",
    "herself": "sich", "it": "es", "its": "sein", "itself": "sich", "we": "wir", "our": "unser",
    "ours": "unser", "ourselves": "uns", "they": "sie", "them": "sie", "their": "ihr", "theirs": "ihr",
    "themselves": "sich",
    # prepositions
    "about": "über", "above": "über", "after": "nach", "against": "gegen", "at": "an", "before": "vor",
    "below": "unter", "between": "zwischen", "by": "von", "down": "hinunter", "during": "während",
    "for": "für", "from": "von", "in": "in", "into": "in", "of": "von", "off": "ab", "on": "auf",
    "out": "aus", "over": "über", "through": "durch", "to": "zu", "under": "unter", "until": "bis",
    "up": "auf", "with": "mit",
    # conjunctions and adverbs
    "and": "und", "or": "oder", "nor": "noch", "but": "aber", "because": "weil", "if": "wenn",
    "as": "als", "than": "als", "so": "so", "then": "dann", "there": "dort", "here": "hier", "now": "jetzt",
    "once": "einmal", "again": "wieder", "further": "weiter", "only": "nur", "just": "nur", "too": "auch",
    "very": "sehr", "not": "nicht", "while": "während",
    # question words
    "what": "was", "when": "als", "where": "wo", "which": "welche", "who": "wer", "whom": "wen",
    "why": "warum", "how": "wie",
    # auxiliaries and modals ("do"-support has no German counterpart)
    "am": "bin", "are": "sind", "is": "ist", "was": "war", "were": "waren", "be": "sein", "been": "gewesen",
    "being": "", "have": "haben", "has": "hat", "had": "hatte", "having": "", "do": "", "does": "",
    "did": "", "doing": "", "will": "wird", "would": "würde", "shall": "soll", "should": "sollte",
    "can": "kann", "could": "könnte", "might": "könnte", "must": "muss",
    # the halves of contractions ("didn't" reads as "didn" + "t")
    "t": "nicht", "s": "", "ll": "wird", "re": "sind", "ve": "haben", "d": "würde", "m": "bin",
    "isn": "ist", "wasn": "war", "aren": "sind", "weren": "waren", "don": "", "doesn": "", "didn": "",
    "couldn": "könnte", "wouldn": "würde", "shouldn": "sollte", "won": "wird", "hasn": "hat",
    "haven": "haben", "hadn": "hatte", "mustn": "muss", "needn": "muss", "mightn": "könnte", "shan": "soll",
    "ain": "ist", "o": "", "y": "", "ma": "",
}

#: Verb particles that a German main clause moves to its end ("Sie fleht Clark an" = "anflehen").
SEPARABLE_PARTICLES = frozenset(
    "ab an auf aus bei dar ein entgegen fern fest fort her heraus herein herum hin hinaus hinein los mit "
    "nach nieder umher vor voran vorbei weg weiter wieder zu zurück zusammen".split()
)
