"""Typed results shared by the API, the CLI, the app and the evaluator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

#: The one answer given when the sources do not support an answer. Tests assert on it.
REFUSAL = "The sources do not contain an answer to this question."


#: Joins a heading path into one ``section`` string: "Installation › Offline use".
SECTION_SEPARATOR = " › "


class Location(BaseModel):
    """Where a stretch of a document lies: its pages (PDFs) and the heading path it is under
    (Markdown, HTML, DOCX, PDF outlines). None where the format has none."""

    model_config = ConfigDict(frozen=True)

    page_start: int | None = Field(None, description="First page (1-based) the text is on; PDFs only.")
    page_end: int | None = Field(None, description="Last page the text is on (== page_start on one page).")
    section: str | None = Field(None, description="Heading path, e.g. 'Installation › Offline use'.")

    @property
    def page(self) -> str | None:
        """The page as people write it: "3", or "3-4" for text running over a page break."""
        if self.page_start is None:
            return None
        end = self.page_end if self.page_end is not None else self.page_start
        return str(self.page_start) if end == self.page_start else f"{self.page_start}-{end}"

    def to_metadata(self) -> dict[str, int | str]:
        """Flat metadata for the store (which cannot hold None): absent fields are left out."""
        return {name: value for name, value in self.model_dump().items() if value is not None}

    @classmethod
    def from_metadata(cls, metadata: Any) -> Location:
        """The location in a chunk's metadata (a mapping with get)."""
        page_start, page_end = metadata.get("page_start"), metadata.get("page_end")
        return cls(
            page_start=None if page_start is None else int(page_start),
            page_end=None if page_end is None else int(page_end),
            section=metadata.get("section") or None,
        )


#: How much the multilingual meaning cosine counts in a passage's support, and the cosine at which
#: it adds nothing: MEANING_SUPPORT_MARGIN above what a typical passage of the same language gets
#: (the question's mean cosine with them), but never above MEANING_SUPPORT_FLOOR. That model's cosines
#: crowd into a narrow band whose level depends on the corpus and on the language pair: lower
#: across languages and in a varied corpus (bench/notes.md, "The relevance gate: the meaning cosine
#: counted from its language's typical level"). Fitted with the threshold ``min_support`` on the
#: tuning questions (bench/results/answers/).
MEANING_SUPPORT_WEIGHT = 8.0
MEANING_SUPPORT_FLOOR = 0.81
MEANING_SUPPORT_MARGIN = 0.05


def support(
    coverage: float, cosine: float | None, meaning: float | None = None, meaning_baseline: float | None = None
) -> float:
    """How well a passage supports an answer: the share of the question's words it holds plus its
    embedding cosine with the question (a missing cosine counts as 0), plus, with the meaning
    model, its meaning cosine's distance above ``meaning_floor`` (or below: then it lowers the
    support). See rag.retrieval.relevance."""
    total = coverage + (cosine or 0.0)
    if meaning is not None:
        total += MEANING_SUPPORT_WEIGHT * (meaning - meaning_floor(meaning_baseline))
    return total


def meaning_floor(baseline: float | None) -> float:
    """The meaning cosine that adds nothing to a passage's support, given the question's mean
    cosine with the passages of its language (None: unknown)."""
    if baseline is None:
        return MEANING_SUPPORT_FLOOR
    return min(MEANING_SUPPORT_FLOOR, baseline + MEANING_SUPPORT_MARGIN)


class Passage(BaseModel):
    """A retrieved chunk: ``source_text[start:end] == text`` for the file at ``source``."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="Path of the source file, relative to the ingested folder.")
    title: str = Field(description="Human title of the source document.")
    language: str = Field(description="Language of the source document ('en', 'de' or 'und').")
    kind: str = Field("", description="Kind of text, e.g. 'episode summary'.")
    text: str = Field(description="The passage, exactly as in the source file.")
    start: int = Field(description="Character offset of the passage in the source file.")
    end: int = Field(description="Character offset just past the passage.")
    score: float = Field(description="Relevance score of the retrieval (higher is better).")
    chunk_id: str = Field(
        "", description="Id in the store of the passage's best chunk (an overlapping neighbour may widen it)."
    )
    coverage: float = Field(
        0.0, description="Share of the question's words (weighted by rarity, in any translation) in the passage."
    )
    cosine: float | None = Field(None, description="Embedding cosine between the question and the passage.")
    page_start: int | None = Field(None, description="First page (1-based) of the passage; PDFs only.")
    page_end: int | None = Field(
        None, description="Last page of the passage; differs from page_start when it runs over a page break."
    )
    section: str | None = Field(
        None, description="Heading path the passage starts under, e.g. 'Installation › Offline use'; None without headings."
    )

    @property
    def location(self) -> Location:
        return Location(page_start=self.page_start, page_end=self.page_end, section=self.section)

    @property
    def page(self) -> str | None:
        """"3", or "3-4" for a passage running over a page break; None for formats without pages."""
        return self.location.page
    meaning: float | None = Field(
        None,
        description="Cosine of the question and the passage in the multilingual meaning model "
        "(compares meaning across English and German); None without that model.",
    )

    meaning_baseline: float | None = Field(
        None,
        description="Mean meaning cosine of the question with the chunks in this passage's language "
        "(those the question may retrieve): what a typical passage of that language gets; None "
        "without the meaning model.",
    )

    @property
    def support(self) -> float:
        """What the relevance gate compares with the setting ``min_support``."""
        return support(self.coverage, self.cosine, self.meaning, self.meaning_baseline)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
            "page": self.page,
            "page_start": self.page_start,
            "page_end": self.page_end,
            "section": self.section,
        }


class Citation(BaseModel):
    """A numbered passage that the answer cites with the marker ``[n]``."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(description="The marker number used in the answer text.")
    passage: Passage
    highlights: list[tuple[int, int]] = Field(
        default_factory=list,
        description="Character spans (offsets into the source file) of the cited sentences.",
    )

    @property
    def source(self) -> str:
        return self.passage.source

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def start(self) -> int:
        return self.passage.start

    @property
    def end(self) -> int:
        return self.passage.end

    @property
    def score(self) -> float:
        return self.passage.score

    @property
    def page(self) -> str | None:
        return self.passage.page

    @property
    def section(self) -> str | None:
        return self.passage.section

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, **self.passage.to_json()}


class TokenUsage(BaseModel):
    """Token counts (tiktoken, or the LLM server's own counts when it reports them)."""

    model_config = ConfigDict(frozen=True)

    prompt: int = Field(0, description="Tokens of the question and context given to the answerer.")
    completion: int = Field(0, description="Tokens of the answer.")

    @property
    def total(self) -> int:
        return self.prompt + self.completion


class Answer(BaseModel):
    """An answer with numbered citations; markers ``[n]`` in ``text`` match ``citations[i].n``."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    not_found: bool = Field(description="True when the sources do not support an answer.")
    mode: str = Field(description="'extractive' or 'llm'.")
    reported_usage: TokenUsage | None = Field(
        None,
        description="Token counts the LLM answerer reported or counted; None: ``usage`` counts the "
        "question, the passages and the text with tiktoken when first asked.",
    )
    searched_question: str = Field("", description="The question as it was searched.")
    passages: list[Passage] = Field(
        default_factory=list, description="Every retrieved passage, cited or not."
    )
    _counted: TokenUsage | None = PrivateAttr(None)

    @property
    def usage(self) -> TokenUsage:
        """Tokens of what the answerer read (the question and the passages) and of the answer.
        Counted on first use unless reported: tiktoken's first load costs a cold start ~0.12 s
        that a plain ``rag ask`` never needs (bench/notes.md, "A cold start without building the
        gloss tables")."""
        if self.reported_usage is not None:
            return self.reported_usage
        if self._counted is None:
            from rag.text.tokens import count_tokens

            prompt = count_tokens(self.question) + sum(count_tokens(p.text) for p in self.passages)
            self._counted = TokenUsage(prompt=prompt, completion=count_tokens(self.text))
        return self._counted

    @classmethod
    def cited(
        cls,
        question: str,
        text: str,
        citations: list[Citation],
        mode: str,
        usage: TokenUsage | None,
        passages: list[Passage],
    ) -> Answer:
        """A found answer, supported by its citations; ``usage`` None: counted when asked."""
        return cls(
            question=question,
            text=text,
            citations=citations,
            not_found=False,
            mode=mode,
            reported_usage=usage,
            searched_question=question,
            passages=passages,
        )

    @classmethod
    def refusal(cls, question: str, mode: str, passages: list[Passage], prompt_tokens: int | None = None) -> Answer:
        """The fixed refusal ``REFUSAL``: the sources do not support an answer. ``prompt_tokens``
        None: the question and the passages are counted when asked."""
        usage = None
        if prompt_tokens is not None:
            from rag.text.tokens import count_tokens

            usage = TokenUsage(prompt=prompt_tokens, completion=count_tokens(REFUSAL))
        return cls(
            question=question,
            text=REFUSAL,
            not_found=True,
            mode=mode,
            reported_usage=usage,
            searched_question=question,
            passages=passages,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "mode": self.mode,
            "not_found": self.not_found,
            "citations": [citation.to_json() for citation in self.citations],
            "tokens": {
                "prompt": self.usage.prompt,
                "completion": self.usage.completion,
                "total": self.usage.total,
            },
        }


@dataclass(frozen=True)
class AnswerDelta:
    """A piece of streamed answer text (markers already renumbered)."""

    text: str


@dataclass(frozen=True)
class AnswerDone:
    """The final, validated answer; its text supersedes the streamed pieces."""

    answer: Answer


#: What ``Rag.ask_stream`` yields: text pieces, then the final answer.
StreamEvent = Union[AnswerDelta, AnswerDone]


class SkippedFile(BaseModel):
    """A file of the folder that was not ingested, and why (a reason a person can act on)."""

    source: str
    reason: str


class IngestReport(BaseModel):
    """What an ingest changed."""

    source_dir: str
    files_seen: int = 0
    files_added: list[str] = Field(default_factory=list)
    files_updated: list[str] = Field(default_factory=list)
    files_removed: list[str] = Field(default_factory=list)
    files_unchanged: list[str] = Field(default_factory=list)
    files_repaired: list[str] = Field(
        default_factory=list, description="Unchanged files whose chunks were missing from the store and were restored."
    )
    files_skipped: list[SkippedFile] = Field(default_factory=list, description="Files left out, with the reason.")
    chunks_total: int = 0
    chunks_embedded: int = Field(0, description="Chunks whose vectors were computed in this run.")
    chunks_reused: int = Field(0, description="Chunks whose vectors were reused by content hash.")
    glosses_embedded: int = Field(0, description="Gloss vectors of German chunks computed in this run.")
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.files_added or self.files_updated or self.files_removed or self.files_repaired)

    def summary(self) -> str:
        return (
            f"{self.files_seen} files: {len(self.files_added)} added, {len(self.files_updated)} updated, "
            f"{len(self.files_removed)} removed, {len(self.files_unchanged)} unchanged"
            + (f", {len(self.files_repaired)} repaired" if self.files_repaired else "")
            + (f", {len(self.files_skipped)} skipped" if self.files_skipped else "")
            + f"; {self.chunks_total} chunks in the index, {self.chunks_embedded} embedded, "
            f"{self.chunks_reused} reused"
            + (f", {self.glosses_embedded} glosses embedded" if self.glosses_embedded else "")
            + f"; {self.seconds:.1f} s"
            + "".join(f"\nskipped {f.source}: {f.reason}" for f in self.files_skipped)
        )


class DocumentIngestReport(IngestReport):
    """What re-ingesting one document did (``Rag.reingest_document``): its outcome and its chunks
    before and after, besides the ingest's counts."""

    document: str = Field(description="The re-ingested document's source (relative to the folder).")
    outcome: Literal["updated", "unchanged", "repaired"] = Field(
        description="'updated': its text (or title, language, kind) changed and its chunks were renewed; "
        "'unchanged': as indexed, nothing was embedded; 'repaired': as indexed, but missing chunks were restored."
    )
    chunks_before: int = Field(description="The document's chunks before.")
    chunks: int = Field(description="The document's chunks now.")

    @classmethod
    def of(cls, report: IngestReport, document: str, chunks_before: int, chunks: int) -> DocumentIngestReport:
        """The one-document view of an ingest restricted to ``document``."""
        if document in report.files_repaired:
            outcome = "repaired"
        elif document in report.files_updated or document in report.files_added:
            outcome = "updated"
        else:
            outcome = "unchanged"
        return cls(
            **report.model_dump(), document=document, outcome=outcome, chunks_before=chunks_before, chunks=chunks
        )

    def summary(self) -> str:
        if self.outcome == "unchanged":
            return f"{self.document} is unchanged: its {self.chunks} chunks were kept and nothing was re-embedded."
        if self.outcome == "repaired":
            return (
                f"{self.document} is unchanged, but chunks of it were missing from the store: "
                f"its {self.chunks} chunks were restored ({self.seconds:.1f} s)."
            )
        embedded = (
            f"{self.chunks_embedded} embedded, {self.chunks_reused} reused" if self.chunks_embedded or self.chunks_reused
            else "its title, language or kind changed; nothing was re-embedded"
        )
        return f"{self.document} was updated: {self.chunks_before} → {self.chunks} chunks ({embedded}; {self.seconds:.1f} s)."

    def to_json(self) -> dict[str, Any]:
        """What tools get (the app's /reingest_document, ``python -m rag reingest --json``)."""
        return {
            "source": self.document,
            "outcome": self.outcome,
            "chunks_before": self.chunks_before,
            "chunks": self.chunks,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "seconds": round(self.seconds, 3),
            "summary": self.summary(),
        }


class IndexInfo(BaseModel):
    """What the index holds, for status displays."""

    location: str
    documents: list[dict[str, Any]] = Field(default_factory=list)
    chunks: int = 0
