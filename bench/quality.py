"""Dense retrieval quality on the XQuAD split, per embedding runtime (torch, onnx-fp32, onnx-int8, openvino-int8).

Each paragraph of ../shared/data/xquad-dev (read in place) is cut by the project's chunker; a
question's paragraph ranks by its best chunk's cosine. Reports hit@1 / hit@5 for English questions
over the English corpus, German over German and English over German (cross-language), and how
close each runtime's vectors are to sentence-transformers' (cosine, mean and minimum). By design
this measures two internal components, the chunker and each runtime's embedding, without the
retriever.

    .venv/bin/python -m bench.quality [--runtimes torch,onnx-fp32,onnx-int8,openvino-int8] [--json OUT]

bench/results/quality.json holds the recorded results (--json bench/results/quality.json); bench.run
puts their table into RESULTS.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench.lib.datasets import xquad_paragraphs, xquad_questions
from bench.lib.options import name_list, new_parser
from bench.lib.publish import write_json
from bench.lib.report import QUALITY_SETTINGS as SETTINGS
from bench.lib.report import quality_table
from rag import load_settings, open_rag  # rag.api: model loaders stay offline


def load_xquad():
    questions = xquad_questions()
    corpora = {lang: xquad_paragraphs(lang) for lang in ("en", "de")}
    return questions, corpora


def chunk_corpus(texts: dict[str, str], settings):
    from rag.ingest.chunking import Chunker
    from rag.ingest.documents import SourceDocument
    from rag.ingest.fingerprints import sha256_text

    chunker = Chunker(settings)
    owners, chunks = [], []
    for name, text in texts.items():
        doc = SourceDocument(name, name, "und", "", sha256_text(text), chars=len(text))
        for chunk in chunker.chunk_text(doc, text):
            owners.append(name)
            chunks.append(chunk.text)
    return owners, chunks


def evaluate(runtime: str, questions, corpora, settings) -> dict:
    embedding = open_rag(settings.with_overrides(embedding_runtime=runtime)).embedding
    result = {"runtime": runtime}
    vectors = {}
    started = time.perf_counter()
    for lang, texts in corpora.items():
        owners, chunks = chunk_corpus(texts, settings)
        vectors[lang] = (owners, np.array(embedding.get_text_embedding_batch(chunks)))
    queries = {
        lang: np.array([embedding.get_query_embedding(q[f"question_{lang}"]) for q in questions])
        for lang in ("en", "de")
    }
    result["seconds"] = time.perf_counter() - started
    for q_lang, c_lang in SETTINGS:
        owners, matrix = vectors[c_lang]
        scores = queries[q_lang] @ matrix.T
        hits1 = hits5 = 0
        for row, question in zip(scores, questions):
            best: dict[str, float] = {}
            for owner, score in zip(owners, row):
                best[owner] = max(best.get(owner, -2.0), float(score))
            ranking = sorted(best, key=lambda o: -best[o])
            hits1 += ranking[0] == question["paragraph"]
            hits5 += question["paragraph"] in ranking[:5]
        n = len(questions)
        result[f"{q_lang}-{c_lang}"] = {"hit@1": hits1 / n, "hit@5": hits5 / n}
    result["_vectors"] = np.vstack([vectors["en"][1], vectors["de"][1], queries["en"], queries["de"]])
    return result


def main(argv=None) -> int:
    parser = new_parser("bench.quality", __doc__)
    parser.add_argument("--runtimes", type=name_list, default="torch,onnx-fp32,onnx-int8,openvino-int8")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    settings = load_settings(preset="tests", store_dir="/tmp/rag-bench-unused")
    questions, corpora = load_xquad()
    results = [evaluate(r, questions, corpora, settings) for r in args.runtimes]
    reference = next((r["_vectors"] for r in results if r["runtime"] == "torch"), None)
    for r in results:
        vectors = r.pop("_vectors")
        if reference is not None:
            cos = (vectors * reference).sum(axis=1)
            r["cosine_to_torch"] = {"mean": float(cos.mean()), "min": float(cos.min())}
    print(f"{len(questions)} questions, {sum(len(c) for c in corpora.values())} paragraphs")
    print(quality_table(results))
    if args.json:
        write_json(results, args.json, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
