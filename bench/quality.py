"""Dense retrieval quality on the XQuAD split, per embedding runtime (torch, onnx-fp32, onnx-int8, openvino-int8).

Each paragraph of ../shared/data/xquad-dev (read in place) is cut by the project's chunker; a
question's paragraph ranks by its best chunk's cosine. Reports hit@1 / hit@5 for English questions
over the English corpus, German over German and English over German (cross-language), and how
close each runtime's vectors are to sentence-transformers' (cosine, mean and minimum).

    .venv/bin/python bench/quality.py [--runtimes torch,onnx-fp32,onnx-int8,openvino-int8] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
XQUAD = REPO.parent / "shared" / "data" / "xquad-dev"
SETTINGS = (("en", "en"), ("de", "de"), ("en", "de"))


def load_xquad(folder: Path = XQUAD):
    questions = [json.loads(line) for line in (folder / "questions.jsonl").read_text().splitlines() if line]
    corpora = {
        lang: {p.stem: p.read_text(encoding="utf-8") for p in sorted((folder / f"corpus_{lang}").glob("*.txt"))}
        for lang in ("en", "de")
    }
    return questions, corpora


def chunk_corpus(texts: dict[str, str], settings):
    from rag.ingest.chunking import Chunker
    from rag.ingest.documents import SourceDocument
    from rag.ingest.fingerprints import sha256_text

    chunker = Chunker(settings)
    owners, chunks = [], []
    for name, text in texts.items():
        doc = SourceDocument(name, text, name, "und", "", sha256_text(text))
        for chunk in chunker.chunk(doc):
            owners.append(name)
            chunks.append(chunk.text)
    return owners, chunks


def evaluate(runtime: str, questions, corpora, settings) -> dict:
    from rag.embedding.factory import build_embedding

    embedding = build_embedding(settings.with_overrides(embedding_runtime=runtime))
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtimes", default="torch,onnx-fp32,onnx-int8,openvino-int8")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from rag.runtime.offline import prepare_offline_environment

    prepare_offline_environment()
    from rag.config import load_settings

    settings = load_settings(preset="tests", store_dir="/tmp/rag-bench-unused")
    questions, corpora = load_xquad()
    results = [evaluate(r, questions, corpora, settings) for r in args.runtimes.split(",")]
    reference = next((r["_vectors"] for r in results if r["runtime"] == "torch"), None)
    for r in results:
        vectors = r.pop("_vectors")
        if reference is not None:
            cos = (vectors * reference).sum(axis=1)
            r["cosine_to_torch"] = {"mean": float(cos.mean()), "min": float(cos.min())}
    print(f"{len(questions)} questions, {sum(len(c) for c in corpora.values())} paragraphs")
    print(markdown_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def markdown_table(results: list[dict]) -> str:
    lines = [
        "| runtime | EN→EN hit@1 | hit@5 | DE→DE hit@1 | hit@5 | EN→DE hit@1 | hit@5 | cosine to torch (mean / min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = [r["runtime"]]
        for q, c in SETTINGS:
            cells += [f"{r[f'{q}-{c}']['hit@1']:.3f}", f"{r[f'{q}-{c}']['hit@5']:.3f}"]
        cos = r.get("cosine_to_torch")
        cells.append(f"{cos['mean']:.4f} / {cos['min']:.4f}" if cos else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
