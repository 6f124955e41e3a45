"""The benchmarks' layout: drivers run as modules from the repository root, sharing bench/lib."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.lib.datasets import holds_gold_quote
from bench.lib.options import int_list
from support.environment import child_environment
from support.paths import REPO

BENCH = REPO / "bench"
DRIVERS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__")


def test_every_benchmark_layer_is_where_the_layout_says():
    assert {"run", "retrieval_xquad", "gate", "quality", "naive", "project"} <= set(DRIVERS)
    assert (BENCH / "lib" / "corpora.py").is_file() and (BENCH / "lib" / "report.py").is_file()
    assert (BENCH / "results" / "RESULTS.md").is_file() and (BENCH / "notes.md").is_file()
    assert [p.name for p in BENCH.glob("*.md")] == ["notes.md"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_every_driver_explains_itself_when_run_as_a_module_from_the_repository_root(driver):
    completed = subprocess.run(
        [sys.executable, "-m", f"bench.{driver}", "--help"],
        cwd=REPO,
        env=child_environment(),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(f"usage: python -m bench.{driver}")


def test_no_benchmark_file_changes_the_import_path_or_keeps_its_own_percentile():
    for path in BENCH.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text, path
        assert "def percentile" not in text and "statistics.quantiles" not in text, path


@given(st.lists(st.integers(min_value=0, max_value=10**9), max_size=8))
def test_a_comma_separated_size_list_reads_back_as_the_numbers_written(numbers):
    assert int_list(",".join(map(str, numbers))) == numbers


def test_a_size_list_with_a_word_in_it_is_refused_with_the_text_quoted():
    with pytest.raises(argparse.ArgumentTypeError, match="'100,many'"):
        int_list("100,many")


@given(
    words=st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=6), min_size=1, max_size=6),
    gaps=st.lists(st.sampled_from([" ", "  ", "\n", "\t ", " \n "]), min_size=6, max_size=6),
)
def test_a_gold_quote_is_found_in_a_passage_whatever_its_whitespace(words, gaps):
    quote = " ".join(words)
    passage = "Before." + gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:] + [" "] * len(words))) + "after."
    fixture = {"gold_quotes": ["nothing like it", quote]}
    assert holds_gold_quote(fixture, passage)
    assert not holds_gold_quote({"gold_quotes": [quote + " zzz"]}, passage)


@given(st.text(alphabet="abcdefgh ", min_size=1, max_size=40).filter(str.strip))
def test_chrf_scores_a_text_against_itself_100_and_against_text_it_shares_no_letter_with_0(text):
    from bench.gloss_quality import chrf

    assert chrf(text, text) == pytest.approx(100)
    assert chrf(text, "xyz") == 0
