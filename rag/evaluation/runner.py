"""Running fixtures through the public API (``Rag.retrieve`` and ``Rag.ask``), exactly as tools use it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.evaluation.fixtures import Fixture
from rag.evaluation.metrics import (
    RETRIEVAL_DEPTH,
    QuestionResult,
    aggregate_by_category,
    failed_result,
    score_question,
)


@dataclass
class EvalRun:
    fixtures: str
    mode: str
    results: list[QuestionResult] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return aggregate_by_category(self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "fixtures": self.fixtures,
            "mode": self.mode,
            "metrics": self.metrics,
            "questions": [asdict(r) for r in self.results],
        }


def evaluate(rag, fixtures: list[Fixture], mode: str | None = None, progress: bool = True, name: str = "") -> EvalRun:
    """Run every fixture through ``rag`` (a rag.api.Rag over an ingested corpus)."""
    from rag.errors import RagError

    mode = mode or rag.settings.answer_mode
    languages = {d["source"]: d["language"] for d in rag.info().documents}
    run = EvalRun(fixtures=name, mode=mode)
    iterator = fixtures
    bar = None
    if progress:
        from tqdm import tqdm

        bar = iterator = tqdm(fixtures, desc="Evaluating", unit="question", file=sys.stderr)
    for fixture in iterator:
        try:
            passages = rag.retrieve(fixture.question, top_k=RETRIEVAL_DEPTH)
            started = time.perf_counter()
            answer = rag.ask(fixture.question, mode=mode)
            latency = (time.perf_counter() - started) * 1000
        except RagError as error:
            run.results.append(failed_result(fixture, error))
            continue
        run.results.append(score_question(fixture, passages, answer, latency, languages))
    if bar is not None:
        bar.close()
    return run
