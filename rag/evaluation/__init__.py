"""Question-answer fixtures, metrics, reports, and the `python -m rag eval` command."""
