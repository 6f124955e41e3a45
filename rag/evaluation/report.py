"""Thresholds (``--min METRIC=VALUE``), result tables and Markdown/PNG reports of an evaluation run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evaluation.metrics import QuestionResult
from rag.evaluation.runner import EvalRun

TABLE_METRICS = [
    "questions", "hit@1", "hit@3", "hit@5", "mrr@10", "citation_recall", "citation_precision",
    "keyword_correct", "answer_precision", "token_f1", "refused_unanswerable", "wrongly_refused",
    "refused_with_evidence_top3", "latency_p50_ms", "latency_p95_ms",
]
#: Metrics where lower is better: their thresholds are maxima.
LOWER_IS_BETTER = {"wrongly_refused", "refused_with_evidence_top3", "latency_p50_ms", "latency_p95_ms"}


def parse_thresholds(items: list[str]) -> dict[str, float]:
    thresholds = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if name not in TABLE_METRICS or not value:
            raise ConfigError(f"--min {item!r}: expected METRIC=VALUE with METRIC one of {', '.join(TABLE_METRICS)}.")
        try:
            thresholds[name] = float(value)
        except ValueError as error:
            raise ConfigError(f"--min {item!r}: {value!r} is not a number.") from error
    return thresholds


def missed_thresholds(metrics: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Thresholds the overall metrics miss (maxima for LOWER_IS_BETTER metrics, minima for the rest)."""
    missed = []
    for name, limit in thresholds.items():
        value = metrics.get(name)
        is_maximum = name in LOWER_IS_BETTER
        if value is None or (value > limit if is_maximum else value < limit):
            missed.append(f"{name} = {_fmt(value)} ({'max' if is_maximum else 'min'} {limit:g})")
    return missed


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):  # shares (0..1) with three decimals, milliseconds with one
        return f"{value:.1f}" if value > 1 else f"{value:.3f}"
    return str(value)


def format_table(run: EvalRun) -> str:
    metrics = run.metrics
    categories = list(metrics)
    header = "| metric | " + " | ".join(categories) + " |"
    rule = "|---|" + "---|" * len(categories)
    rows = [
        f"| {name} | " + " | ".join(_fmt(metrics[c].get(name)) for c in categories) + " |"
        for name in TABLE_METRICS
    ]
    return "\n".join([header, rule, *rows])


def write_report(run: EvalRun, path: Path) -> list[Path]:
    """Markdown report, JSON results and a PNG plot of per-category scores; returns the paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    json_path = path.with_suffix(".json")
    plot_path = path.with_name(path.stem + "-scores.png")
    json_path.write_text(json.dumps(run.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    plot_scores(run, plot_path)
    failures = [r for r in run.results if r.answerable and not r.hit_at(3)]
    wrong_refusals = [r for r in run.results if r.answerable and r.refused]
    missed_refusals = [r for r in run.results if not r.answerable and not r.refused]
    lines = [
        f"# Evaluation: {run.fixtures} ({run.mode} mode)",
        "",
        f"{len(run.results)} questions. Metrics per category (a cell is empty where the category has no such questions).",
        "",
        format_table(run),
        "",
        f"![Scores per category]({plot_path.name})",
        "",
        _question_list("Answerable questions without a gold passage in the top 3", failures),
        _question_list("Answerable questions that were refused", wrong_refusals),
        _question_list("Unanswerable questions that were answered", missed_refusals),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [path, json_path, plot_path]


def _question_list(title: str, results: list[QuestionResult]) -> str:
    if not results:
        return f"## {title}\n\nNone.\n"
    items = "\n".join(f"- `{r.id}` {r.question} → {r.answer[:160]!r}" for r in results)
    return f"## {title}\n\n{items}\n"


def plot_scores(run: EvalRun, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = run.metrics
    names = ["hit@3", "citation_recall", "keyword_correct", "refused_unanswerable"]
    categories = list(metrics)
    figure, axes = plt.subplots(figsize=(max(6, 1.6 * len(categories)), 4))
    width = 0.8 / len(names)
    for offset, name in enumerate(names):
        values = [metrics[c].get(name) or 0.0 for c in categories]
        positions = [i + offset * width for i in range(len(categories))]
        axes.bar(positions, values, width=width, label=name)
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(categories))], categories, rotation=20)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("share of questions")
    axes.set_title(f"{run.fixtures} ({run.mode})")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
