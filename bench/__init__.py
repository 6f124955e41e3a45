"""Benchmarks: drivers at ``bench/<name>.py``, shared code in ``bench/lib/``, results in ``bench/results/``.

Every driver runs as a module from the repository root, e.g.

    .venv/bin/python -m bench.run --quick
    .venv/bin/python -m bench.retrieval_xquad --no-write

and starts its child processes the same way (``python -m ...`` with the repository root as the
working directory: bench.lib.children). bench/notes.md is the hand-written lab notebook that
bench.lib.report appends to bench/results/RESULTS.md.
"""
