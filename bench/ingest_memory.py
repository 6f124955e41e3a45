"""Peak memory of reading and chunking one large plain-text file, as an ingest does it.

    python -m bench.ingest_memory [--megabytes 50,200] [--checkout DIR] [--work .cache/ingest-memory]

Each size gets a generated English text file (paragraphs of random words, "\\n\\n" between them),
written once to --work. Every measurement runs in a new process importing ``rag`` from
--checkout (default: this repository), so an older commit can be measured the same way (e.g. a
``git archive`` of it unpacked in a temporary folder). The process builds the chunker and cuts a
short text first (loading the tokenizer and NLTK), reads its peak resident memory (ru_maxrss)
as the baseline, then reads the file as the folder's reading does (``read_document``) and makes
every chunk, keeping none (an ingest keeps one window of them), and reads the peak again.
Printed per size: file MB, chunks, seconds, baseline and peak MB, and the growth. No embedding:
that costs the same per window however large the file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from bench.lib.options import int_list

REPO = Path(__file__).resolve().parent.parent

_MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
from rag.config import load_settings
from rag.ingest.chunking import Chunker
from rag.ingest.documents import read_document

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

path = Path(sys.argv[1])
chunker = Chunker(load_settings(preset="tests", store_dir=Path(sys.argv[2])))
warm = path.parent / "warm.txt"
warm.write_text("Clark walks to the farm at dawn. " * 2000, encoding="utf-8")
list(chunker.chunk(read_document(warm, warm.parent, {})))
baseline = peak_mb()
started = time.perf_counter()
document = read_document(path, path.parent, {})
chunks = chunker.chunks(document) if hasattr(chunker, "chunks") else chunker.chunk(document)
count = sum(1 for _ in chunks)
print(json.dumps({"chunks": count, "seconds": time.perf_counter() - started, "baseline_mb": baseline, "peak_mb": peak_mb()}))
"""


def generated_text(path: Path, megabytes: int) -> Path:
    """An English-like text of ``megabytes`` MB (written once; the same for a given size)."""
    if path.is_file() and path.stat().st_size >= megabytes << 20:
        return path
    draw = random.Random(megabytes)
    words = ["Clark", "walks", "through", "the", "quiet", "fields", "of", "farm", "at", "dawn", "while", "Lana", "waits"]
    sentences = [" ".join(draw.choice(words) for _ in range(draw.randint(8, 20))) + "." for _ in range(400)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        written = 0
        while written < megabytes << 20:
            paragraph = " ".join(draw.sample(sentences, draw.randint(3, 12))) + "\n\n"
            out.write(paragraph)
            written += len(paragraph)
    return path


def measure(path: Path, checkout: Path, work: Path) -> dict:
    """Reading and chunking ``path`` in a new process importing rag from ``checkout``."""
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(work / "store")],
        env=environment, capture_output=True, text=True, check=True, cwd=work,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest_memory", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=int_list, default=[50, 200], help="File sizes, comma-separated.")
    parser.add_argument("--checkout", type=Path, default=REPO, help="Folder whose rag package is measured.")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "ingest-memory")
    args = parser.parse_args()
    print(f"rag from {args.checkout}; load average {os.getloadavg()[0]:.1f}")
    print("file MB  chunks  seconds  baseline MB  peak MB  growth MB")
    for megabytes in args.megabytes:
        path = generated_text(args.work / f"text-{megabytes}mb.txt", megabytes)
        result = measure(path.resolve(), args.checkout.resolve(), args.work.resolve())
        growth = result["peak_mb"] - result["baseline_mb"]
        print(
            f"{path.stat().st_size / 2**20:7.0f}  {result['chunks']:6d}  {result['seconds']:7.1f}  "
            f"{result['baseline_mb']:11.0f}  {result['peak_mb']:7.0f}  {growth:9.0f}"
        )


if __name__ == "__main__":
    main()
