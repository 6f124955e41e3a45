"""The public Python API: open a store, ingest a folder, retrieve, ask (plain or streamed).

The CLI, the Gradio app and the evaluator are thin layers over this class.

    from rag import open_rag
    rag = open_rag()                      # settings from env / rag.toml / defaults
    rag.ingest("seeds")
    answer = rag.ask("Why did Clark lose his powers?")
    print(answer.text, answer.citations[0].source)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.runtime.offline import prepare_offline_environment

prepare_offline_environment()

from rag.arguments import (  # noqa: E402
    check_store_folder,
    checked_sources,
    checked_top_k,
    clean_question,
    index_location,
)
from rag.config import Settings, load_settings  # noqa: E402
from rag.errors import (  # noqa: E402
    CorpusError,
    InvalidQuestionError,
    ModeUnavailableError,
    StoreError,
)
from rag.runtime.background import start_quietly  # noqa: E402
from rag.types import Answer, DocumentIngestReport, IndexInfo, IngestReport, Passage, StreamEvent  # noqa: E402

if TYPE_CHECKING:
    from rag.answer.protocols import Answerer
    from rag.embedding.meaning import CachedPassageVectors, MeaningModel
    from rag.ingest.documents import SourceFile
    from rag.index.store import ChunkStore, FileRecord
    from rag.retrieval.hybrid import HybridRetriever

log = logging.getLogger(__name__)


def open_rag(settings: Settings | None = None, embedding: Any = None, **overrides: Any) -> Rag:
    """A ``Rag`` for the given settings (default: environment, config file, then defaults).

    ``embedding`` lets several stores share one loaded embedding model.
    """
    if settings is None:
        settings = load_settings(**overrides)
    elif overrides:
        settings = settings.with_overrides(**overrides)
    return Rag(settings, embedding=embedding)


def _warm_up_in_background(*models: Any) -> None:
    """Let each local model build its inference sessions in a thread of its own while the index
    loads and the first question is planned: OpenVINO compiles and ONNX Runtime builds sessions
    without holding the GIL, so a cold start no longer waits for them at the first question
    (bench/notes.md, "A cold start's warm-up"). Models without ``warm_up`` (remote ones, or none)
    are left alone; a failure stays quiet, as the first question meets it and reports it."""
    for model in models:
        warm_up = getattr(model, "warm_up", None)
        if warm_up is not None:
            start_quietly(warm_up, "rag-embedding-warm-up")


class Rag:
    """One corpus index with its retriever and answerers. Safe to share between threads."""

    def __init__(self, settings: Settings, embedding: Any = None):
        self.settings = settings
        self._lock = threading.RLock()  # held briefly: building components, swapping the index
        self._ingest_lock = threading.Lock()  # one ingest at a time; questions never wait for it
        self._reload_lock = threading.Lock()  # one thread loads a newer index while others keep asking
        self._stamp_seen: tuple[int, int, int] | None = None
        self._next_version_check = 0.0
        self._store = None
        self._source_dir: Path | None = None
        self._embedding = embedding
        self._dictionary = None
        self._meaning_model: MeaningModel | None = None
        self._sentence_cache: CachedPassageVectors | None = None
        self._retriever = None
        self._answerers: dict[str, Answerer] = {}
        self._query_translator = None
        self._warming: set[str] = set()  # the parts whose warm-up has started (_warm_up_once)

    # --- components, built lazily --------------------------------------------------------------

    def store(self, create: bool = False) -> ChunkStore:
        """The Chroma store behind this index (opened on first use; ``create`` makes an empty one)."""
        from rag.index.store import ChunkStore

        check_store_folder(self.settings)
        with self._lock:
            if self._store is None:
                self._store = ChunkStore(self._store_settings(), create=create)
            return self._store

    def _store_settings(self) -> Settings:
        """The settings with the folder in use as ``source_dir``, so the hints of store errors
        ("build it first: python -m rag ingest --source …") name that folder."""
        folder = self._folder()
        return self.settings if folder == Path(self.settings.source_dir) else self.settings.with_overrides(source_dir=folder)

    @property
    def embedding(self):
        with self._lock:
            if self._embedding is None:
                from rag.embedding.factory import build_embedding

                self._embedding = build_embedding(self.settings)
            return self._embedding

    @property
    def meaning_model(self) -> MeaningModel | None:
        """The multilingual meaning model (rag.embedding.meaning), or None when switched off."""
        with self._lock:
            if self._meaning_model is None and self.settings.meaning_model != "none":
                from rag.embedding.meaning import build_meaning_model

                self._meaning_model = build_meaning_model(self.settings)
            return self._meaning_model

    @property
    def dictionary(self):
        with self._lock:
            if self._dictionary is None:
                from rag.text.translate import dictionary_for

                self._dictionary = dictionary_for(self.settings)
            return self._dictionary

    def retriever(self) -> HybridRetriever:
        """The retriever over the store's current index: loaded on first use, replaced at the end of
        each ingest, and when another process finished an ingest into the store (checked per question)."""
        from rag.index.search_index import load_search_index

        with self._lock:
            if self._retriever is None:
                self._warm_up_once("meaning_model", "embedding")
                index = load_search_index(self._store_settings(), lambda: self.store(create=False))
                self._install(index)
                self._note_stamp()
                return self._retriever
            current = self._retriever
        try:
            newer = self._newer_index_finished(current.index.version)
        except Exception:  # the check must never cost an answer: the loaded index is still valid
            log.debug("could not check the index version", exc_info=True)
            newer = False
        if newer:
            self._reload(current)
        return self._retriever

    def _warm_up_once(self, *parts: str) -> None:
        """Start warming up each part unless it has started already: the models
        (``"meaning_model"``, ``"embedding"``; built here, warmed in a thread of their own),
        or ``"query_session"`` (the configured embedding's question session compiled in a thread,
        before the embedding, a LlamaIndex class, can be built)."""
        for part in parts:
            with self._lock:
                if part in self._warming or (part == "query_session" and self._embedding is not None):
                    continue
                self._warming.add(part)
            if part == "query_session":
                start_quietly(self._compile_query_session, "rag-embedding-warm-up")
            else:
                _warm_up_in_background(getattr(self, part))

    def _compile_query_session(self) -> None:
        from rag.embedding.openvino_export import compile_query_session_ahead

        compile_query_session_ahead(self.settings)

    def _install(self, index) -> None:
        """Make ``index`` the one questions use (an atomic swap: a running question keeps its own)."""
        from rag.retrieval.hybrid import HybridRetriever

        if not index.chunks:
            raise StoreError(
                f"The index at {self.store(create=False).location} holds no documents. Ingest a folder: "
                f"{self._ingest_command()}"
            )
        self._check_vectors_match(index.records)
        retriever = HybridRetriever(
            index,
            self.embedding,
            lambda: self.dictionary,
            self.settings.top_k,
            self.settings.query_threads,
            meaning=self.meaning_model,
        )
        with self._lock:
            self._retriever = retriever
            self._answerers = {}

    def _note_stamp(self) -> None:
        from rag.index import snapshot

        self._stamp_seen = snapshot.stamp_signature(self.settings)

    def _newer_index_finished(self, loaded: str) -> bool:
        """Whether an ingest (of this or another process) finished a version other than ``loaded``.
        Embedded store: one stat of the stamp file per question, the file read only when it
        changed. Chroma server: the completion record, at most every index_check_seconds."""
        from rag.index import snapshot

        if self.settings.uses_chroma_server:
            now = time.monotonic()
            if now < self._next_version_check:
                return False
            self._next_version_check = now + self.settings.index_check_seconds
            completion = self.store(create=False).completion()
            return completion.complete and bool(completion.version) and completion.version != loaded
        signature = snapshot.stamp_signature(self.settings)
        if signature is None or signature == self._stamp_seen:
            return False
        self._stamp_seen = signature
        stamped = snapshot.read_stamp(self.settings)
        return bool(stamped) and stamped != loaded

    def _reload(self, current) -> None:
        """Load the newer index; questions meanwhile keep answering from ``current``."""
        from rag.index.search_index import load_search_index

        if not self._reload_lock.acquire(blocking=False):
            return  # another thread is loading it
        try:
            if self._retriever is not current:
                return
            log.info("the index at %s changed; loading the new version", self.settings.store_dir)
            self._install(load_search_index(self._store_settings(), self._reopened_store))
        except Exception:
            log.warning("could not load the new index version; answering from the previous one", exc_info=True)
        finally:
            self._reload_lock.release()

    def _check_vectors_match(self, records: dict) -> None:
        """Questions must be embedded as the chunks were: a store embedded with another model,
        runtime or passage prefix would answer with meaningless similarities, so it is refused."""
        from rag.ingest.fingerprints import vector_fingerprint, vector_fingerprint_of

        expected = vector_fingerprint(self.settings)
        other = sorted(s for s, r in records.items() if vector_fingerprint_of(r.fingerprint) != expected)
        if other:
            made_with = vector_fingerprint_of(records[other[0]].fingerprint)
            raise StoreError(
                f"{len(other)} of {len(records)} files in the index were embedded as {made_with!r}, but "
                f"questions are embedded as {expected!r} with the current settings (the embedding model, "
                f"runtime or passage prefix changed). Re-ingest to re-embed them: {self._ingest_command()} "
                "(or change the settings back)."
            )

    def _ingest_command(self) -> str:
        """The command that fills the index in use, naming the folders in use."""
        folder = self._folder()
        store = "" if self.settings.uses_chroma_server else f" --store {self.settings.store_dir}"
        return f"python -m rag ingest --source {folder}{store}"

    def _sentence_vectors(self, model: MeaningModel | None) -> CachedPassageVectors | None:
        """The meaning model's vectors of answer sentences, cached across questions (or None)."""
        from rag.embedding.meaning import CachedPassageVectors

        if model is None:
            return None
        with self._lock:
            if self._sentence_cache is None or self._sentence_cache.model is not model:
                self._sentence_cache = CachedPassageVectors(model)
            return self._sentence_cache

    def _answerer(self, mode: str, retriever: HybridRetriever) -> Answerer:
        from rag.retrieval.relevance import RelevanceGate

        with self._lock:
            if retriever is not self._retriever:  # swapped meanwhile: an answerer for this question's index
                return self._new_answerer(mode, retriever, RelevanceGate(self.settings.min_support))
            if mode not in self._answerers:
                self._answerers[mode] = self._new_answerer(mode, retriever, RelevanceGate(self.settings.min_support))
            return self._answerers[mode]

    def _new_answerer(self, mode: str, retriever: HybridRetriever, gate) -> Answerer:
        if mode == "extractive":
            from rag.answer.extractive import ExtractiveAnswerer
            from rag.answer.sentences import SENTENCE_WEIGHTS, SentenceSelector
            from rag.text.reading_gloss import DictionaryGlosser

            return ExtractiveAnswerer(
                SentenceSelector(retriever.index.lexical, self._sentence_vectors(retriever.meaning), SENTENCE_WEIGHTS),
                gate,
                self.settings.extractive_sentences,
                glosser=DictionaryGlosser(lambda: self.dictionary),
            )
        if mode == "llm":
            from rag.answer.llm import LLMAnswerer

            return LLMAnswerer(self.settings, gate)
        raise ModeUnavailableError(f"Unknown answer mode {mode!r}: use 'extractive' or 'llm'.")

    def _engine(self, mode: str | None, top_k: int | None, sources: list[str] | None):
        # The models build and compile while LlamaIndex is imported (~0.7 s of a cold start); their
        # warm-ups import no LlamaIndex module: two threads importing LlamaIndex at once deadlocked
        # (bench/notes.md, "Cold start: the LlamaIndex import beside the meaning model").
        self._warm_up_once("meaning_model", "query_session")
        from rag.answer.deadline import LLMTimeouts
        from rag.answer.engine import CitedQueryEngine

        mode = mode or self.settings.answer_mode
        retriever = self.retriever()
        return CitedQueryEngine(
            retriever=retriever,
            answerer=self._answerer(mode, retriever),
            top_k=checked_top_k(top_k, self.settings.top_k),
            sources=self._checked_sources(sources),
            translator=self._translator() if mode == "llm" and self.settings.llm_query_translation else None,
            llm_timeouts=LLMTimeouts.of(self.settings) if mode == "llm" else None,
        )

    def _checked_sources(self, sources: object) -> list[str] | None:
        return checked_sources(sources, self.retriever().index.records, index_location(self.settings))

    def _translator(self):
        from rag.answer.llm import LLMQueryTranslator

        with self._lock:
            if self._query_translator is None:
                self._query_translator = LLMQueryTranslator(self.settings)
            return self._query_translator

    # --- public operations ----------------------------------------------------------------------

    def ingest(
        self,
        source_dir: str | Path | None = None,
        rebuild: bool = False,
        progress: bool | None = None,
        verify: bool = False,
    ) -> IngestReport:
        """Bring the index in line with the folder (incremental; see rag.ingest.pipeline).

        Questions keep being answered from the previous index while it runs; the new one replaces
        it when the ingest has finished. One ingest writes to a store at a time (a lease in the
        store: rag.index.lease). ``verify`` skips the shortcut for an unchanged folder, so the store
        is checked against the manifest (and repaired) even when its stamp says nothing changed.
        """
        from rag.ingest.documents import remember_source_folder

        folder = Path(source_dir or self._folder())
        if not folder.is_dir():
            raise CorpusError(f"Source folder {folder} does not exist or is not a folder.")
        show = self.settings.show_progress if progress is None else progress
        with self._ingest_lock:
            report = None if rebuild or verify else self._unchanged_ingest(folder)
            if report is None:
                report, _ = self._write_corpus(self._read_corpus(folder, show), rebuild, show)
                remember_source_folder(self.settings, folder)
            self._source_dir = folder
        return report

    def reingest_document(
        self, source: str, source_dir: str | Path | None = None, progress: bool | None = None
    ) -> DocumentIngestReport:
        """Read one indexed document again from the folder and bring its chunks in line with it;
        the rest of the index stays as it is and the folder is not read (one file, not the whole
        folder, after editing it).

        Incremental like ``ingest``: the content hash decides. An unchanged file is reported as
        ``outcome="unchanged"`` and nothing is embedded; a changed one gets new chunks (those whose
        text did not change keep their vectors). It takes the store's write lease like every
        ingest, and questions are answered from the previous index until it has finished.
        ``DocumentFileMissingError`` when the file is gone from the folder (``remove_from_index``
        then takes it out); ``CorpusError`` when ``source`` is not in the index, or its file
        cannot be read (the index keeps the earlier text)."""
        from rag.index import snapshot
        from rag.ingest.documents import read_one_document
        from rag.ingest.fingerprints import chunk_fingerprint
        from rag.ingest.pipeline import Corpus, is_unchanged

        folder = self.source_folder(source_dir)
        show = self.settings.show_progress if progress is None else progress
        with self._ingest_lock:
            started = time.perf_counter()
            stamped = snapshot.unchanged_manifest(self.settings, self._derived_key())
            records = stamped if stamped is not None else self.store(create=False).file_records()
            before = self._indexed_record(source, records, folder)
            document = read_one_document(folder, source, self.settings)
            if stamped is not None and is_unchanged(document, before, chunk_fingerprint(self.settings)):
                unchanged = IngestReport(
                    source_dir=str(folder), files_seen=1, files_unchanged=[source],
                    chunks_total=sum(r.n_chunks for r in records.values()), seconds=time.perf_counter() - started,
                )
                return DocumentIngestReport.of(unchanged, source, before.n_chunks, before.n_chunks)
            report, index = self._write_corpus(Corpus(folder, [document], [], partial=True), rebuild=False, show=show)
        skipped = next((file for file in report.files_skipped if file.source == source), None)
        if skipped is not None:
            raise CorpusError(f"{source} was not re-ingested: {skipped.reason}.")
        return DocumentIngestReport.of(report, source, before.n_chunks, index.records[source].n_chunks)

    def _indexed_record(self, source: str, records: dict[str, FileRecord], folder: Path) -> FileRecord:
        """The manifest entry of ``source``, or a CorpusError that says what to do instead."""
        from rag.ingest.exclusions import excluded_sources

        record = records.get(source)
        if record is not None:
            return record
        if source in excluded_sources(self.settings, folder):
            raise CorpusError(
                f"{source} was removed from the index (its file is kept); add it back to the index to search it again."
            )
        raise CorpusError(
            f"{source!r} is not in the index, so there is nothing to re-ingest. "
            f"New files of the folder are added by ingesting it: {self._ingest_command()}"
        )

    def indexed_file(self, source: str, source_dir: str | Path | None = None) -> Path:
        """The file of the indexed document ``source`` in its folder (what ``reingest_document``
        would read). ``DocumentFileMissingError`` when it is no longer there, ``CorpusError``
        when ``source`` is not in the index; so a caller can offer removal before starting work."""
        from rag.errors import DocumentFileMissingError

        folder = self.source_folder(source_dir)
        self._indexed_record(source, self.store(create=False).file_records(), folder)
        path = folder / source
        if not path.is_file():
            raise DocumentFileMissingError(source, str(folder))
        return path

    def _folder(self) -> Path:
        """The corpus folder in use: the one last ingested, else the configured one."""
        return Path(self._source_dir or self.settings.source_dir)

    def _unchanged_ingest(self, folder: Path) -> IngestReport | None:
        """The report of an ingest that has nothing to do, established without opening the store
        (Chroma is not even imported): the stamp of the last finished ingest still describes the
        store, and its manifest matches every file of the folder. None when that is not certain."""
        from rag.index import snapshot
        from rag.ingest.fingerprints import chunk_fingerprint
        from rag.ingest.pipeline import is_unchanged, read_corpus

        started = time.perf_counter()
        records = snapshot.unchanged_manifest(self.settings, self._derived_key())
        if records is None:
            return None
        fingerprint = chunk_fingerprint(self.settings)
        corpus = read_corpus(folder, self.settings)
        if set(records) != {d.source for d in corpus.documents}:
            return None
        if not all(is_unchanged(d, records[d.source], fingerprint) for d in corpus.documents):
            return None
        return IngestReport(
            source_dir=str(folder),
            files_seen=len(corpus.documents),
            files_unchanged=[document.source for document in corpus.documents],
            files_skipped=corpus.skipped,
            chunks_total=sum(record.n_chunks for record in records.values()),
            seconds=time.perf_counter() - started,
        )

    def _derived_key(self) -> str:
        """What the derived vectors were made with: the meaning model (and which chunks) and the
        gloss rules with their dictionary. When it differs from the last ingest's, an unchanged
        folder is still ingested, so the derived vectors are brought up to date."""
        from rag.text.gloss import gloss_rules_key

        return f"{self._meaning_key()}|{gloss_rules_key(self.settings.dictionary_path)}"

    def _meaning_key(self) -> str:
        """Which meaning vectors the settings ask for (model fingerprint and which chunks)."""
        model = self.meaning_model
        return f"{model.fingerprint}:{self.settings.meaning_chunks}" if model is not None else ""

    def _read_corpus(self, folder: Path, show_progress: bool):
        """The folder's documents, read and checked before anything is written."""
        from rag.ingest.documents import page_progress
        from rag.ingest.pipeline import read_corpus

        on_page, close_pages = page_progress(show_progress)
        try:
            return read_corpus(folder, self.settings, on_page)
        finally:
            close_pages()

    def _write_corpus(self, corpus, rebuild: bool, show: bool):
        """Ingest ``corpus`` into the store and make the new index the one questions use; returns
        the report and that index."""
        report, index = self._ingest_into_store(corpus, rebuild, show)
        if index.chunks:
            self._install(index)
        else:  # files without text: questions then say the index holds no documents
            with self._lock:
                self._retriever = None
        self._note_stamp()
        return report, index

    def _ingest_into_store(self, corpus, rebuild: bool, show_progress: bool):
        """Ingest under the store's write lease; returns the report and the new search index."""
        from rag.index import snapshot
        from rag.index.search_index import load_search_index
        from rag.ingest.pipeline import ingest_folder, tqdm_progress

        with self._writable_store(rebuild).writer_lease() as lease:
            store = self._reopened_store()  # what other processes wrote before we took the lease
            if rebuild:
                store.clear()
                snapshot.delete_snapshots(self.settings)
            found = store.mark_writing()
            derived = self._derived_key()
            callback, close = tqdm_progress(show_progress)
            try:
                report = ingest_folder(
                    corpus,
                    store,
                    self.embedding,
                    self.settings,
                    callback,
                    self.meaning_model,
                    guard=lease,
                    # New gloss rules, dictionary or meaning model: check every derived vector.
                    was_complete=found.complete and found.derived == derived,
                )
            finally:
                close()
            # Build (or find) the search index now, so the next process starts from a snapshot.
            state = snapshot.StoreState.of(store)
            index = load_search_index(self.settings, lambda: store, state.version)
            lease.check()
            store.mark_complete(state.version, derived)
        snapshot.write_stamp(self.settings, state, derived)  # after the lease's release: the last write
        return report, index

    def _writable_store(self, rebuild: bool) -> ChunkStore:
        """The store, created if needed; for a rebuild of an embedded store that cannot even be
        opened (corrupt), its files are deleted first."""
        from rag.index import snapshot
        from rag.index.store import delete_embedded_store

        try:
            return self.store(create=True)
        except StoreError:
            if not rebuild or self.settings.uses_chroma_server:
                raise
        with self._lock:
            self._store = None
        snapshot.delete_snapshots(self.settings)
        delete_embedded_store(self.settings)
        return self.store(create=True)

    def _reopened_store(self) -> ChunkStore:
        """The store opened anew (see rag.index.store.open_chroma_client), kept for later use."""
        from rag.index.store import ChunkStore

        store = ChunkStore(self._store_settings(), create=True, fresh=True)
        with self._lock:
            self._store = store
        return store

    def verify(self):
        """Compare the store with its manifest: missing chunks or glosses, an unfinished ingest
        (rag.ingest.integrity.StoreCheck). ``ingest(verify=True)`` repairs what it finds."""
        from rag.index.store import ChunkStore
        from rag.ingest.integrity import check_store

        glosses_expected = Path(self.settings.dictionary_path).is_file()
        return check_store(ChunkStore(self._store_settings(), create=False, fresh=True), glosses_expected)

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        sources: list[str] | None = None,
        translations: dict[str, str] | None = None,
    ) -> list[Passage]:
        """The passages that best match the question, best first.

        ``translations`` (language -> the question in that language, e.g. from a tool's own
        translator) replace the dictionary's word-by-word translation, as the LLM's do in llm mode.
        """
        question = self.validate_question(question)
        top_k = checked_top_k(top_k, self.settings.top_k)
        retriever = self.retriever()
        return retriever.search(question, top_k, self._checked_sources(sources), translations).passages

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        sources: list[str] | None = None,
        mode: str | None = None,
    ) -> Answer:
        question = self.validate_question(question)
        response = self._engine(mode, top_k, sources).query(question)
        return response.metadata["answer"]

    def ask_stream(
        self,
        question: str,
        top_k: int | None = None,
        sources: list[str] | None = None,
        mode: str | None = None,
    ) -> Iterator[StreamEvent]:
        """Yields ``AnswerDelta`` pieces, then one ``AnswerDone`` with the final ``Answer``."""
        question = self.validate_question(question)
        yield from self._engine(mode, top_k, sources).stream(question)

    def info(self) -> IndexInfo:
        from rag.index.store import describe_documents

        store = self.store(create=False)
        records = store.file_records()
        return IndexInfo(
            location=store.location,
            documents=describe_documents(records),
            chunks=sum(r.n_chunks for r in records.values()),
        )

    def source_text(self, source: str, source_dir: str | Path | None = None) -> str:
        """The extracted text of an ingested file (PDF, DOCX, HTML, Markdown or plain text): the
        text every passage's offsets index, so ``source_text(p.source)[p.start:p.end] == p.text``."""
        return self.source_file(source, source_dir).extracted.text

    def source_file(self, source: str, source_dir: str | Path | None = None) -> SourceFile:
        """An ingested file's path and extracted text with its pages and sections (for page views)."""
        from rag.ingest.documents import read_source_file

        return read_source_file(self.source_folder(source_dir), source, self.settings)

    def source_folder(self, source_dir: str | Path | None = None) -> Path:
        """The folder sources are relative to: the one given, else the one this index was last
        ingested from, else the configured ``source_dir``."""
        from rag.ingest.documents import remembered_source_folder

        if source_dir is not None:
            return Path(source_dir)
        return self._source_dir or remembered_source_folder(self.settings) or Path(self.settings.source_dir)

    # --- conversations ---------------------------------------------------------------------------

    def llm_available(self) -> bool:
        """Whether LLM mode can be used: a key is set, or a non-OpenAI (local) server is configured."""
        from rag.answer.llm import OPENAI_HOST

        return bool(self.settings.api_key_value()) or OPENAI_HOST not in self.settings.llm_base_url

    def condense(self, history: list, question: str, use_llm: bool | None = None) -> str:
        """A standalone version of a follow-up ``question`` (history: ``rag.answer.conversation.Turn``s)."""
        from rag.answer.conversation import condense_deterministic, condense_with_llm

        question = self.validate_question(question)
        if not history:
            return question
        use_llm = self.settings.answer_mode == "llm" if use_llm is None else use_llm
        if use_llm and self.llm_available():
            from rag.answer.llm import build_llm, llm_error
            from rag.answer.prompts import load_prompt

            try:
                llm = build_llm(self.settings)
                return condense_with_llm(llm, load_prompt(self.settings.prompts_dir, "condense_question"), history, question)
            except Exception as error:
                raise llm_error(error, self.settings) from error
        return condense_deterministic(history, question)

    # --- managing the corpus folder ----------------------------------------------------------------

    def add_documents(self, files: list[str | Path], progress: bool | None = None) -> IngestReport:
        """Copy files (PDF, DOCX, HTML, Markdown, plain text: ``settings.file_extensions``) into
        the corpus folder and ingest them. Every file is read first (type, readable, not empty):
        nothing is copied when one of them cannot be read."""
        import shutil

        from rag.ingest.documents import read_document
        from rag.ingest.formats import UnreadableDocument

        folder = self._folder()
        checked = []
        for file in files:
            path = Path(file)
            if path.suffix.lower() not in self.settings.file_extensions:
                allowed = ", ".join(self.settings.file_extensions)
                raise CorpusError(f"{path.name}: only {allowed} files can be added.")
            try:
                document = read_document(path, path.parent, {})
            except UnreadableDocument as error:
                raise CorpusError(str(error)) from None
            if not document.has_text:
                raise CorpusError(f"{path.name} is empty.")
            checked.append(path)
        folder.mkdir(parents=True, exist_ok=True)
        for path in checked:
            shutil.copyfile(path, folder / path.name)
        return self.ingest(folder, progress=progress)

    def remove_document(self, source: str, progress: bool | None = None) -> IngestReport:
        """Delete a file from the corpus folder and remove it from the index."""
        from rag.ingest.documents import discover_files

        folder = self._folder()
        documents = discover_files(folder, self.settings)
        path = folder / source
        if path not in documents:
            if path.resolve() == (folder / self.settings.metadata_file).resolve():
                raise CorpusError(
                    f"{source!r} is the metadata file of {folder}, not a document; edit it instead of removing it."
                )
            raise CorpusError(f"{source!r} is not a document of {folder}.")
        if len(documents) <= 1:
            raise CorpusError(f"{source} is the only document of {folder}; the index needs at least one.")
        path.unlink()
        return self.ingest(folder, progress=progress)

    def corpus_folder(self) -> Path:
        """The folder documents are added to and removed from: the last ingested one, else the setting."""
        return Path(self._source_dir or self.settings.source_dir)

    def remove_from_index(self, source: str, progress: bool | None = None) -> IngestReport:
        """Take a document out of the index; its file stays in the folder and later ingests skip it
        (``restore_to_index`` or adding a file of that name brings it back)."""
        from rag.ingest.exclusions import set_excluded

        indexed = [d["source"] for d in self.info().documents]
        if source not in indexed:
            raise CorpusError(f"{source!r} is not in the index; nothing to remove.")
        if len(indexed) <= 1:
            raise CorpusError(f"{source} is the only document in the index; the index needs at least one.")
        set_excluded(self.settings, self.corpus_folder(), source, excluded=True)
        return self.ingest(self.corpus_folder(), progress=progress)

    def restore_to_index(self, source: str, progress: bool | None = None) -> IngestReport:
        """Index again a document that ``remove_from_index`` took out."""
        from rag.ingest.exclusions import set_excluded

        set_excluded(self.settings, self.corpus_folder(), source, excluded=False)
        return self.ingest(self.corpus_folder(), progress=progress)

    def excluded_documents(self) -> list[str]:
        """Files of the folder that were removed from the index and are kept on disk."""
        from rag.ingest.exclusions import excluded_sources

        folder = self.corpus_folder()
        return sorted(s for s in excluded_sources(self.settings, folder) if (folder / s).is_file())

    def validate_question(self, question: object) -> str:
        """The question on one line, or an ``InvalidQuestionError`` saying what is wrong with it."""
        if question is None:
            raise InvalidQuestionError("The question is empty. Ask something about the texts.")
        return clean_question(question, self.settings.max_question_chars)
