"""Build the benchmark corpora ahead of a run (bench.lib.corpora; bench.run builds them too, on demand).

    .venv/bin/python -m bench.build_corpora [--root /tmp/rag-bench] [--sizes 100,1000,10000,100000]

Writes ``<root>/corpus-<size>/`` once per size (later calls reuse it) and prints each corpus's
folder, document count and characters.
"""

from __future__ import annotations

from bench.lib import corpora
from bench.lib.options import add_root_option, int_list, new_parser


def main(argv: list[str] | None = None) -> int:
    parser = new_parser("bench.build_corpora", __doc__)
    add_root_option(parser)
    parser.add_argument("--sizes", type=int_list, default="100,1000,10000,100000", help="about this many chunks each")
    args = parser.parse_args(argv)
    for size in args.sizes:
        folder = corpora.build_corpus(args.root, size)
        print(size, folder, corpora.describe(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
