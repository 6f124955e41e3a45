# The two commands a fresh machine needs:
#   make app    set up, ingest the seeds if needed, and serve the chat app on http://127.0.0.1:7860
#   make test   set up and run the whole test suite plus the evaluation gates on the seed fixtures
#               and the reader questions (thresholds: the last measured values less about two questions;
#               latency is a loose ceiling: answers embed their candidate sentences with the meaning model;
#               refusals of unanswerable questions: the last measured less one question, 3 of 8 and
#               3 of 12 since glosses take the common sense of a word, bench/results/answers/RESULTS.md)
PY := .venv/bin/python
SETUP_STAMP := .venv/.setup-done
EVAL_MIN := --min hit@3=0.78 --min hit@5=0.84 --min citation_recall=0.64 --min keyword_correct=0.55 --min refused_unanswerable=0.375 --min latency_p95_ms=1500
READER_MIN := --min hit@3=0.80 --min hit@5=0.87 --min citation_recall=0.66 --min keyword_correct=0.40 --min refused_unanswerable=0.25 --min latency_p95_ms=1500

.PHONY: app test setup eval bench

$(SETUP_STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(SETUP_STAMP)

setup: $(SETUP_STAMP)

app: $(SETUP_STAMP)
	$(PY) app.py

test: $(SETUP_STAMP)
	$(PY) -m pytest -q
	$(PY) -m rag eval fixtures/seeds.jsonl --store .cache/eval-store --no-progress \
		--report test-output/eval/seeds.md $(EVAL_MIN)
	$(PY) -m rag eval fixtures/reader_questions.jsonl --store .cache/eval-store --no-progress \
		--report test-output/eval/reader_questions.md $(READER_MIN)

eval: $(SETUP_STAMP)
	$(PY) -m rag eval fixtures/seeds.jsonl --store .cache/eval-store --report test-output/eval/seeds.md

bench: $(SETUP_STAMP)
	$(PY) -m bench.run
