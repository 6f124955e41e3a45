"""Citation markers: invalid ones dropped, the rest renumbered by first appearance, also when streamed."""

from __future__ import annotations

from hypothesis import given, strategies as st

from rag.answer.citations import (
    StreamingRenumberer,
    cited_numbers,
    renumber_citations,
    sentence_spans,
)
from rag.types import Passage


def passages(n):
    return [
        Passage(source=f"f{i}.txt", title=f"T{i}", language="en", text=f"text {i}", start=0, end=6, score=0.5)
        for i in range(1, n + 1)
    ]


def test_markers_are_renumbered_by_first_appearance():
    text, citations = renumber_citations("A [3]. B [1]. C [3].", passages(3))
    assert text == "A [1]. B [2]. C [1]."
    assert [(c.n, c.passage.source) for c in citations] == [(1, "f3.txt"), (2, "f1.txt")]


def test_markers_pointing_to_no_passage_are_removed_with_their_space():
    text, citations = renumber_citations("Clark left [9]. He returned [2][0].", passages(2))
    assert text == "Clark left. He returned [1]."
    assert [c.passage.source for c in citations] == ["f2.txt"]


def test_grouped_markers_are_split():
    text, citations = renumber_citations("Both [2, 1]; and [1;2].", passages(2))
    assert text == "Both [1][2]; and [2][1]."
    assert cited_numbers("x [1, 2] y [2]") == [1, 2]


def test_no_markers_means_no_citations():
    text, citations = renumber_citations("Nothing cited.", passages(2))
    assert (text, citations) == ("Nothing cited.", [])


marker_text = st.lists(
    st.one_of(st.sampled_from(["[1]", "[2]", "[3]", "[9]", "[1, 2]", " ", ".", "word", "[", "]", "[x]", "\n"])),
    max_size=40,
).map("".join)


@given(marker_text, st.lists(st.integers(min_value=1, max_value=6), max_size=15))
def test_streaming_in_any_pieces_gives_the_same_text_as_all_at_once(text, cuts):
    whole = StreamingRenumberer(3)
    expected = whole.feed(text) + whole.finish()
    streaming = StreamingRenumberer(3)
    pieces, position = [], 0
    for cut in cuts:
        pieces.append(text[position : position + cut])
        position += cut
    pieces.append(text[position:])
    assert "".join(streaming.feed(p) for p in pieces) + streaming.finish() == expected
    assert streaming.order == whole.order


@given(marker_text)
def test_renumbered_text_only_cites_given_passages_in_order(text):
    renumbered, citations = renumber_citations(text, passages(3))
    numbers = cited_numbers(renumbered)
    assert numbers == list(range(1, len(citations) + 1))
    assert all(1 <= n <= 3 for n in numbers)


def test_sentence_spans_cover_sentences_exactly():
    text = 'Er sagt: "Komm zurück." Clark nickt!  Dann geht er.\nNeue Zeile'
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == ['Er sagt: "Komm zurück."', "Clark nickt!", "Dann geht er.", "Neue Zeile"]

