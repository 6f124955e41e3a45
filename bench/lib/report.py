"""bench/results/RESULTS.md and growth.png from the results of bench.run (bench/results/results.json).

Re-render without re-measuring: ``.venv/bin/python -m bench.run --render-only``.
"""

from __future__ import annotations

from pathlib import Path

from bench.lib.paths import NOTES, RESULTS
from rag.evaluation.metrics import percentile

RUNTIME_NAMES = {
    "onnx-int8": "ONNX Runtime int8",
    "onnx-fp32": "ONNX Runtime fp32",
    "openvino-int8": "OpenVINO int8 (`openvino-int8`)",
    "torch": "torch fp32",
}

#: (question language, corpus language) of bench.quality's table.
QUALITY_SETTINGS = (("en", "en"), ("de", "de"), ("en", "de"))

TARGETS = {
    "ingest_ratio": 2.0,
    "reingest_10k_s": 2.0,
    "cold_start_s": 2.0,
    "retrieve_p50_10k_ms": 15.0,
    "ask_p50_10k_ms": 40.0,
    "p95_100k_ms": 60.0,
}


def fmt(value, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value != value:
        return "–"
    return f"{value:,.{digits}f}{unit}"


def rate(entry: dict | None, chars: int) -> float | None:
    return chars / entry["total_s"] if entry else None


def ratio(a, b):
    return a / b if a and b else None


def write(results: dict, out: Path = RESULTS) -> None:
    sizes = results["sizes"]
    lines = ["# Benchmark: naive LlamaIndex pipeline vs this project", ""]
    m = results["machine"]
    lines += [
        f"Run {results['started']} with `.venv/bin/python -m bench.run{' --quick' if results.get('quick') else ''}` "
        f"on {m.get('cpu')} ({m.get('cores')} cores; {m.get('simd')}), {m.get('ram_gb')} GB RAM, "
        f"Python {m.get('python')}, torch {m.get('torch')}, onnxruntime {m.get('onnxruntime')}"
        f"{', openvino ' + m['openvino'] if m.get('openvino') else ''}. "
        f"The machine is shared: load average {', '.join(f'{x:.1f}' for x in m.get('load_average', []))} at the "
        f"start, {', '.join(f'{x:.1f}' for x in m.get('load_average_end', []))} at the end, so absolute times "
        "vary by ±30% between runs; ratios are measured in the same run, on the same corpus.",
        "",
        "**Naive pipeline**: `SimpleDirectoryReader` → `SentenceSplitter(512, 50)` → all-MiniLM-L6-v2 through "
        "sentence-transformers (fp32 torch, batch 10, default threads, normalised: what `HuggingFaceEmbedding` "
        "does; llama-index-embeddings-huggingface is not installed, so a 30-line `BaseEmbedding` calls "
        "sentence-transformers directly, bench/naive.py) → `ChromaVectorStore` → `VectorStoreIndex`, retriever "
        "top 5. It silently drops every word piece past 256 of a chunk (see the share embedded below).",
        "**Project**: `rag.api.open_rag(...).ingest/retrieve/ask` and `python -m rag ask` with default settings "
        "(chunks of 200 word pieces with 40 overlap, every character embedded; "
        f"{RUNTIME_NAMES.get(m.get('embedding_runtime', 'onnx-int8'), m.get('embedding_runtime'))} embeddings; "
        "hybrid BM25 + dense retrieval; extractive answers).",
        "",
        "## Ratios (project ÷ naive; > 1 is better for throughput, < 1 better for times)",
        "",
        "| chunks (project / naive) | source chars | ingest chars/s: naive → project (×) | embed chars/s (×) | "
        "unchanged re-ingest s: naive → project | retrieve p50 ms: naive → project | retrieve p95 | "
        "answer p50 / p95 ms | cold start s: naive → project | peak RSS MB ingest: naive → project | query RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in sizes:
        chars = s["corpus"]["chars"]
        pi, ni = s.get("project_ingest"), s.get("naive_ingest")
        pq, nq = s.get("project_query", {}), s.get("naive_query", {})
        pr = s.get("project_reingest")
        p_rate, n_rate = rate(pi, chars), rate(ni, chars)
        p_embed = chars / pi["embed_s"] if pi and pi["embed_s"] else None
        n_embed = chars / ni["embed_s"] if ni and ni["embed_s"] else None
        fresh = pi and pi.get("chunks_embedded", 0) > 0
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{pi['chunks'] if pi else '–'} / {ni['chunks'] if ni else '–'}",
                    f"{chars:,}",
                    f"{fmt(n_rate, 0)} → {fmt(p_rate, 0) if fresh else '(not ingested in this run)'} ({fmt(ratio(p_rate, n_rate), 2) if fresh else '–'}×)",
                    f"{fmt(n_embed, 0)} → {fmt(p_embed, 0) if fresh else '–'} ({fmt(ratio(p_embed, n_embed), 2) if fresh else '–'}×)",
                    f"{fmt(ni['total_s'] if ni else None, 1)} → {fmt(pr['total_s'] if pr else None, 2)}",
                    f"{fmt(percentile(nq.get('retrieve_ms', []), 0.5))} → {fmt(percentile(pq.get('retrieve_ms', []), 0.5))}",
                    f"{fmt(percentile(nq.get('retrieve_ms', []), 0.95))} → {fmt(percentile(pq.get('retrieve_ms', []), 0.95))}",
                    f"{fmt(percentile(pq.get('ask_ms', []), 0.5))} / {fmt(percentile(pq.get('ask_ms', []), 0.95))}",
                    f"{fmt(s.get('naive_cold', {}).get('median_s'), 2)} → {fmt(s.get('project_cold', {}).get('median_s'), 2)}",
                    f"{fmt(ni['peak_rss_mb'] if ni else None, 0)} → {fmt(pi['peak_rss_mb'] if pi else None, 0)}",
                    f"{fmt(nq.get('peak_rss_mb'), 0)} → {fmt(pq.get('peak_rss_mb'), 0)}",
                ]
            )
            + " |"
        )
    lines += ["", "## Ingest phases (seconds)", "", "| size | pipeline | chunks | parse | embed | store | total | chunks embedded | notes |", "|---|---|---|---|---|---|---|---|---|"]
    for s in sizes:
        for name, key in (("naive", "naive_ingest"), ("project", "project_ingest"), ("project, unchanged", "project_reingest")):
            e = s.get(key)
            if not e:
                continue
            note = ""
            if key == "naive_ingest":
                note = f"{e['word_pieces_per_chunk']:.0f} word pieces per chunk, {100 * e['share_of_pieces_embedded']:.0f}% of them embedded"
            if key == "project_reingest":
                note = f"whole process {e['process_wall_s']:.1f} s"
            lines.append(
                f"| {s['size']} | {name} | {e['chunks']} | {fmt(e['parse_s'], 2)} | {fmt(e['embed_s'], 2)} | "
                f"{fmt(e['store_s'], 2)} | {fmt(e['total_s'], 2)} | {e.get('chunks_embedded', e['chunks'])} | {note} |"
            )
    lines += ["", "## Cold start to the first answer (new process, existing store)", ""]
    for s in sizes:
        ph = s.get("project_phases")
        if ph:
            parts = ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.2f} s" for k, v in ph.items() if k.endswith("_s") and k != "total_in_process_s")
            lines.append(
                f"- {s['size']} chunks: `python -m rag ask` {fmt(s['project_cold']['median_s'], 2)} s median "
                f"(naive {fmt(s.get('naive_cold', {}).get('median_s'), 2)} s). In-process phases: {parts}; "
                f"torch imported: {ph['torch_imported']}."
            )
        if s.get("import_times"):
            lines.append(
                "  Import times (cumulative, `-X importtime`): "
                + ", ".join(f"{name} {sec:.2f} s" for name, sec in s["import_times"])
            )
    lines += ["", "## Latency under CPU contention (a busy loop on every core)", "", "| size | pipeline | retrieve p50 / p95 ms | answer p50 / p95 ms |", "|---|---|---|---|"]
    for s in sizes:
        for name, key in (("naive", "naive_query_contended"), ("project", "project_query_contended")):
            e = s.get(key)
            if e:
                lines.append(
                    f"| {s['size']} | {name} | {fmt(percentile(e['retrieve_ms'], 0.5))} / {fmt(percentile(e['retrieve_ms'], 0.95))} | "
                    f"{fmt(percentile(e.get('ask_ms', []), 0.5))} / {fmt(percentile(e.get('ask_ms', []), 0.95))} |"
                )
    quality = results.get("quality")
    if quality:
        lines += [
            "",
            "## Retrieval quality of the embedding runtimes (XQuAD dev split, dense only)",
            "",
            "`bench/quality.py`: 632 questions, 120 paragraphs per language cut by the project's chunker; a "
            "paragraph ranks by its best chunk's cosine.",
            "",
        ]
        lines.append(quality_table(quality))
    lines += ["", "## Targets", ""] + targets(results)
    if NOTES.is_file():
        lines += ["", NOTES.read_text().strip()]
    lines += ["", "![cost by corpus size](growth.png)", ""]
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")
    plot(results, out / "growth.png")


def targets(results: dict) -> list[str]:
    rows = []
    by_size = {s["size"]: s for s in results["sizes"]}
    s10k = by_size.get(10000)
    largest = by_size[max(by_size)]

    def line(name, value, target, ok):
        mark = "met" if ok else "NOT met"
        rows.append(f"- {name}: {value} (target {target}): **{mark}**")

    if s10k and s10k.get("naive_ingest") and s10k["project_ingest"].get("chunks_embedded"):
        chars = s10k["corpus"]["chars"]
        r = rate(s10k["project_ingest"], chars) / rate(s10k["naive_ingest"], chars)
        line("ingest chars/s vs naive at 10^4", f"{r:.2f}×", "≥ 2×", r >= 2)
    if s10k:
        t = s10k["project_reingest"]["total_s"]
        line("unchanged re-ingest of 10^4", f"{t:.2f} s (whole process {s10k['project_reingest']['process_wall_s']:.1f} s)", "< 2 s", t < 2)
        c = s10k["project_cold"]["median_s"]
        line("cold start to first answer at 10^4", f"{c:.2f} s", "≤ 2.0 s", c <= 2.0)
        r50 = percentile(s10k["project_query"]["retrieve_ms"], 0.5)
        a50 = percentile(s10k["project_query"]["ask_ms"], 0.5)
        line("retrieve p50 at 10^4", f"{r50:.1f} ms", "≤ 15 ms", r50 <= 15)
        line("answer p50 at 10^4", f"{a50:.1f} ms", "≤ 40 ms", a50 <= 40)
        if s10k.get("project_query_contended"):
            c50 = percentile(s10k["project_query_contended"]["retrieve_ms"], 0.5)
            line("retrieve p50 at 10^4 under contention", f"{c50:.1f} ms (idle {r50:.1f} ms)", "stable", c50 <= 2 * r50 + 5)
    if largest is not s10k:
        chunks = largest["project_query"]["chunks"]
        r95 = percentile(largest["project_query"]["retrieve_ms"], 0.95)
        a95 = percentile(largest["project_query"]["ask_ms"], 0.95)
        line(f"retrieve / answer p95 at {chunks:,} chunks", f"{r95:.1f} / {a95:.1f} ms", "≤ 60 ms", max(r95, a95) <= 60)
        if largest.get("project_cold"):
            c = largest["project_cold"]["median_s"]
            line(f"cold start to first answer at {chunks:,} chunks", f"{c:.2f} s", "≤ 2.0 s", c <= 2.0)
    return rows


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))

    def series(key, field, fn=lambda e, s: e):
        xs, ys = [], []
        for s in sizes:
            e = s.get(key)
            if e and (key != "project_ingest" or e.get("chunks_embedded")):
                xs.append(s["corpus"]["chars"] / 480)
                ys.append(fn(e[field], s) if field else fn(e, s))
        return xs, ys

    ax = axes[0]
    for label, key in (("naive ingest", "naive_ingest"), ("project ingest", "project_ingest"), ("project unchanged re-ingest", "project_reingest")):
        xs, ys = series(key, "total_s")
        ax.plot(xs, ys, "o-", label=label)
    ax.set(xscale="log", yscale="log", xlabel="corpus size (≈ project chunks)", ylabel="seconds", title="Ingest time")
    ax.legend()
    ax = axes[1]
    for label, key, field, q in (
        ("naive retrieve p50", "naive_query", "retrieve_ms", 0.5),
        ("project retrieve p50", "project_query", "retrieve_ms", 0.5),
        ("project retrieve p95", "project_query", "retrieve_ms", 0.95),
        ("project answer p50", "project_query", "ask_ms", 0.5),
        ("project answer p95", "project_query", "ask_ms", 0.95),
    ):
        xs, ys = series(key, field, lambda v, s, q=q: percentile(v, q))
        ax.plot(xs, ys, "o-", label=label)
    ax.axhline(60, color="grey", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="corpus size (≈ project chunks)", ylabel="ms", title="Query latency")
    ax.legend(fontsize=8)
    ax = axes[2]
    for label, key in (("naive ingest", "naive_ingest"), ("project ingest", "project_ingest"), ("naive query", "naive_query"), ("project query", "project_query")):
        xs, ys = series(key, "peak_rss_mb")
        ax.plot(xs, ys, "o-", label=label)
    ax.set(xscale="log", xlabel="corpus size (≈ project chunks)", ylabel="MB", title="Peak RSS")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)



def quality_table(results: list[dict]) -> str:
    """The table of bench.quality: hit@1 / hit@5 per setting and runtime, and closeness to torch's vectors."""
    lines = [
        "| runtime | EN→EN hit@1 | hit@5 | DE→DE hit@1 | hit@5 | EN→DE hit@1 | hit@5 | cosine to torch (mean / min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = [r["runtime"]]
        for q, c in QUALITY_SETTINGS:
            cells += [f"{r[f'{q}-{c}']['hit@1']:.3f}", f"{r[f'{q}-{c}']['hit@5']:.3f}"]
        cos = r.get("cosine_to_torch")
        cells.append(f"{cos['mean']:.4f} / {cos['min']:.4f}" if cos else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
