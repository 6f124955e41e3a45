#!/usr/bin/env bash
# Set up a fresh machine: system packages (dictionary, browser for UI tests) and the Python venv.
# Idempotent; `make app` and `make test` run it when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# Debian packages: trans-de-en (the German-English dictionary used for cross-language search),
# chromium (headless browser for the web UI test), and real PDFs the format tests read
# (shared-mime-info's spec, libtasn1-doc's manual, texlive-lang-german's German guides with
# umlauts, outlines and old TeX accents). Installed only when missing.
missing=()
for package in trans-de-en chromium shared-mime-info libtasn1-doc texlive-lang-german; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" = "none" ]; then
    echo "warning: cannot install ${missing[*]} (not root, no sudo); cross-language search, browser tests and real-PDF tests need them" >&2
  else
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
      || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; }
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first and pinned: pip's find-links holds the CPU build; unpinned, pip pulls GBs of CUDA wheels.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
# Bytecode for the package itself: where PYTHONDONTWRITEBYTECODE is set, every start would
# otherwise compile rag/ again (~30 ms of each cold start).
.venv/bin/python -m compileall -q rag
echo "setup complete: $(.venv/bin/python --version), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
